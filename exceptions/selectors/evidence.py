"""The evidence that fits each kind of transaction and case, beside the message/PDS comparison:

- what the transaction asks for beyond the patient's identity (an acceptance's type and previous GP, a
  deduction's reason and date, a removal's words, an FP69's expiry), each code in words and a reason a
  GP may not send marked, plus the problems validation found;
- for a case with no transaction (a MESH report, a missing RECEP, a failed capitation delivery), what
  was reported and the interchange it concerns;
- the registration history PCRM holds for the patient (its own list entries and deductions), beside
  PDS's registered-GP periods.

Codes are shown with their words so a person never has to remember what "5" or "A" means.
"""

import datetime as dt
from typing import Any

from django.utils import dateformat

from exceptions.models import ExceptionCase
from registrations.gplinks.codes import DER_REASONS, TYPE_NAMES
from registrations.models import Interchange, Registration

# GP Links deduction reasons (protocol notes 3.5). 1, 2, 5 and 13 are sourced; the rest follow the order
# of the published lists and are marked as such in the protocol notes.
DEDUCTION_REASONS = {
    "1": "Death",
    "2": "Removal to a new HA",
    "3": "Internal transfer (change of GP)",
    "4": "Mental hospital",
    "5": "Emigrated (embarkation)",
    "6": "New HA, same GP",
    "7": "Adopted child",
    "8": "Services",
    "9": "At the GP's request",
    "10": "Registration cancelled",
    "11": "Service dependant",
    "12": "At the patient's request",
    "13": "Other reason",
    "14": "Returned undelivered (FP69 expiry)",
    "15": "Internal transfer: address change",
    "16": "Internal transfer within a partnership",
    "17": "Correspondence says gone away",
    "18": "Practice says outside its area",
    "19": "Practice says no longer resident",
    "20": "Practice says removed via screening",
    "21": "Practice says removed via vaccination data",
    "22": "Removal from a residential institute",
}
ACCEPTANCE_CODES = {
    "A": "Acceptance",
    "D": "Disputed acceptance",
    "R": "Re-sent acceptance",
    "I": "Internal transfer",
    "S": "Service acceptance",
}
ACCEPTANCE_TYPES = {"1": "Birth", "2": "First acceptance", "3": "Transfer-in", "4": "Immigrant"}


def _date(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return dateformat.format(value, "j F Y")


def _coded(code, words: dict[str, str]) -> str:
    if not code:
        return ""
    return f"{code}: {words[code]}" if code in words else f"{code}: not a known code"


def deduction_reason(code: str | None) -> str:
    """A deduction reason in words: "5: Emigrated (embarkation)"."""
    return _coded(code, DEDUCTION_REASONS)


def _row(key: str, value, *, highlight: bool = False, empty: str = "Not sent") -> dict[str, Any]:
    if isinstance(value, list):
        return {"key": key, "lines": value, "empty": empty, "highlight": highlight}
    return {"key": key, "value": value, "empty": empty, "highlight": highlight}


def _acceptance(data: dict) -> list[dict]:
    rows = [
        _row("Acceptance", _coded(data.get("acceptance_code"), ACCEPTANCE_CODES)),
        _row("Acceptance type", _coded(data.get("acceptance_type"), ACCEPTANCE_TYPES)),
        _row("Accepted on", _date(data.get("acceptance_date"))),
    ]
    optional = [
        ("Previous GP", data.get("previous_gp")),
        ("Previous HA", data.get("previous_ha")),
        ("Entered the UK", _date(data.get("entry_date"))),
        ("Left the armed forces", _date(data.get("exit_date"))),
        ("Previous surname", data.get("previous_surname")),
        ("Dispensing patient", "Yes" if data.get("drugs_dispensed") else ""),
        ("Residential institute", data.get("residential_institute")),
    ]
    return rows + [_row(key, value) for key, value in optional if value]


def _deduction(data: dict) -> list[dict]:
    code = data.get("deduction_reason") or ""
    allowed = code in DER_REASONS
    words = deduction_reason(code)
    if code and not allowed:
        words += " (a GP may only ask for 1, 5 or 13)"
    return [
        _row("Deduction reason", words, highlight=not allowed),
        _row("Deduct from", _date(data.get("deduction_date"))),
    ]


def _removal(data: dict) -> list[dict]:
    return [_row("The practice says", data.get("free_text") or "")]


def _amendment(data: dict) -> list[dict]:
    optional = [
        ("Previous surname", data.get("previous_surname")),
        ("New NHS number", data.get("amended_nhs_number")),
        ("FP69 reason", data.get("fp69_reason")),
        ("FP69 expires", _date(data.get("fp69_expiry"))),
        ("Dispensing patient", "Yes" if data.get("drugs_dispensed") else ""),
        ("Residential institute", data.get("residential_institute")),
    ]
    return [_row(key, value) for key, value in optional if value]


_BY_TYPE = {"G1": _acceptance, "G2": _amendment, "G3": _removal, "G5": _deduction}


def request_rows(data: dict) -> list[dict]:
    """What the transaction asks for, besides who the patient is: the items of its type that matter."""
    kind = data.get("type") or ""
    rows = [_row("Transaction", f"{kind}: {TYPE_NAMES.get(kind, 'unknown type')}")] if kind else []
    rows += _BY_TYPE.get(kind, lambda d: [])(data)
    if data.get("free_text") and kind != "G3":
        rows.append(_row("GP notes", data["free_text"]))
    return rows


def problems(data: dict) -> list[str]:
    """What validation found wrong with the transaction, item first ("deduction_reason: ...")."""
    return [str(e) for e in (data.get("errors") or []) if e]


# --- cases with no transaction -------------------------------------------------------------------------

# Evidence items of transport and delivery cases, in words; others are shown under their own name.
REPORT_ITEMS = {
    "linked_message_id": "MESH message not delivered",
    "mesh_message_id": "MESH message",
    "sis": "Interchange sequence (SIS)",
    "sent_at": "Sent",
    "messages": "Messages (SMS, type)",
    "quarter_end": "Quarter ending",
    "pcse_mailbox": "PCSE mailbox",
    "attempts": "Attempts",
    "last_error": "Last error",
    "csv_message_id": "Capitation CSV message",
    "summary_message_id": "Capitation summary message",
    "type": "What would have been sent",
    "problems": "Why it was refused",
    "outbox_item": "Outbox item",
    "error": "Error",
    "reason": "Reason",
    "workflow": "MESH workflow",
    "sender": "Sender",
    "recipient": "Recipient",
}
_DATES = {"sent_at", "quarter_end"}
_HIDDEN = {"transaction", "candidates", "trace", "pds", "csv_sha256", "report_interchange", "reported_interchange"}


def _words(key: str, value) -> str:
    if key in _DATES:
        return _date(value)
    if isinstance(value, list):
        return "; ".join(", ".join(str(v) for v in item) if isinstance(item, list) else str(item) for item in value)
    return str(value)


def report_rows(case: ExceptionCase) -> list[dict]:
    """What a case without a transaction reports, from its evidence, known items first and in words."""
    evidence = case.evidence or {}
    known = [(key, evidence[key]) for key in REPORT_ITEMS if evidence.get(key) not in (None, "", [])]
    other = [
        (key, value)
        for key, value in evidence.items()
        if key not in REPORT_ITEMS
        and key not in _HIDDEN
        and value not in (None, "", [], {})
        and not isinstance(value, dict)
    ]
    return [
        {"key": REPORT_ITEMS.get(key, key.replace("_", " ").capitalize()), "value": _words(key, value)}
        for key, value in [*known, *other]
    ]


def interchange_rows(ic: Interchange | None) -> list[dict]:
    """The interchange a case concerns, in brief (the interchange page has the rest)."""
    if ic is None:
        return []
    rows = [
        ("Direction", ic.get_direction_display()),
        ("From", ic.sender or ic.mesh_sender),
        ("To", ic.recipient or ic.mesh_recipient),
        ("SIS", ic.sis),
        ("Status", ic.get_status_display()),
        ("MESH message", ic.mesh_message_id),
        ("Error", ic.error),
    ]
    return [{"key": key, "value": str(value)} for key, value in rows if value not in (None, "")]


# --- registration history --------------------------------------------------------------------------------


def registrations(nhs_numbers) -> list[dict]:
    """The list entries PCRM holds for these NHS numbers, newest first: where, since when, and how each ended."""
    wanted = [n for n in dict.fromkeys(nhs_numbers) if n]
    if not wanted:
        return []
    rows = []
    for reg in (
        Registration.objects.filter(nhs_number__in=wanted)
        .select_related("practice")
        .order_by("-acceptance_date", "-id")[:50]
    ):
        rows.append(
            {
                "nhs_number": reg.nhs_number,
                "practice": f"{reg.practice.ods_code} {reg.practice.name}",
                "accepted": _date(reg.acceptance_date),
                "acceptance": _coded(reg.acceptance_code, ACCEPTANCE_CODES),
                "ended": _date(reg.deducted_on) or "Current",
                "reason": deduction_reason(reg.deduction_reason),
            }
        )
    return rows


def gp_periods(patient) -> list[dict]:
    """PDS's registered-GP periods for the record, newest first, removal reasons in words."""
    if patient is None:
        return []
    periods = sorted(patient.gp_periods.all(), key=lambda g: g.start, reverse=True)
    return [
        {
            "practice": g.practice_ods,
            "start": _date(g.start),
            "end": _date(g.end) or "Current",
            "reason": deduction_reason(g.removal_reason) if g.removal_reason.isdigit() else g.removal_reason,
        }
        for g in periods
    ]
