"""Feed interchange files through the MESH pipeline synchronously: replays and support work.

Each file is stored as if MESH had delivered it (a fresh message id), then parsed, processed and
relayed by the very functions the workers use, so a replay can never behave differently.
"""

import uuid
from pathlib import Path

from django.utils import timezone

from .. import mesh
from ..models import Interchange, OutboxItem, Transaction
from . import inbound, outbox, processing


def ingest_file(path: Path) -> list[dict]:
    """Store, parse, process and number the replies for one file. Sending is left to `send_replies`."""
    body = path.read_bytes()
    row, _ = inbound.store_inbound(
        mesh_message_id=f"replay-{uuid.uuid4().hex}",
        body=body,
        workflow=mesh.WORKFLOW_REG,
        message_type="DATA",
        sender="",
        recipient="",
        local_id=path.name,
        replayed_by="gplinks ingest",
    )
    result = inbound.ingest_interchange(row.pk)
    for tx_id in result.new_transaction_ids:
        processing.process_transaction(tx_id)
    outbox.build_pending(now=timezone.now())
    return report(Interchange.objects.get(pk=row.pk))


def report(ic: Interchange) -> list[dict]:
    """One JSON-ready object per transaction, saying what became of it."""
    head = {"sender": ic.sender, "recipient": ic.recipient, "sis": ic.sis}
    transactions = (
        Transaction.objects.filter(message__interchange=ic)
        .select_related("message")
        .prefetch_related("cases", "outbound")
        .order_by("message__sms", "id")
    )
    rows = [
        {
            "interchange": head,
            "sms": tx.message.sms,
            "tn": tx.tn,
            "type": tx.type,
            "status": tx.status,
            "exception_kind": next((c.kind for c in tx.cases.all()), None),
            "outbound": [_outbound(item) for item in tx.outbound.all()],
        }
        for tx in transactions
    ]
    if not rows:
        # Nothing to list per transaction (unreadable, a RECEP, a report): say what happened to the whole.
        rows.append(
            {
                "interchange": head,
                "sms": None,
                "tn": None,
                "type": None,
                "status": ic.status,
                "exception_kind": next((c.kind for c in ic.cases.all()), None),
                "outbound": [],
            }
        )
    return rows


def _outbound(item: OutboxItem) -> dict:
    recipient = item.link.practice.link_code if item.link_id else item.mesh_recipient
    return {"recipient": recipient, "type": item.tx_type or item.kind, "tn": item.tn}


def send_replies() -> list[int]:
    """Send what the replay built, as the relay would. Safe to skip: the relay sends it later."""
    return outbox.send_built()
