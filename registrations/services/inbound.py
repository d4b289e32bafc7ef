"""The inbound path: a stored Interchange row -> authenticated partner -> messages and transactions.

Receiving from MESH (store before acknowledge, quarantine) is in `mesh_inbox`; sequence numbers in
`sequence`. Nothing here acts on an interchange before its partner is authenticated: the MESH
mailbox it came from must be the one configured for its UNB sender link code, on an active link.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..gplinks import CodecError, codes, parse_interchange, to_json
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
from ..safe_text import fit, pg_text
from . import sequence
from .mesh_inbox import PollResult, poll_inbox, store_inbound
from .recep import apply_recep

__all__ = [
    "IngestResult",
    "PollResult",
    "confirm_sequence_gap",
    "ingest_interchange",
    "poll_inbox",
    "stalled_work",
    "store_inbound",
]

log = logging.getLogger(__name__)

confirm_sequence_gap = sequence.confirm_gap

# --- parsing an interchange into transactions -------------------------------------------------


@dataclass
class IngestResult:
    interchange_id: int
    new_transaction_ids: list[int] = field(default_factory=list)
    status: str = ""
    suspected_gap: dict | None = None
    retry: bool = False  # an unexpected failure, attempts left: try again later


def ingest_interchange(interchange_id: int) -> IngestResult:
    """Parse a stored interchange into messages and transactions. A no-op if already done.

    A codec error makes it INVALID with a case at once. Any other failure is retried a bounded
    number of times (INGEST_MAX_ATTEMPTS), then it is INVALID with a case too: never a crash loop.
    """
    try:
        with transaction.atomic():
            return _ingest(interchange_id)
    except SoftTimeLimitExceeded:
        raise  # the task's time is up: not a failure of this interchange (it stays unread, in order)
    except Exception as exc:
        return _failed(interchange_id, exc)


def _failed(interchange_id: int, exc: Exception) -> IngestResult:
    # The exception's text can quote the data (PostgreSQL's CONTEXT does): kept on the row for
    # people with access, never logged.
    log.warning("ingest of interchange %s failed (%s)", interchange_id, type(exc).__name__)
    with transaction.atomic():
        ic = Interchange.objects.select_for_update(no_key=True).get(pk=interchange_id)
        result = IngestResult(interchange_id, status=ic.status)
        if ic.status != InterchangeStatus.RECEIVED:
            return result
        ic.ingest_attempts += 1
        error = pg_text(f"{type(exc).__name__}: {exc}", 2000)
        if ic.ingest_attempts >= settings.INGEST_MAX_ATTEMPTS:
            _mark_invalid(ic, f"reading failed {ic.ingest_attempts} times: {error}", attempts=True)
        else:
            ic.error = error
            ic.save(update_fields=["ingest_attempts", "error"])
            result.retry = True
        result.status = ic.status
        return result


def _ingest(interchange_id: int) -> IngestResult:
    ic = Interchange.objects.select_for_update(no_key=True).get(pk=interchange_id)
    result = IngestResult(interchange_id)
    if ic.status != InterchangeStatus.RECEIVED:
        result.status = ic.status
        return result
    try:
        parsed = parse_interchange(bytes(ic.raw), isolate_messages=True)
    except CodecError as exc:
        _mark_invalid(ic, str(exc))
        result.status = ic.status
        return result
    bad_number = _out_of_range(parsed)
    if bad_number is not None:
        _mark_invalid(ic, f"sequence number {bad_number} is outside 1 to 99,999,999: it cannot be acknowledged")
        result.status = ic.status
        return result
    head = fit(Interchange, sender=parsed.sender, recipient=parsed.recipient, warnings=list(parsed.warnings))
    ic.sender, ic.recipient, ic.warnings = head["sender"], head["recipient"], head["warnings"]
    ic.sis, ic.prepared_at = parsed.sis, parsed.prepared_at
    partner = _authenticate(ic, parsed)
    if partner is not None:
        if parsed.recep is not None:
            _record_recep(ic, parsed, partner, result)
        else:
            _record_fhsreg(ic, parsed, partner, result)
    # Not the raw bytes again: only what reading the interchange changed.
    ic.save(update_fields=INGEST_FIELDS)
    result.status = ic.status
    return result


INGEST_FIELDS = ["sender", "recipient", "warnings", "sis", "prepared_at", "link", "status", "error", "duplicate_of"]


def _out_of_range(parsed) -> int | None:
    """An SIS or SMS the protocol cannot carry (RECEPs quote them in 8 digits), if there is one."""
    numbers = [parsed.sis, *(m.sms for m in parsed.messages)]
    if parsed.recep is not None:
        numbers.append(parsed.recep.sms)
    return next((n for n in numbers if not 1 <= n <= sequence.MAX_SEQUENCE), None)


def _mark_invalid(ic: Interchange, error: str, *, attempts: bool = False) -> None:
    error = pg_text(error, 5000)
    ic.status = InterchangeStatus.INVALID
    ic.error = error
    ic.save(update_fields=["status", "error", "ingest_attempts"])
    why = (
        "Reading it failed again and again for a reason that is not the codec's; a person should look."
        if attempts
        else error
    )
    open_case(
        CaseRequest(
            kind=CaseKind.INVALID_INTERCHANGE,
            summary=f"Interchange could not be read: {error}",
            interchange_id=ic.pk,
            evidence={"codec_error": error, "mesh_message_id": ic.mesh_message_id, "mesh_sender": ic.mesh_sender},
            rule_trace=[{"check": "GP Links codec", "result": "failed", "why": why}],
        )
    )


# --- partner authentication --------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    link: Link
    practice: Practice
    ha: HealthAuthority


def _authenticate(ic: Interchange, parsed) -> Partner | None:
    """The partner named in UNB, if the MESH mailbox it came from is that partner's; else hold it.

    GP->HA traffic names the practice as UNB sender and the HA as recipient. The link must exist
    and be active, and the MESH sender must be the practice's configured mailbox (a replay by a
    person vouches for the sender instead). Held interchanges are not applied, receipted or
    forwarded: a reprocess after the configuration is corrected carries them through.
    """
    # The usual case in one query: the link between the two, locked (its counters move), with both ends.
    link = (
        Link.objects.select_for_update(no_key=True, of=("self",))
        .select_related("practice__ha", "ha")
        .filter(practice__link_code=parsed.sender, ha__link_code=parsed.recipient)
        .first()
    )
    if link is not None:
        practice, ha = link.practice, link.ha
    else:
        practice = Practice.objects.select_related("ha").filter(link_code=parsed.sender).first()
        ha = HealthAuthority.objects.filter(link_code=parsed.recipient).first()
    problem = ""
    if practice is None:
        problem = f"sender link code {parsed.sender} is not a known practice"
    elif ha is None:
        problem = f"recipient link code {parsed.recipient} is not a known HA"
    elif link is None:
        problem = f"there is no link between {parsed.sender} and {parsed.recipient}"
    elif not (link.active and practice.active):
        problem = f"the link between {parsed.sender} and {parsed.recipient} is not active"
    elif not ic.replayed_by and ic.mesh_sender.strip().upper() != practice.mesh_mailbox.strip().upper():
        problem = (
            f"MESH mailbox {ic.mesh_sender or '(none)'} is not {parsed.sender}'s configured mailbox "
            f"{practice.mesh_mailbox}"
        )
    if not problem:
        ic.link = link
        return Partner(link, practice, ha)
    ic.status = InterchangeStatus.HELD
    ic.error = pg_text(problem, 500)
    open_case(
        CaseRequest(
            kind=CaseKind.UNAUTHENTICATED_PARTNER,
            summary=f"Unauthenticated partner: {problem}",
            interchange_id=ic.pk,
            practice_ods=practice.ods_code if practice else "",
            ha_cipher=ha.cipher if ha else "",
            evidence={
                "mesh_sender": ic.mesh_sender,
                "unb_sender": parsed.sender,
                "unb_recipient": parsed.recipient,
                "sis": parsed.sis,
                "configured_mailbox": practice.mesh_mailbox if practice else None,
                "problem": problem,
            },
            rule_trace=[
                {
                    "check": "partner authentication",
                    "result": "failed",
                    "why": "Only the MESH mailbox configured for a trading partner may speak for it. Nothing was "
                    "applied and no RECEP sent; if the sender is genuine, correct the reference data and "
                    "reprocess.",
                }
            ],
        )
    )
    return None


# --- registration interchanges (FHSREG) --------------------------------------------------------


def _record_fhsreg(ic: Interchange, parsed, partner: Partner, result: IngestResult) -> None:
    # Traffic for an HA still on NHAIS goes there untouched, re-sends too: NHAIS de-duplicates and receipts.
    forwarding = not partner.ha.is_served_by_pcrm(timezone.localdate())
    same_sis = [] if forwarding else _same_sis(ic)
    earlier_pk = next(
        (pk for pk, sha256, status in same_sis if sha256 == ic.sha256 and status not in NOT_AN_EARLIER_COPY), None
    )
    if forwarding:
        ic.status = InterchangeStatus.FORWARDED
        _forward(ic, partner)
    elif earlier_pk is not None:
        ic.status = InterchangeStatus.DUPLICATE
        ic.duplicate_of_id = earlier_pk
    else:
        ic.status = InterchangeStatus.PARSED

    answered = (
        dict(Message.objects.filter(interchange_id=earlier_pk).values_list("sms", "recep_code"))
        if earlier_pk is not None
        else {}
    )
    codes_by_sms: dict[int, str] = {}
    data = to_json(parsed)
    new_content = False
    for msg_data, msg in zip(data["messages"], parsed.messages, strict=True):
        error = msg.error or _structure_problem(msg)
        code = answered.get(msg.sms) or ("CA" if error else "CP")
        codes_by_sms[msg.sms] = code
        message = Message.objects.create(
            **fit(
                Message,
                interchange=ic,
                sms=msg.sms,
                type=msg.type,
                ha_cipher=msg.ha_cipher,
                recep_code="" if forwarding else code,
                error=error,
            )
        )
        if error:
            if earlier_pk is None:
                _reject_message(ic, message, partner, error)
            continue
        for tx in _record_transactions(ic, message, msg_data, forwarding=forwarding):
            new_content |= not tx.is_duplicate
            if tx.status == TxStatus.PARSED:
                result.new_transaction_ids.append(tx.pk)

    if forwarding:
        return  # NHAIS numbers and receipts what it is forwarded
    if ic.status != InterchangeStatus.DUPLICATE:
        result.suspected_gap = sequence.check(ic, partner.link, parsed.sis, [m.sms for m in parsed.messages])
        if new_content:
            _check_reused_sis(ic, partner, same_sis)
    # Every interchange is receipted, a re-sent one too (its RECEP was perhaps lost): the same answer.
    _queue_recep(ic, partner, codes_by_sms)


def _structure_problem(msg) -> str:
    """A message the codec read but whose transaction type does not exist: nothing in it can be translated."""
    if msg.type not in codes.LIVE_TYPES and msg.type not in codes.OBSOLETE_TYPES:
        return f"RFF+950 transaction type {msg.type[:20]!r} is not a GP Links transaction type"
    return ""


def _queue_recep(ic: Interchange, partner: Partner, codes_by_sms: dict[int, str]) -> None:
    rejected = sum(1 for code in codes_by_sms.values() if code != "CP")
    interchange_code = "OK" if not rejected else ("NA" if rejected == len(codes_by_sms) else "ER")
    OutboxItem.objects.create(
        kind=OutboxKind.RECEP,
        link=partner.link,
        mesh_recipient=partner.practice.mesh_mailbox,
        ha_cipher=partner.ha.cipher,
        in_reply_to=ic,
        payload={"message_codes": {str(k): v for k, v in codes_by_sms.items()}, "interchange_code": interchange_code},
    )


def _forward(ic: Interchange, partner: Partner) -> None:
    OutboxItem.objects.create(
        kind=OutboxKind.FORWARD, mesh_recipient=partner.ha.nhais_mailbox, ha_cipher=partner.ha.cipher, in_reply_to=ic
    )


def _reject_message(ic: Interchange, message: Message, partner: Partner, error: str) -> None:
    open_case(
        CaseRequest(
            kind=CaseKind.INVALID_INTERCHANGE,
            summary=f"Message {message.sms} from {ic.sender} rejected (RECEP CA): {error}",
            interchange_id=ic.pk,
            practice_ods=partner.practice.ods_code,
            ha_cipher=partner.ha.cipher,
            evidence={"sms": message.sms, "codec_error": error, "mesh_message_id": ic.mesh_message_id},
            rule_trace=[
                {
                    "check": "GP Links codec, message by message",
                    "result": "CA",
                    "why": "This message could not be translated; the RECEP tells the practice so (CA) while the "
                    "other messages in the interchange are processed. Ask the practice to resend it.",
                }
            ],
        )
    )


def _comparable(data: dict) -> dict:
    # Warnings and errors name segment positions, which move when the same content is re-enveloped.
    return {k: v for k, v in data.items() if k not in ("warnings", "errors")}


def _record_transactions(ic, message, msg_data, *, forwarding: bool) -> list[Transaction]:
    """A message's transactions, in TN order: all in one insert when none of them was seen before
    (the usual case), otherwise one by one so each repeat is recorded as what it is."""
    rows = [
        _transaction_fields(ic, message, msg_data, tx_data, forwarding=forwarding)
        for tx_data in msg_data["transactions"]
    ]
    if ic.status != InterchangeStatus.DUPLICATE and rows:
        try:
            with transaction.atomic():
                return Transaction.objects.bulk_create([Transaction(**fields) for fields in rows])
        except IntegrityError:
            pass
    return [_record_transaction(ic, fields) for fields in rows]


def _transaction_fields(ic, message, msg_data, tx_data, *, forwarding: bool) -> dict:
    return fit(
        Transaction,
        message=message,
        sender=ic.sender,
        recipient=ic.recipient,
        sis=ic.sis,
        sms=msg_data["sms"],
        tn=tx_data["tn"],
        type=tx_data["type"],
        data=tx_data,
        nhs_number=tx_data.get("nhs_number") or "",
        gp_code=tx_data.get("gp_code") or "",
        status=TxStatus.FORWARDED if forwarding else TxStatus.PARSED,
    )


def _record_transaction(ic, fields: dict) -> Transaction:
    if ic.status == InterchangeStatus.DUPLICATE:
        return _record_duplicate(fields)
    try:
        with transaction.atomic():
            return Transaction.objects.create(**fields)
    except IntegrityError:
        return _record_duplicate(fields)


def _record_duplicate(fields: dict) -> Transaction:
    """Same (sender, recipient, SIS, SMS, TN) again: a skipped duplicate, or, with different content,
    a reused number that a person must look at (it never silently replaces or vanishes)."""
    original = Transaction.objects.filter(
        sender=fields["sender"],
        recipient=fields["recipient"],
        sis=fields["sis"],
        sms=fields["sms"],
        tn=fields["tn"],
        is_duplicate=False,
    ).first()
    if original is None or _comparable(original.data) == _comparable(fields["data"]):
        return Transaction.objects.create(
            **{**fields, "status": TxStatus.DUPLICATE, "is_duplicate": True, "duplicate_of": original}
        )
    # TODO(state): a new row starts MANUAL; no transition of an existing transaction.
    tx = Transaction.objects.create(
        **{**fields, "status": TxStatus.MANUAL, "is_duplicate": True, "duplicate_of": original}
    )
    changed = sorted(k for k in set(original.data) | set(tx.data) if original.data.get(k) != tx.data.get(k))
    changed = [k for k in changed if k not in ("warnings", "errors")]
    open_case(
        CaseRequest(
            kind=CaseKind.REUSED_NUMBER,
            summary=f"{tx.type} TN {tx.tn} from {tx.sender} (SIS {tx.sis}, SMS {tx.sms}) reused with different content",
            transaction_id=tx.pk,
            interchange_id=tx.message.interchange_id,
            nhs_number=tx.nhs_number,
            ha_cipher=tx.message.ha_cipher,
            evidence={"transaction": tx.data, "original_transaction": original.pk, "items_that_differ": changed},
            rule_trace=[
                {
                    "check": "transaction key (sender, recipient, SIS, SMS, TN)",
                    "result": "already received, different content",
                    "why": "A duplicate would be skipped, but this one differs from what was received under the "
                    "same numbers; nothing was applied. Compare the two, then reprocess or close.",
                }
            ],
        )
    )
    return tx


# An earlier interchange under the same SIS that is not a copy to answer as this one was answered
# (not read yet, itself a duplicate, or held), and one that does not make a reuse of the SIS.
NOT_AN_EARLIER_COPY = frozenset({InterchangeStatus.RECEIVED, InterchangeStatus.DUPLICATE, InterchangeStatus.HELD})
NOT_A_REUSE = frozenset({InterchangeStatus.HELD, InterchangeStatus.INVALID, InterchangeStatus.RECEIVED})


def _same_sis(ic: Interchange) -> list[tuple[int, str, str]]:
    """Every other interchange the partner sent under this SIS, oldest first: one query answers both
    "is this a copy of one already read?" and "was the SIS reused for other content?"."""
    return list(
        Interchange.objects.filter(direction=Direction.INBOUND, sender=ic.sender, recipient=ic.recipient, sis=ic.sis)
        .exclude(pk=ic.pk)
        .order_by("pk")
        .values_list("pk", "sha256", "status")
    )


def _check_reused_sis(ic: Interchange, partner: Partner, same_sis: list[tuple[int, str, str]]) -> None:
    """A SIS seen before on different content (new transactions under an old SIS) is worth a look."""
    reused = next((pk for pk, sha256, status in same_sis if sha256 != ic.sha256 and status not in NOT_A_REUSE), None)
    if reused is None:
        return
    open_case(
        CaseRequest(
            kind=CaseKind.REUSED_NUMBER,
            summary=f"{ic.sender} reused SIS {ic.sis} for a different interchange",
            interchange_id=ic.pk,
            practice_ods=partner.practice.ods_code,
            ha_cipher=partner.ha.cipher,
            evidence={"sis": ic.sis, "earlier_interchange": reused},
            rule_trace=[
                {
                    "check": "interchange number (SIS)",
                    "result": "reused",
                    "why": "The same SIS arrived before with other content. Its new transactions were processed; "
                    "check with the practice whether its counters were reset.",
                }
            ],
        )
    )


# --- RECEP interchanges ------------------------------------------------------------------------


def _record_recep(ic: Interchange, parsed, partner: Partner, result: IngestResult) -> None:
    recep = parsed.recep
    Message.objects.create(**fit(Message, interchange=ic, sms=recep.sms, type=codes.RECEP, ha_cipher=recep.ha_cipher))
    if not partner.ha.is_served_by_pcrm(timezone.localdate()):
        # It acknowledges NHAIS's interchange: NHAIS must see it, byte for byte.
        ic.status = InterchangeStatus.FORWARDED
        _forward(ic, partner)
        return
    seen = (
        Interchange.objects.filter(
            direction=Direction.INBOUND,
            sender=ic.sender,
            recipient=ic.recipient,
            sis=ic.sis,
            messages__sms=recep.sms,
            status__in=[InterchangeStatus.RECEP, InterchangeStatus.DUPLICATE],
        )
        .exclude(pk=ic.pk)
        .first()
    )
    if seen is not None:
        ic.status = InterchangeStatus.DUPLICATE
        ic.duplicate_of = seen
        return
    result.suspected_gap = sequence.check(ic, partner.link, parsed.sis, [recep.sms])
    apply_recep(ic, parsed, partner.link)
    ic.status = InterchangeStatus.RECEP


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
