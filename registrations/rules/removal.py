"""G3 removal (out of area): always a person's decision; approved -> F2, refused -> recorded."""

from ..models import Transaction
from ..ports import CaseKind
from .base import Outcome, Trace
from .common import subject_of


def process_removal(tx: Transaction, trace: Trace) -> Outcome:
    subject = subject_of(tx, trace, "Removal")
    if isinstance(subject, Outcome):
        return subject
    if subject.registered_here:
        trace.add("current registration", "this practice", "PDS shows the patient on this practice's list.")
    else:
        trace.add(
            "current registration",
            subject.patient.gp_practice or "none",
            "PDS does not show the patient at this practice: check before deducting.",
        )
    reason = tx.data.get("free_text") or ""
    trace.add(
        "removal",
        "review",
        f'The practice says: "{reason}". PCSE reviews out-of-area removals (some are immediate, most follow '
        "a notice period) before any deduction is sent.",
    )
    return subject.manual(CaseKind.REMOVAL_REVIEW, "GP asks to remove an out-of-area patient", removal_reason=reason)
