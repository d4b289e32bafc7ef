"""G3 removal (out of area). PCSE does not deduct at once: it gives the patient notice (30 days by
default, REMOVAL_NOTICE_DAYS), cancels the removal if they register elsewhere meanwhile, and deducts at
the end. So an approved G3 starts a held deduction, never an immediate F2.

By default a person reviews every G3 first (some removals are immediate, e.g. a long prison sentence;
some should be refused). With PROCESSING_REMOVAL_AUTO a G3 for a patient PDS shows on the practice's
list, neither deceased nor restricted, starts the notice period without review.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from ..models import Transaction
from ..ports import CaseKind
from .base import HoldDeduction, Outcome, Trace
from .common import subject_of


def removal_due_on(start: dt.date) -> dt.date:
    """When an out-of-area removal that starts on `start` deducts: at the end of the notice period."""
    return start + dt.timedelta(days=settings.REMOVAL_NOTICE_DAYS)


def process_removal(tx: Transaction, trace: Trace) -> Outcome:
    subject = subject_of(tx, trace, "Removal")
    if isinstance(subject, Outcome):
        return subject
    patient = subject.patient
    reason = tx.parsed.free_text or ""
    if subject.registered_here:
        trace.add("current registration", "this practice", "PDS shows the patient on this practice's list.")
    else:
        trace.add(
            "current registration",
            patient.gp_practice or "none",
            "PDS does not show the patient at this practice: check before deducting.",
        )
    review = subject.manual(CaseKind.REMOVAL_REVIEW, "GP asks to remove an out-of-area patient", removal_reason=reason)
    if not settings.PROCESSING_REMOVAL_AUTO:
        trace.add(
            "removal",
            "review",
            f'The practice says: "{reason}". PCSE reviews out-of-area removals (some are immediate, most follow '
            "a notice period) before any deduction is sent.",
        )
        return review
    if not subject.registered_here or patient.death_date or patient.sensitive:
        why = (
            "the patient is not on this list in PDS"
            if not subject.registered_here
            else ("PDS records a death" if patient.death_date else "the record is restricted (S flag)")
        )
        trace.add("removal", "review", f"Not started automatically: {why}.")
        return review
    due = removal_due_on(timezone.localdate())
    trace.add(
        "removal",
        "notice period",
        f'The practice says: "{reason}". The patient is given {settings.REMOVAL_NOTICE_DAYS} days\' notice; '
        f"the removal is cancelled if they register elsewhere before {due}.",
    )
    hold = HoldDeduction(
        patient,
        subject.practice,
        settings.REMOVAL_DEDUCTION_REASON,
        due,
        gp=subject.gp,
        wire_number=tx.nhs_number or None,
    )
    return Outcome.done(
        f"Out-of-area removal pending until {due}",
        practice_ods=subject.practice.ods_code,
        nhs_number=patient.nhs_number,
        effects=(hold,),
    )
