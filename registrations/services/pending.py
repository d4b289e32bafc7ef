"""Deductions that wait for their date (#12): a G3 out-of-area removal after its notice period, and any
deduction (G3 or G5) dated in the future.

`hold_deduction` (registrations.services.apply) records one; this module is the beat job that carries
it out on its date. Each row is looked at again then: a patient PDS no longer shows at the practice
(registered elsewhere by any route), or who has died, is not deducted by it (the registration
elsewhere, or the death, is deducted on its own path).
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from pds.errors import PatientNotFound
from pds.gateway import get_gateway

from ..models import PendingDeduction, PendingDeductionStatus, Transaction
from ..rules.base import Trace
from ..selectors import at_practices_pcrm_serves
from .apply import SYSTEM, deduct
from .ordering import lock_nhs_number

BATCH = 1000


def deduct_due(*, today: dt.date, by: str = SYSTEM) -> list[int]:
    """Carry out every waiting deduction whose date has come. One database transaction per row."""
    waiting = PendingDeduction.objects.filter(status=PendingDeductionStatus.PENDING, due_on__lte=today)
    due = list(at_practices_pcrm_serves(waiting, today).order_by("due_on", "id").values_list("id", flat=True)[:BATCH])
    return [pk for pk in due if _deduct_one(pk, today=today, by=by)]


@transaction.atomic
def _deduct_one(pk: int, *, today: dt.date, by: str) -> bool:
    row = (
        PendingDeduction.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("practice__ha", "gp", "transaction")
        .filter(pk=pk, status=PendingDeductionStatus.PENDING)
        .first()
    )
    if row is None:
        return False
    lock_nhs_number(row.nhs_number)
    trace = Trace()
    try:
        patient = get_gateway().get(row.nhs_number)
    except PatientNotFound:
        patient = None
    why_not = _why_not(row, patient)
    row.closed_on = today
    row.closed_by = by
    if why_not:
        row.status = PendingDeductionStatus.CANCELLED
        row.note = why_not
        trace.add("pending deduction", "cancelled on its date", f"Not deducted: {why_not}.")
    else:
        # Marked first, so the deduction's own clean-up of waiting deductions leaves this one alone.
        row.status = PendingDeductionStatus.DEDUCTED
        row.save(update_fields=["status", "closed_on", "closed_by", "updated_at"])
        trace.add(
            "pending deduction",
            "due",
            f"The deduction from {row.practice.ods_code} held until {row.due_on} is carried out now.",
        )
        applied = deduct(
            patient,
            practice=row.practice,
            reason=row.reason,
            on=row.due_on,
            trace=trace,
            caused_by=row.transaction,
            by=by,
            gp=row.gp,
            wire_number=row.wire_number or None,
        )
        row.note = f"Deducted from {row.due_on}" + ("; F2 sent" if applied.sent else "; no F2 (practice not on PCRM)")
    row.save(update_fields=["status", "note", "closed_on", "closed_by", "updated_at"])
    _add_to_trace(row.transaction, trace)
    return True


def _why_not(row: PendingDeduction, patient) -> str:
    if patient is None:
        return "PDS no longer has the record"
    if patient.death_date:
        return f"PDS records a death on {patient.death_date}: the death is deducted with its own reason"
    if patient.gp_practice != row.practice.ods_code:
        where = patient.gp_practice or "no practice"
        return f"PDS shows the patient at {where}, not {row.practice.ods_code}"
    return ""


def _add_to_trace(tx: Transaction | None, trace: Trace) -> None:
    """The GP's transaction explains what finally happened to the deduction it asked for."""
    if tx is None:
        return
    Transaction.objects.filter(pk=tx.pk).update(rule_trace=[*tx.rule_trace, *trace.steps], updated_at=timezone.now())
