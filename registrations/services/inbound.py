"""The inbound path: MESH inbox -> raw Interchange row -> acknowledge -> parse -> transactions.

Store before acknowledge: a message is acknowledged to MESH only after its raw bytes committed, so a
crash anywhere leaves it in the inbox to be fetched again, and the unique MESH id makes that harmless.
"""

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.locks import advisory_lock

from .. import mesh
from ..gplinks import CodecError, parse_interchange, to_json
from ..models import (
    Direction,
    HealthAuthority,
    Interchange,
    InterchangeStatus,
    Link,
    Message,
    OutboxItem,
    OutboxKind,
    Practice,
    Transaction,
    TxStatus,
)
from ..ports import CaseKind, CaseRequest, open_case
from .recep import apply_recep

log = logging.getLogger(__name__)

LIST_PAGE = 500
STORE_BATCH = 50


@dataclass
class PollResult:
    stored: list[int] = field(default_factory=list)
    acknowledged: int = 0
    skipped_lock: bool = False


def store_inbound(
    *,
    mesh_message_id: str,
    body: bytes,
    workflow: str,
    message_type: str,
    sender: str,
    recipient: str,
    local_id: str = "",
    linked_message_id: str = "",
) -> tuple[Interchange, bool]:
    """Durably record what MESH gave us, exactly as received. Returns (row, created)."""
    with transaction.atomic():
        row, created = Interchange.objects.get_or_create(
            mesh_message_id=mesh_message_id,
            defaults={
                "direction": Direction.INBOUND,
                "workflow": workflow or "",
                "raw": body,
                "sha256": hashlib.sha256(body).hexdigest(),
                "mesh_sender": sender or "",
                "mesh_recipient": recipient or "",
                "local_id": local_id or "",
                "status": InterchangeStatus.REPORT if message_type == "REPORT" else InterchangeStatus.RECEIVED,
                "error": f"MESH report on message {linked_message_id}" if message_type == "REPORT" else "",
                "received_at": timezone.now(),
            },
        )
        if created and message_type == "REPORT":
            _open_report_case(row, linked_message_id)
    return row, created


def _open_report_case(row: Interchange, linked_message_id: str) -> None:
    reported = Interchange.objects.filter(mesh_message_id=linked_message_id).first() if linked_message_id else None
    open_case(
        CaseRequest(
            kind=CaseKind.MESH_REPORT,
            summary=f"MESH could not deliver message {linked_message_id or '(unknown)'}",
            interchange_id=(reported or row).pk,
            evidence={
                "report_interchange": row.pk,
                "linked_message_id": linked_message_id,
                "reported_interchange": reported.pk if reported else None,
            },
            rule_trace=[
                {
                    "check": "MESH message type",
                    "result": "REPORT",
                    "why": "MESH sends a REPORT when a message we sent was not delivered or failed.",
                }
            ],
        )
    )


def poll_inbox(
    *, on_stored: Callable[[int], None] | None = None, before_ack: Callable[[str], None] | None = None
) -> PollResult:
    """Drain PCRM's MESH inbox once. `on_stored` runs after commit for each new interchange.

    Messages are stored in small batches, one commit each, then acknowledged: the durability rule
    holds and the inbox drains at close to the speed of a bare download loop. `before_ack` exists
    so the crash-between-store-and-acknowledge case can be tested for real.
    """
    result = PollResult()
    with advisory_lock(f"mesh-poll:{mesh.WORKFLOW_REG}") as got:
        if not got:
            result.skipped_lock = True
            return result
        with mesh.mesh_client() as client:
            for workflow in (mesh.WORKFLOW_REG, mesh.WORKFLOW_RECEP):
                while True:
                    ids = client.list_messages(max_results=LIST_PAGE, workflow_filter=workflow)
                    # One query per page tells which messages a crashed run already stored.
                    stored = set(
                        Interchange.objects.filter(mesh_message_id__in=ids).values_list("mesh_message_id", flat=True)
                    )
                    for start in range(0, len(ids), STORE_BATCH):
                        chunk = ids[start : start + STORE_BATCH]
                        fetched = [_download(client, mid) for mid in chunk if mid not in stored]
                        for row in _store_batch(fetched):
                            result.stored.append(row.pk)
                            if on_stored and row.status == InterchangeStatus.RECEIVED:
                                on_stored(row.pk)
                        for message_id in chunk:
                            if before_ack:
                                before_ack(message_id)
                            client.acknowledge_message(message_id)
                            result.acknowledged += 1
                    if len(ids) < LIST_PAGE:
                        break
    return result


@dataclass(frozen=True)
class Downloaded:
    mesh_message_id: str
    body: bytes
    workflow: str
    message_type: str
    sender: str
    recipient: str
    local_id: str
    linked_message_id: str


def _download(client, message_id: str) -> Downloaded:
    msg = client.retrieve_message(message_id)
    try:
        body = msg.read()
        headers = {k.lower(): v for k, v in dict(msg.mex_headers()).items()}
    finally:
        msg.close()
    return Downloaded(
        mesh_message_id=message_id,
        body=body,
        workflow=msg.workflow_id or "",
        message_type=(msg.message_type or "DATA").upper(),
        sender=msg.sender or "",
        recipient=msg.recipient or "",
        local_id=msg.local_id or "",
        linked_message_id=headers.get("linkedmsgid") or headers.get("mex-linkedmsgid") or "",
    )


def _store_batch(fetched: list[Downloaded]) -> list[Interchange]:
    """Store downloaded messages in one commit; returns the rows created."""
    if not fetched:
        return []
    reports = [d for d in fetched if d.message_type == "REPORT"]
    data = [d for d in fetched if d.message_type != "REPORT"]
    created: list[Interchange] = []
    try:
        with transaction.atomic():
            now = timezone.now()
            created = Interchange.objects.bulk_create(
                [
                    Interchange(
                        direction=Direction.INBOUND,
                        workflow=d.workflow,
                        raw=d.body,
                        sha256=hashlib.sha256(d.body).hexdigest(),
                        mesh_message_id=d.mesh_message_id,
                        mesh_sender=d.sender,
                        mesh_recipient=d.recipient,
                        local_id=d.local_id,
                        status=InterchangeStatus.RECEIVED,
                        received_at=now,
                    )
                    for d in data
                ]
            )
    except IntegrityError:
        # Someone stored one of these meanwhile (a replay through `gplinks ingest`): go one by one.
        created = [row for d in data for row, was_new in [_store_one(d)] if was_new]
    for d in reports:
        row, was_new = _store_one(d)
        if was_new:
            created.append(row)
    return created


def _store_one(d: Downloaded) -> tuple[Interchange, bool]:
    return store_inbound(
        mesh_message_id=d.mesh_message_id,
        body=d.body,
        workflow=d.workflow,
        message_type=d.message_type,
        sender=d.sender,
        recipient=d.recipient,
        local_id=d.local_id,
        linked_message_id=d.linked_message_id,
    )


# --- parsing an interchange into transactions -------------------------------------------------


@dataclass
class IngestResult:
    interchange_id: int
    new_transaction_ids: list[int] = field(default_factory=list)
    status: str = ""
    suspected_gap: dict | None = None


def ingest_interchange(interchange_id: int) -> IngestResult:
    """Parse a stored interchange into messages and transactions. A no-op if already done."""
    with transaction.atomic():
        ic = Interchange.objects.select_for_update().get(pk=interchange_id)
        result = IngestResult(interchange_id)
        if ic.status != InterchangeStatus.RECEIVED:
            result.status = ic.status
            return result
        try:
            parsed = parse_interchange(bytes(ic.raw))
        except CodecError as exc:
            _mark_invalid(ic, str(exc))
            result.status = ic.status
            return result
        ic.sender, ic.recipient, ic.sis = parsed.sender, parsed.recipient, parsed.sis
        ic.prepared_at = parsed.prepared_at
        ic.warnings = list(parsed.warnings)
        if parsed.recep is not None:
            apply_recep(ic, parsed)
            ic.status = InterchangeStatus.RECEP
            ic.save()
            result.status = ic.status
            return result
        _record_fhsreg(ic, parsed, result)
        ic.save()
        result.status = ic.status
        return result


def _mark_invalid(ic: Interchange, error: str) -> None:
    ic.status = InterchangeStatus.INVALID
    ic.error = error
    ic.save(update_fields=["status", "error"])
    open_case(
        CaseRequest(
            kind=CaseKind.INVALID_INTERCHANGE,
            summary=f"Interchange could not be read: {error}"[:200],
            interchange_id=ic.pk,
            evidence={"codec_error": error, "mesh_message_id": ic.mesh_message_id, "mesh_sender": ic.mesh_sender},
            rule_trace=[{"check": "GP Links codec", "result": "failed", "why": error}],
        )
    )


def _record_fhsreg(ic: Interchange, parsed, result: IngestResult) -> None:
    earlier = (
        Interchange.objects.filter(
            direction=Direction.INBOUND,
            sender=parsed.sender,
            recipient=parsed.recipient,
            sis=parsed.sis,
            sha256=ic.sha256,
        )
        .exclude(pk=ic.pk)
        .exclude(status__in=[InterchangeStatus.RECEIVED, InterchangeStatus.DUPLICATE])
        .first()
    )
    practice = Practice.objects.select_related("ha").filter(link_code=parsed.sender).first()
    ha = HealthAuthority.objects.filter(link_code=parsed.recipient).first()
    link = Link.objects.select_for_update().filter(practice=practice, ha=ha).first() if practice and ha else None
    ic.link = link
    data = to_json(parsed)
    forwarding = ha is not None and not ha.is_served_by_pcrm(timezone.localdate())
    if earlier:
        ic.status = InterchangeStatus.DUPLICATE
        ic.duplicate_of = earlier
    elif forwarding:
        ic.status = InterchangeStatus.FORWARDED
        OutboxItem.objects.create(
            kind=OutboxKind.FORWARD, mesh_recipient=ha.nhais_mailbox, ha_cipher=ha.cipher, in_reply_to=ic
        )
    else:
        ic.status = InterchangeStatus.PARSED
    ic.save()

    for msg_data, msg in zip(data["messages"], parsed.messages, strict=True):
        message = Message.objects.create(interchange=ic, sms=msg.sms, type=msg.type, ha_cipher=msg.ha_cipher)
        for tx_data in msg_data["transactions"]:
            tx = _record_transaction(ic, message, msg_data, tx_data, forwarding=forwarding)
            if tx.status == TxStatus.PARSED:
                result.new_transaction_ids.append(tx.pk)

    if ic.status == InterchangeStatus.DUPLICATE:
        return  # the earlier copy was already receipted; one RECEP per interchange
    if link is not None and not forwarding:
        _check_sequence(ic, link, parsed, result)
        OutboxItem.objects.create(
            kind=OutboxKind.RECEP, link=link, mesh_recipient=practice.mesh_mailbox, ha_cipher=ha.cipher, in_reply_to=ic
        )
    elif link is None and not forwarding:
        open_case(
            CaseRequest(
                kind=CaseKind.UNKNOWN_GP,
                summary=f"Interchange from unknown trading partner {parsed.sender} to {parsed.recipient}",
                interchange_id=ic.pk,
                ha_cipher=ha.cipher if ha else "",
                evidence={"sender": parsed.sender, "recipient": parsed.recipient, "sis": parsed.sis},
                rule_trace=[
                    {
                        "check": "trading-partner link",
                        "result": "not found",
                        "why": "No link between this GP link code and HA link code; the RECEP is held until "
                        "reference data is fixed and the interchange reprocessed.",
                    }
                ],
            )
        )


def _record_transaction(ic, message, msg_data, tx_data, *, forwarding: bool) -> Transaction:
    fields = {
        "message": message,
        "sender": ic.sender,
        "recipient": ic.recipient,
        "sis": ic.sis,
        "sms": msg_data["sms"],
        "tn": tx_data["tn"],
        "type": tx_data["type"],
        "data": tx_data,
        "nhs_number": tx_data.get("nhs_number") or "",
        "gp_code": tx_data.get("gp_code") or "",
        "status": TxStatus.FORWARDED if forwarding else TxStatus.PARSED,
    }
    if ic.status == InterchangeStatus.DUPLICATE:
        return _record_duplicate(fields)
    try:
        with transaction.atomic():
            return Transaction.objects.create(**fields)
    except IntegrityError:
        return _record_duplicate(fields)


def _record_duplicate(fields: dict) -> Transaction:
    original = Transaction.objects.filter(
        sender=fields["sender"],
        recipient=fields["recipient"],
        sis=fields["sis"],
        sms=fields["sms"],
        tn=fields["tn"],
        is_duplicate=False,
    ).first()
    return Transaction.objects.create(
        **{**fields, "status": TxStatus.DUPLICATE, "is_duplicate": True, "duplicate_of": original}
    )


def _check_sequence(ic: Interchange, link: Link, parsed, result: IngestResult) -> None:
    """Numbers from a partner go up by one. A jump may be a lost interchange, or one still on its way:
    MESH does not promise order, so the missing numbers are only reported if still missing later."""
    missing_sis = list(range(link.last_sis_received + 1, parsed.sis)) if link.last_sis_received else []
    first_sms = min((m.sms for m in parsed.messages), default=0)
    missing_sms = list(range(link.last_sms_received + 1, first_sms)) if link.last_sms_received else []
    if missing_sis or missing_sms:
        result.suspected_gap = {
            "link_id": link.pk,
            "interchange_id": ic.pk,
            "sis": missing_sis[:50],
            "sms": missing_sms[:50],
        }
    link.last_sis_received = max(link.last_sis_received, parsed.sis)
    link.last_sms_received = max([link.last_sms_received, *(m.sms for m in parsed.messages)])
    link.save(update_fields=["last_sis_received", "last_sms_received", "updated_at"])


@transaction.atomic
def confirm_sequence_gap(*, link_id: int, interchange_id: int, sis: list[int], sms: list[int]) -> bool:
    """Open a sequence-gap case for numbers that still have not arrived. Returns whether it did."""
    link = Link.objects.select_related("practice", "ha").get(pk=link_id)
    received = Interchange.objects.filter(
        direction=Direction.INBOUND, sender=link.practice.link_code, recipient=link.ha.link_code
    )
    still_sis = sorted(set(sis) - set(received.filter(sis__in=sis).values_list("sis", flat=True)))
    still_sms = sorted(
        set(sms) - set(Message.objects.filter(interchange__in=received, sms__in=sms).values_list("sms", flat=True))
    )
    if not still_sis and not still_sms:
        return False
    gaps = [
        f"SIS {', '.join(map(str, still_sis))}" if still_sis else "",
        f"SMS {', '.join(map(str, still_sms))}" if still_sms else "",
    ]
    described = " and ".join(g for g in gaps if g)
    open_case(
        CaseRequest(
            kind=CaseKind.SEQUENCE_GAP,
            summary=f"Nothing received from {link.practice.link_code} numbered {described}"[:200],
            interchange_id=interchange_id,
            practice_ods=link.practice.ods_code,
            ha_cipher=link.ha.cipher,
            evidence={"missing_sis": still_sis, "missing_sms": still_sms, "link": str(link)},
            rule_trace=[
                {
                    "check": "incoming sequence numbers",
                    "result": "gap",
                    "why": "A number that never arrives means an interchange from this partner was lost; ask "
                    "the practice to retransmit it (PCRM never asks automatically).",
                }
            ],
        )
    )
    return True


def stalled_work(*, older_than: dt.datetime, retry_grace: dt.timedelta) -> tuple[list[int], list[int]]:
    """Interchanges stored but never parsed, and transactions never decided, older than a cut-off.

    Tasks can be lost (Redis keeps no data across a restart; a worker can die); the rows cannot.
    Re-queuing is safe because every task is idempotent on its row's status.
    """
    interchanges = list(
        Interchange.objects.filter(
            direction=Direction.INBOUND, status=InterchangeStatus.RECEIVED, received_at__lt=older_than
        ).values_list("id", flat=True)[:1000]
    )
    # A transaction waiting to retry has a task on its way; only one silent for longer than the
    # longest backoff has lost it.
    transactions = list(
        Transaction.objects.filter(
            Q(status=TxStatus.PARSED, updated_at__lt=older_than)
            | Q(status=TxStatus.RETRY_WAIT, updated_at__lt=older_than - retry_grace)
        ).values_list("id", flat=True)[:5000]
    )
    return interchanges, transactions
