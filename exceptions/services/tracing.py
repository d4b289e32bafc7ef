"""A PDS trace run on demand from a case: the message's demographics traced again now, by a person.

Processing traced when the message arrived; by the time someone works the case, PDS may hold a new
record or a corrected one. The person runs the trace from the case page; the candidates are kept on
the case as a case event (so the page can compare and choose them like processing's own, and the
case's history shows who traced and what came back) and the search is audited like any patient search.
"""

from dataclasses import dataclass

from django.db import transaction

from core.roles import Perm
from exceptions.models import OPEN_STATUSES, ExceptionCase
from exceptions.selectors.casework import TRACED, transaction_data
from exceptions.services import audit
from exceptions.services.cases import record_event
from registrations.gplinks import CodecError, Transaction
from registrations.gplinks.jsonio import transaction_from_json
from registrations.rules.identify import run_trace, trace_evidence

OUTCOME_WORDS = {"MATCH": "one confident match", "MULTIPLE": "several possible matches", "NONE": "no match"}


class TraceRefused(Exception):
    """The trace cannot be run; the message is written for the person who asked."""


@dataclass(frozen=True)
class Traced:
    summary: str
    found: int


def _sent(case: ExceptionCase) -> Transaction:
    """The message as the case keeps it, typed like processing reads it (nothing to trace on if unreadable)."""
    try:
        return transaction_from_json({"tn": 0, "type": "", **transaction_data(case)})
    except CodecError:
        return Transaction(tn=0, type="")


@transaction.atomic
def trace_from_case(case: ExceptionCase, *, by) -> Traced:
    if by is None or not by.has_perm(Perm.VIEW_PATIENT_RECORD) or not by.has_perm(Perm.VIEW_QUEUE):
        raise TraceRefused("Your role cannot search PDS")
    case = ExceptionCase.objects.select_for_update(of=("self",)).select_related("transaction").get(pk=case.pk)
    if case.status not in OPEN_STATUSES:
        raise TraceRefused(f"Case {case.pk} is {case.get_status_display().lower()}: there is nothing to trace for")
    result = run_trace(_sent(case))
    if result is None:
        raise TraceRefused("The message has too little to trace on: a name, and a birth date or postcode")
    found = trace_evidence(result)["candidates"]
    numbers = [c["nhs_number"] for c in found]
    summary = f"PDS trace: {OUTCOME_WORDS.get(result.outcome, result.outcome.lower())}" + (
        f" ({len(found)} record{'s' if len(found) != 1 else ''})" if found else ""
    )
    record_event(
        case,
        action=TRACED,
        user=by,
        detail={"summary": summary, "outcome": result.outcome, "reason": result.reason, "candidates": found},
    )
    audit.record(by, audit.TRACE_PATIENT, case=case, detail={"outcome": result.outcome, "results": numbers})
    return Traced(summary=summary, found=len(found))
