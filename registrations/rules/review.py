"""G2, G3 and G5: first cut. Address-only amendments apply to PDS; everything else goes to review.

The fuller rules (FP69 replies, death confirmed by PDS, emigration) belong to the processing issue.
"""

from django.utils import timezone

from pds.services import PatientNotFound, change_address, get_patient

from ..models import Transaction
from ..ports import CaseKind
from .base import Outcome, Trace

SYSTEM = "pcrm-processing"
DEMOGRAPHIC_ITEMS = ("surname", "forenames", "title", "birth_date", "sex", "previous_surname")


def _find(tx: Transaction, trace: Trace):
    nhs_number = tx.data.get("nhs_number")
    if not nhs_number:
        trace.add("NHS number", "absent", "The transaction has no NHS number.")
        return None
    try:
        lookup = get_patient(nhs_number)
    except PatientNotFound:
        trace.add("PDS lookup", "not found", "PDS has no record with this NHS number.")
        return None
    trace.add("PDS lookup", "found", "PDS holds a record with this NHS number.")
    return lookup.patient


def process_amendment(tx: Transaction, trace: Trace) -> Outcome:
    data = tx.data
    if data.get("errors"):
        trace.add("validation", "failed", "; ".join(data["errors"]))
        return Outcome.manual(CaseKind.INVALID_TRANSACTION, f"Amendment breaks GP Links rules: {data['errors'][0]}")
    patient = _find(tx, trace)
    if patient is None:
        return Outcome.manual(CaseKind.NO_TRACE, "Amendment for a patient PDS does not know")
    changes = [item for item in DEMOGRAPHIC_ITEMS if item in data]
    if changes:
        trace.add("demographic items", ", ".join(changes), "PDS is the master: a person accepts or refuses these.")
        return Outcome.manual(CaseKind.DEMOGRAPHIC_CHANGE, f"GP asks to change {', '.join(changes)}")
    address = data.get("address")
    if address:
        if patient.sensitive:
            trace.add("sensitive flag", "S", "Restricted records are never changed automatically.")
            return Outcome.manual(CaseKind.SENSITIVE, "Address change for a sensitive record")
        change_address(
            patient,
            address={k: v or "" for k, v in address.items()},
            start=timezone.localdate(),
            expected_version=patient.version,
            by=SYSTEM,
            reason=f"transaction {tx.pk}",
        )
        trace.add("PDS update", "address changed", "The whole address was replaced, as GP Links requires.")
        return Outcome.done("Address updated in PDS")
    trace.add("amended items", "none PCRM applies", "Nothing in this amendment changes PDS.")
    return Outcome.done("Amendment recorded; nothing to change in PDS")


def process_removal(tx: Transaction, trace: Trace) -> Outcome:
    trace.add("removal", "requested", "Out-of-area removals are reviewed by a person before any deduction.")
    return Outcome.manual(CaseKind.REMOVAL_REVIEW, "GP asks to remove an out-of-area patient")


def process_deduction_request(tx: Transaction, trace: Trace) -> Outcome:
    reason = tx.data.get("deduction_reason", "")
    trace.add("deduction request", f"reason {reason}", "Deduction requests are reviewed before an F2 or F11.")
    return Outcome.manual(CaseKind.DEDUCTION_REVIEW, f"GP asks to deduct the patient (reason {reason})")
