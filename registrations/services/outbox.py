"""The outbox and its relay.

Outbound work is written as OutboxItem rows in the same database transaction as the change that
caused it. The relay numbers and builds interchanges in one transaction (counters and rows commit
together), then sends what is built but not yet sent. A crash between the two leaves a BUILT
interchange that the next run sends; MESH recipients de-duplicate on our local id and numbers.
"""

import contextlib
import datetime as dt
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from core.locks import advisory_lock

from .. import gplinks, mesh
from ..gplinks import CodecError, build_interchange, build_recep, parse_interchange
from ..models import (
    Direction,
    HealthAuthority,
    Interchange,
    InterchangeStatus,
    Link,
    Message,
    OutboxItem,
    OutboxKind,
    OutboxStatus,
    Transaction,
)
from ..ports import CaseKind, CaseRequest, open_case
from ..safe_text import pg_text
from . import outbound

log = logging.getLogger(__name__)

MAX_SEQUENCE = 99_999_999
# Approvals and rejections quote the GP's own TN; every other F-transaction uses the HA's series.
QUOTING_TYPES = {"F3", "F4"}


def queue_transaction(
    *,
    link: Link,
    send: gplinks.Transaction,
    caused_by: Transaction | None = None,
    quoted_tn: int | None = None,
) -> OutboxItem:
    """Queue one outbound F-transaction (`send`, typed: see outbound.outbound).

    It is first made fit for GP Links (text normalised to Appendix K and the item lengths) and
    checked with the codec's own validation, plus the rule that an F2, F9 or F10 names the
    patient's GP for certain. One that fails is kept REFUSED with a case, and never sent.
    """
    if send.type in QUOTING_TYPES and quoted_tn is None:
        raise ValueError(f"{send.type} must quote the GP's transaction number")
    checked, problems = outbound.check(send, practice=link.practice, caused_by=caused_by, tn=quoted_tn or 1)
    item = OutboxItem(
        kind=OutboxKind.TRANSACTION,
        link=link,
        mesh_recipient=link.practice.mesh_mailbox,
        ha_cipher=link.ha.cipher,
        caused_by=caused_by,
        quoted_tn=quoted_tn,
    )
    item.outbound = checked
    item.save(force_insert=True)
    if problems:
        _refuse(item, "; ".join(problems))
    return item


def _refuse(item: OutboxItem, error: str) -> None:
    """Keep the item, never send it, and tell a person why."""
    log.warning("outbox item %s (%s) refused", item.pk, item.tx_type or item.kind)
    item.status = OutboxStatus.REFUSED
    item.error = pg_text(error, 2000)
    item.save(update_fields=["status", "error"])
    practice = item.link.practice if item.link_id else None
    open_case(
        CaseRequest(
            kind=CaseKind.OUTBOUND_REFUSED,
            summary=f"{item.tx_type or item.kind} to {practice.ods_code if practice else item.mesh_recipient} "
            f"not sent: {error}",
            transaction_id=item.caused_by_id,
            interchange_id=item.in_reply_to_id,
            nhs_number=_patient_number(item),
            practice_ods=practice.ods_code if practice else "",
            ha_cipher=item.ha_cipher,
            evidence={"outbox_item": item.pk, "type": item.tx_type or item.kind, "problems": error},
            rule_trace=[
                {
                    "check": "outbound validation",
                    "result": "refused",
                    "why": "GP Links cannot carry it as it stands, and guessing (a GP, a value) could mislead the "
                    "practice. Nothing was sent.",
                }
            ],
        )
    )


def _patient_number(item: OutboxItem) -> str:
    if item.kind != OutboxKind.TRANSACTION:
        return ""
    try:
        return item.outbound.nhs_number or ""
    except CodecError:  # refused because it cannot be read: the case says so, without the number
        return ""


def _next(value: int) -> int:
    return 1 if value >= MAX_SEQUENCE else value + 1


@dataclass
class RelayResult:
    built: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)


def relay(*, now: dt.datetime | None = None, send: bool = True) -> RelayResult:
    result = RelayResult()
    result.built = build_pending(now=now or timezone.now())
    if send:
        result.sent = send_built()
    return result


@transaction.atomic
def build_pending(*, now: dt.datetime) -> list[int]:
    """Batch queued items into interchanges, allocating SIS/SMS per link and TN per HA.

    Counters are locked FOR NO KEY UPDATE: processing goes on inserting outbox items and registrations
    that refer to the same link and HA rows (a key-share lock) while a build holds them.

    Each build runs in its own savepoint: an item that cannot be built is REFUSED with a case and
    the rest go out, so one bad item never holds up the outbox.
    """
    items = list(
        OutboxItem.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=OutboxStatus.QUEUED)
        .select_related("link__practice", "link__ha", "in_reply_to")
        .order_by("id")
    )
    built: list[int] = []
    by_link: dict[int, list[OutboxItem]] = defaultdict(list)
    receps: dict[int, list[OutboxItem]] = defaultdict(list)
    for item in items:
        if item.kind == OutboxKind.TRANSACTION:
            by_link[item.link_id].append(item)
        elif item.kind == OutboxKind.RECEP and item.link_id is not None:
            receps[item.link_id].append(item)
        else:
            build = _build_recep if item.kind == OutboxKind.RECEP else _build_forward
            built.extend(_guarded([item], lambda item=item, build=build: build(item, now)))
    for link_id, link_items in receps.items():
        built.extend(_build_receps(link_id, link_items, now))
    for link_id, link_items in by_link.items():
        built.extend(_build_link(link_id, link_items, now))
    return built


def _guarded(items: list[OutboxItem], build) -> list[int]:
    try:
        with transaction.atomic():
            return [build()]
    except Exception as exc:
        for item in items:
            _refuse(item, f"could not be built ({type(exc).__name__}: {exc})")
        return []


def _build_link(link_id: int, items: list[OutboxItem], now: dt.datetime) -> list[int]:
    """One interchange for a link's items; if it cannot be built, each on its own, so only the bad one is refused."""
    try:
        with transaction.atomic():
            return [_build_transactions(_locked_link(link_id), items, now)]
    except Exception as exc:
        _falling_back("transactions", link_id, items, exc)

    def alone(item):
        return _build_transactions(_locked_link(link_id), [item], now)

    return _each_alone(items, alone)


def _falling_back(what: str, link_id: int, items: list[OutboxItem], exc: Exception) -> None:
    # Visible to operators: a batch that could not be built together usually means one bad item, which
    # the one-at-a-time pass then refuses on its own. Ids and the error's type only, no patient data.
    log.warning(
        "Outbound %s for link %s could not be built together (%s); building %d one at a time",
        what,
        link_id,
        type(exc).__name__,
        len(items),
    )


def _each_alone(items: list[OutboxItem], build_one) -> list[int]:
    built = []
    for item in items:
        built.extend(_guarded([item], lambda item=item: build_one(item)))
    return built


def _build_transactions(link: Link, items: list[OutboxItem], now: dt.datetime) -> int:
    ha = HealthAuthority.objects.select_for_update(no_key=True).get(pk=link.ha_id)
    groups: dict[tuple, list[tuple[OutboxItem, gplinks.Transaction]]] = defaultdict(list)
    for item in items:
        send = item.outbound
        # An F8's quarter end is message-level (DTM+206), so F8s for different quarters need separate messages.
        quarter_end = send.quarter_end if item.tx_type == "F8" else gplinks.ABSENT
        groups[(item.tx_type, item.ha_cipher, quarter_end)].append((item, send))
    link.last_sis_sent = _next(link.last_sis_sent)
    messages = []
    for (tx_type, cipher, quarter_end), group in groups.items():
        link.last_sms_sent = _next(link.last_sms_sent)
        transactions = []
        for item, send in group:
            if item.quoted_tn is not None:
                item.tn = item.quoted_tn
            else:
                ha.last_tn_sent = _next(ha.last_tn_sent)
                item.tn = ha.last_tn_sent
            send.tn = item.tn
            transactions.append(send)
        messages.append(
            gplinks.Message(
                sms=link.last_sms_sent,
                type=tx_type,
                ha_cipher=cipher,
                transactions=transactions,
                quarter_end=quarter_end,
            )
        )
    body = build_interchange(
        gplinks.Interchange(
            sender=ha.link_code,
            recipient=link.practice.link_code,
            sis=link.last_sis_sent,
            prepared_at=timezone.localtime(now),
            messages=messages,
        )
    )
    ic = _outbound(
        body,
        workflow=mesh.WORKFLOW_REG,
        recipient_box=link.practice.mesh_mailbox,
        link=link,
        sender=ha.link_code,
        recipient=link.practice.link_code,
        sis=link.last_sis_sent,
        now=now,
    )
    Message.objects.bulk_create(
        [Message(interchange=ic, sms=m.sms, type=m.type, ha_cipher=m.ha_cipher) for m in messages]
    )
    for item in items:
        item.status = OutboxStatus.BATCHED
        item.interchange = ic
    OutboxItem.objects.bulk_update(items, ["status", "interchange", "tn"])
    link.save(update_fields=["last_sis_sent", "last_sms_sent", "updated_at"])
    ha.save(update_fields=["last_tn_sent", "updated_at"])
    return ic.pk


def _locked_link(link_id: int) -> Link:
    return Link.objects.select_for_update(no_key=True, of=("self",)).select_related("practice", "ha").get(pk=link_id)


def _build_receps(link_id: int, items: list[OutboxItem], now: dt.datetime) -> list[int]:
    """A link's RECEPs, each its own interchange, numbered and written together (the link locked
    once, one insert, one update); if that fails, each on its own, so only a bad one is refused."""
    try:
        with transaction.atomic():
            link = _locked_link(link_id)
            rows = []
            for item in items:
                body = _recep_body(item, link, now)
                rows.append(_outbound_row(body, **_recep_fields(item, link, now)))
            created = _insert_outbound(rows)
            link.save(update_fields=["last_sis_sent", "last_sms_sent", "updated_at"])
            for item, ic in zip(items, created, strict=True):
                item.status = OutboxStatus.BATCHED
                item.interchange = ic
            OutboxItem.objects.bulk_update(items, ["status", "interchange"])
            return [ic.pk for ic in created]
    except Exception as exc:
        _falling_back("RECEPs", link_id, items, exc)
    return _each_alone(items, lambda item: _build_recep(item, now))


def _build_recep(item: OutboxItem, now: dt.datetime) -> int:
    link = _locked_link(item.link_id)
    body = _recep_body(item, link, now)  # numbers the RECEP (advances the link's SIS): before its fields read it
    ic = _outbound(body, **_recep_fields(item, link, now))
    link.save(update_fields=["last_sis_sent", "last_sms_sent", "updated_at"])
    _mark_batched(item, ic)
    return ic.pk


def _recep_fields(item: OutboxItem, link: Link, now: dt.datetime) -> dict:
    return {
        "workflow": mesh.WORKFLOW_RECEP,
        "recipient_box": item.mesh_recipient,
        "link": link,
        "sender": link.ha.link_code,
        "recipient": link.practice.link_code,
        "sis": link.last_sis_sent,
        "now": now,
    }


def _recep_body(item: OutboxItem, link: Link, now: dt.datetime) -> bytes:
    """The RECEP answering the item's interchange, numbered with the link's next SIS and SMS."""
    # RECEPs share the pair's SIS/SMS counters with registration interchanges.
    link.last_sis_sent = _next(link.last_sis_sent)
    link.last_sms_sent = _next(link.last_sms_sent)
    received = parse_interchange(bytes(item.in_reply_to.raw), isolate_messages=True)
    # A message PCRM could not read may lack its NAD+FHS; the RECEP still names the HA it was sent to.
    for message in received.messages:
        message.ha_cipher = message.ha_cipher or item.ha_cipher
    codes = item.payload.get("message_codes") or {}
    return build_recep(
        received,
        sis=link.last_sis_sent,
        sms=link.last_sms_sent,
        now=timezone.localtime(now),
        message_codes={int(sms): code for sms, code in codes.items()},
        interchange_code=item.payload.get("interchange_code") or "OK",
    )


def _build_forward(item: OutboxItem, now: dt.datetime) -> int:
    original = item.in_reply_to
    # Forwarded byte for byte: NHAIS numbers and receipts it as if it had come straight from the GP.
    ic = _outbound(
        bytes(original.raw),
        workflow=original.workflow or mesh.WORKFLOW_REG,
        recipient_box=item.mesh_recipient,
        link=None,
        sender=original.sender,
        recipient=original.recipient,
        sis=original.sis,
        now=now,
    )
    _mark_batched(item, ic)
    return ic.pk


def _mark_batched(item: OutboxItem, ic: Interchange) -> None:
    item.status = OutboxStatus.BATCHED
    item.interchange = ic
    item.save(update_fields=["status", "interchange"])


def _outbound(body: bytes, **fields) -> Interchange:
    return _insert_outbound([_outbound_row(body, **fields)])[0]


def _insert_outbound(rows: list[Interchange]) -> list[Interchange]:
    """Insert built interchanges; each one's MESH local id is its own id ("pcrm-<id>")."""
    created = Interchange.objects.bulk_create(rows)
    Interchange.objects.filter(pk__in=[ic.pk for ic in created]).update(
        local_id=Concat(Value("pcrm-"), Cast("id", output_field=CharField()))
    )
    for ic in created:
        ic.local_id = f"pcrm-{ic.pk}"
    return created


def _outbound_row(body: bytes, *, workflow, recipient_box, link, sender, recipient, sis, now) -> Interchange:
    return Interchange(
        direction=Direction.OUTBOUND,
        workflow=workflow,
        raw=body,
        sha256=hashlib.sha256(body).hexdigest(),
        mesh_recipient=recipient_box,
        sender=sender,
        recipient=recipient,
        sis=sis,
        prepared_at=now,
        status=InterchangeStatus.BUILT,
        link=link,
    )


SEND_CHUNK = 100
SEND_PASSES = 3


def send_built() -> list[int]:
    """Send every built-but-unsent interchange, oldest first; each send is recorded on its own.

    One sender at a time across every process (a PostgreSQL advisory lock), so an interchange is never
    sent twice by two relays at once, without a row lock and a transaction per send. A relay that finds
    the lock taken leaves the work to the holder, which looks again before it lets go; one that finds
    work built after the holder's last look tries again.
    """
    sent: list[int] = []
    for _ in range(SEND_PASSES):
        with advisory_lock("mesh-send:outbound") as got:
            if not got:
                break
            sent += _send_pending()
        if not _built().exists():
            break
    return sent


def _built():
    return Interchange.objects.filter(direction=Direction.OUTBOUND, status=InterchangeStatus.BUILT)


def _send_pending() -> list[int]:
    sent: list[int] = []
    client = None
    with contextlib.ExitStack() as stack:
        while rows := list(
            _built().order_by("id").values_list("id", "mesh_recipient", "raw", "workflow", "local_id")[:SEND_CHUNK]
        ):
            if client is None:
                client = stack.enter_context(mesh.mesh_client())
            for pk, recipient, raw, workflow, local_id in rows:
                message_id = mesh.send(
                    client, recipient=recipient, body=bytes(raw), workflow=workflow, local_id=local_id
                )
                # Recorded at once (autocommit): a crash after this line never sends it again.
                Interchange.objects.filter(pk=pk, status=InterchangeStatus.BUILT).update(
                    mesh_message_id=message_id,
                    mesh_sender=settings.MESH_MAILBOX,
                    status=InterchangeStatus.SENT,
                    sent_at=timezone.now(),
                )
                sent.append(pk)
    return sent
