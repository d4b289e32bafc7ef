"""Read models for the Interchanges page: one interchange with its messages, transactions, RECEPs,
cases and raw bytes, with restricted (S-flagged) patients' details left out for people not cleared.

A patient counts as restricted when PDS says so; when PDS cannot say (down, refusing), the details
are treated as restricted too: hiding by mistake is recoverable, showing by mistake is not.
"""

from dataclasses import dataclass, field

from django.db.models import Count
from django.urls import reverse

from core.roles import Perm
from pds.errors import InvalidNhsNumber, PatientNotFound, PdsError
from pds.gateway import get_gateway

from .gplinks import CodecError
from .gplinks.tokenizer import decode, split_segments, wire_of
from .models import Direction, Interchange, OutboxItem, OutboxKind, Transaction

RESTRICTED = "Restricted"


def interchanges_for_list():
    """Interchanges for the list page, each with its number of messages; the raw bytes stay unread."""
    return Interchange.objects.defer("raw").annotate(message_count=Count("messages"))


def interchanges_for_page():
    """Interchanges for the detail page, with the link (practice, HA) and the RECEP that answered each."""
    return Interchange.objects.select_related("link__practice", "link__ha", "answered_by")


@dataclass
class TxLine:
    tn: int | None
    type: str
    status: str
    nhs_number: str
    restricted: bool
    href: str = ""  # the case about it, if any


@dataclass
class MessageView:
    sms: int
    type: str
    ha_cipher: str
    recep_code: str
    error: str
    transactions: list[TxLine] = field(default_factory=list)


@dataclass
class InterchangeDetail:
    interchange: Interchange
    messages: list[MessageView]
    recep_sent: Interchange | None  # inbound: the RECEP PCRM sent back (None while queued or not due)
    recep_queued: bool
    recep_received: Interchange | None  # outbound: the partner's RECEP
    answers: Interchange | None  # an outbound RECEP or forward: what it answers or carries
    cases: list[dict]
    raw_lines: list[str] | None  # None: hidden, because a restricted patient is in it
    restricted: bool
    nhs_numbers_shown: list[str]


def _case_links(ic: Interchange) -> tuple[list[dict], dict[int, str]]:
    cases, by_tx = [], {}
    for case in ic.cases.order_by("id"):
        href = reverse("exceptions:case-detail", args=[case.pk])
        cases.append({"summary": case.summary, "kind": case.kind, "status": case.status, "href": href})
    for tx_id, case_id in (
        Transaction.objects.filter(message__interchange=ic, cases__isnull=False)
        .values_list("id", "cases__id")
        .order_by("cases__id")
    ):
        by_tx.setdefault(tx_id, reverse("exceptions:case-detail", args=[case_id]))
    return cases, by_tx


def restricted_numbers(numbers: set[str]) -> set[str]:
    """Which of these NHS numbers belong to S-flagged records (or cannot be checked right now)."""
    gateway = get_gateway()
    restricted = set()
    for number in numbers:
        if not (len(number) == 10 and number.isdigit()):
            continue  # not a number PDS holds (legacy, garbled): there is no record to protect
        try:
            if gateway.get(number).sensitive:
                restricted.add(number)
        except (PatientNotFound, InvalidNhsNumber):
            continue
        except PdsError:
            restricted.add(number)
    return restricted


def raw_lines(raw: bytes) -> list[str]:
    """The bytes one segment per line, as NHAIS files look; unreadable input split on the terminator."""
    try:
        text, _warnings = decode(raw)
        return [wire_of(s) + "'" for s in split_segments(text)]
    except CodecError:
        return [part + "'" for part in raw.decode("latin-1").split("'") if part.strip()]


def interchange_detail(ic: Interchange, *, user) -> InterchangeDetail:
    cases, case_by_tx = _case_links(ic)
    messages = []
    numbers: set[str] = set()
    if ic.direction == Direction.INBOUND:
        txs_by_message: dict[int, list[Transaction]] = {}
        for tx in Transaction.objects.filter(message__interchange=ic).order_by("id"):
            txs_by_message.setdefault(tx.message_id, []).append(tx)
            numbers.add(tx.nhs_number)
        rows = [
            (m, [(t.tn, t.type, t.get_status_display(), t.nhs_number, case_by_tx.get(t.pk, "")) for t in txs])
            for m in ic.messages.all()
            for txs in [txs_by_message.get(m.pk, [])]
        ]
    else:
        items = list(OutboxItem.objects.filter(interchange=ic, kind=OutboxKind.TRANSACTION).order_by("id"))
        numbers.update(str(item.payload.get("nhs_number") or "") for item in items)
        rows = [
            (
                m,
                [
                    (i.tn, i.tx_type, "Sent", str(i.payload.get("nhs_number") or ""), "")
                    for i in items
                    if i.tx_type == m.type
                ],
            )
            for m in ic.messages.all()
        ]
    numbers.discard("")
    cleared = user.has_perm(Perm.VIEW_SENSITIVE_RECORD)
    hidden = set() if cleared else restricted_numbers(numbers)
    for message, txs in rows:
        lines = [
            TxLine(tn, kind, status, RESTRICTED if n in hidden else n, n in hidden, href)
            for tn, kind, status, n, href in txs
        ]
        messages.append(
            MessageView(message.sms, message.type, message.ha_cipher, message.recep_code, message.error, lines)
        )
    recep_item = (
        OutboxItem.objects.filter(kind=OutboxKind.RECEP, in_reply_to=ic).select_related("interchange").first()
        if ic.direction == Direction.INBOUND
        else None
    )
    answers = OutboxItem.objects.filter(interchange=ic, in_reply_to__isnull=False).select_related("in_reply_to").first()
    return InterchangeDetail(
        interchange=ic,
        messages=messages,
        recep_sent=recep_item.interchange if recep_item else None,
        recep_queued=bool(recep_item and recep_item.interchange_id is None),
        recep_received=ic.answered_by,
        answers=answers.in_reply_to if answers else None,
        cases=cases,
        raw_lines=None if hidden else raw_lines(bytes(ic.raw or b"")),
        restricted=bool(hidden),
        nhs_numbers_shown=sorted(numbers - hidden),
    )
