"""Launch NHS England's mesh-sandbox with PCRM's mailboxes and GP Links workflows.

The sandbox reads mailboxes only from files inside its package; we point its data folder at one we
write from registrations.mesh_directory before the app is imported. Run with:
  uvicorn mesh_sandbox_app:app --app-dir scripts --host 127.0.0.1 --port 8700 --workers 1
Environment: MESH_SANDBOX_DATA_DIR (where to write the files), MESH_MAILBOX, MESH_PCSE_MAILBOX,
MESH_PASSWORD, and the sandbox's own AUTH_MODE / SHARED_KEY / STORE_MODE.
"""

import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registrations.mesh_directory import all_mailboxes


def write_directory(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    password = os.environ.get("MESH_PASSWORD", "password")
    boxes = all_mailboxes(os.environ.get("MESH_MAILBOX", "PCRMHUB01"), os.environ.get("MESH_PCSE_MAILBOX", "PCSEPAY01"))
    with (data_dir / "mailboxes.jsonl").open("w") as f:
        for box in boxes:
            f.write(
                json.dumps(
                    {
                        "mailbox_id": box,
                        "mailbox_name": box,
                        "billing_entity": "England",
                        "ods_code": box,
                        "org_code": box,
                        "password": password,
                    }
                )
                + "\n"
            )
    with (data_dir / "workflows.jsonl").open("w") as f:
        for workflow in ("NHAIS_REG", "NHAIS_RECEP", "PCRM_CAPITATION"):
            f.write(json.dumps({"workflow_id": workflow, "senders": boxes, "receivers": boxes}) + "\n")


_data_dir = Path(os.environ.get("MESH_SANDBOX_DATA_DIR", Path(__file__).resolve().parent.parent / ".run" / "mesh"))
write_directory(_data_dir)

from mesh_sandbox.store import canned_store  # noqa: E402

_original_initialise = canned_store.CannedStore.initialise


def _initialise(self):
    self._canned_data_dir = str(_data_dir)
    _original_initialise(self)


canned_store.CannedStore.initialise = _initialise

from mesh_sandbox.api import app  # noqa: E402


def _for_benchmarks() -> None:
    """MESH_SANDBOX_BENCH=1: a sandbox that does not slow down as its history grows, as MESH does not.

    The in-memory store keeps every message in its recipient's inbox list after it is acknowledged and
    recounts that list on every request (to report an approximate inbox count), so each request costs
    more the more messages a mailbox has ever received: in a soak the sandbox's CPU doubled in three
    minutes at a steady rate, and that, not PCRM, became the trend. Here an acknowledged message leaves
    the inbox list (it stays in the store, for tracking), and the count is kept as messages arrive and
    are acknowledged. Its per-request logging is off too, since it shares the machine being measured.
    """
    from mesh_sandbox.common.messaging import Messaging
    from mesh_sandbox.store.memory_store import MemoryStore

    logging.getLogger("mesh-sandbox").setLevel("WARNING")
    acknowledge = Messaging.acknowledge_message
    add_to_inbox = MemoryStore.add_to_inbox

    async def acknowledge_and_leave_the_inbox(self, message, background_tasks):
        message = await acknowledge(self, message=message, background_tasks=background_tasks)
        inbox = self.store.inboxes.get(message.recipient.mailbox_id, [])
        # The oldest waiting messages are acknowledged first, so this finds it near the front.
        for position, waiting in enumerate(inbox):
            if waiting is message:
                del inbox[position]
                mailbox = self.store.mailboxes[message.recipient.mailbox_id]
                mailbox.inbox_count = max(0, mailbox.inbox_count - 1)
                break
        return message

    async def counted_add_to_inbox(self, message):
        await add_to_inbox(self, message)
        self.mailboxes[message.recipient.mailbox_id].inbox_count += 1

    async def get_mailbox(self, mailbox_id, accessed=False):
        return self.mailboxes.get(mailbox_id)

    Messaging.acknowledge_message = acknowledge_and_leave_the_inbox
    MemoryStore.add_to_inbox = counted_add_to_inbox
    MemoryStore.get_mailbox = get_mailbox


if os.environ.get("MESH_SANDBOX_BENCH") == "1":
    _for_benchmarks()

__all__ = ["app"]
