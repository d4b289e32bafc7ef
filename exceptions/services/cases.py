"""Writes to cases. Every change appends a CaseEvent in the same database transaction."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from exceptions.models import OPEN_STATUSES, CaseEvent, CaseStatus, ExceptionCase
from exceptions.selectors.casework import STILL_NEEDS_A_PERSON
from exceptions.sla import due_at_for
from registrations.ports import CaseRequest

SYSTEM_PROCESSING = "processing"


# The case whose transaction is being processed again (exceptions.services.resolution.reprocess): a case
# processing opens for that transaction continues it instead of starting another.
@dataclass
class Continuation:
    case: ExceptionCase
    carried_on: bool = False  # processing asked for a person again, and this case took the new result


_continuing: ContextVar[Continuation | None] = ContextVar("continuing_case", default=None)


@contextmanager
def continuing(case: ExceptionCase) -> Iterator[Continuation]:
    """While processing runs again for `case`'s transaction, a new case for it updates `case` instead."""
    continuation = Continuation(case)
    token = _continuing.set(continuation)
    try:
        yield continuation
    finally:
        _continuing.reset(token)


def _carry_on(case: ExceptionCase, request: CaseRequest) -> ExceptionCase:
    """The same case with the new result: its assignee, notes, history and SLA clock stay; its kind, summary,
    evidence and rule trace become what processing found this time."""
    before = case.kind
    case.kind = request.kind.value
    case.summary = request.summary[:200]
    case.evidence = request.evidence
    case.rule_trace = request.rule_trace
    case.nhs_number = request.nhs_number or case.nhs_number
    case.practice_ods = request.practice_ods or case.practice_ods
    case.save(update_fields=["kind", "summary", "evidence", "rule_trace", "nhs_number", "practice_ods"])
    CaseEvent.objects.create(
        case=case,
        system=SYSTEM_PROCESSING,
        action=STILL_NEEDS_A_PERSON,
        note=request.summary,
        detail={"summary": request.summary, "kind_before": before, "kind": case.kind},
    )
    return case


def _continues(current: Continuation | None, request: CaseRequest) -> bool:
    """Whether processing's new case is the one being reprocessed, carried on: the same transaction, or
    for a case about a whole interchange (no transaction), the first case that interchange raises again."""
    if current is None:
        return False
    case = current.case
    if request.transaction_id:
        return request.transaction_id == case.transaction_id
    return (
        not current.carried_on
        and case.transaction_id is None
        and request.interchange_id is not None
        and request.interchange_id == case.interchange_id
    )


@transaction.atomic
def open_case(request: CaseRequest) -> ExceptionCase:
    current = _continuing.get()
    if _continues(current, request):
        current.carried_on = True
        return _carry_on(current.case, request)
    now = timezone.now()
    case = ExceptionCase.objects.create(
        kind=request.kind.value,
        summary=request.summary[:200],
        transaction_id=request.transaction_id,
        interchange_id=request.interchange_id,
        nhs_number=request.nhs_number,
        practice_ods=request.practice_ods,
        ha_cipher=request.ha_cipher,
        evidence=request.evidence,
        rule_trace=request.rule_trace,
        due_at=due_at_for(request.kind, now),
    )
    CaseEvent.objects.create(case=case, system=SYSTEM_PROCESSING, action="opened", note=request.summary)
    return case


@transaction.atomic
def close_answered_cases(kind, interchange_id: int, note: str) -> int:
    """Close open cases of `kind` on an interchange that the system saw answered (a late RECEP)."""

    now = timezone.now()
    cases = list(
        ExceptionCase.objects.select_for_update().filter(
            kind=str(kind), interchange_id=interchange_id, status__in=OPEN_STATUSES
        )
    )
    for case in cases:
        case.status = CaseStatus.CLOSED
        case.closed_at = now
        case.save(update_fields=["status", "closed_at"])
        CaseEvent.objects.create(case=case, system=SYSTEM_PROCESSING, action="closed", note=note[:500])
    return len(cases)


def record_event(
    case: ExceptionCase,
    *,
    action: str,
    user=None,
    system: str = "",
    reason_code: str = "",
    note: str = "",
    detail: dict | None = None,
) -> CaseEvent:
    """Append one step to the case's story; who did it is a user or a named system component."""
    return CaseEvent.objects.create(
        case=case, user=user, system=system, action=action, reason_code=reason_code, note=note, detail=detail or {}
    )
