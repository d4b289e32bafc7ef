"""Writes to cases. Every change appends a CaseEvent in the same database transaction."""

from django.db import transaction
from django.utils import timezone

from exceptions.models import OPEN_STATUSES, CaseEvent, CaseStatus, ExceptionCase
from exceptions.sla import due_at_for
from registrations.ports import CaseRequest

SYSTEM_PROCESSING = "processing"


@transaction.atomic
def open_case(request: CaseRequest) -> ExceptionCase:
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
