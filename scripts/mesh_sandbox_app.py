"""Launch NHS England's mesh-sandbox with PCRM's mailboxes and GP Links workflows.

The sandbox reads mailboxes only from files inside its package; we point its data folder at one we
write from registrations.mesh_directory before the app is imported. Run with:
  uvicorn mesh_sandbox_app:app --app-dir scripts --host 127.0.0.1 --port 8700 --workers 1
Environment: MESH_SANDBOX_DATA_DIR (where to write the files), MESH_MAILBOX, MESH_PCSE_MAILBOX,
MESH_PASSWORD, and the sandbox's own AUTH_MODE / SHARED_KEY / STORE_MODE.
"""

import json
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

__all__ = ["app"]
