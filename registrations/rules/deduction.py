"""G5 deduction request: death confirmed by PDS and emigration are deducted automatically (F2);
everything else goes to a person, who deducts (F2) or refuses (F11 with the reason)."""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from ..models import DeathNotice, Transaction
from ..ports import CaseKind
from .base import Deduct, HoldDeduction, Outcome, Trace
from .common import subject_of

REASONS = {"1": "death", "5": "embarkation (emigrated)", "13": "other reason"}


def process_deduction_request(tx: Transaction, trace: Trace) -> Outcome:
    subject = subject_of(tx, trace, "Deduction request")
    if isinstance(subject, Outcome):
        return subject
    reason = tx.parsed.deduction_reason or ""
    on = tx.parsed.deduction_date
    patient = subject.patient
    trace.add("reason", reason, f"The GP asks to deduct for {REASONS.get(reason, 'reason ' + reason)}, from {on}.")
    if patient.sensitive:
        trace.add("sensitive flag", "S", "Restricted records are never changed automatically.")
        return subject.manual(CaseKind.SENSITIVE, "Deduction request for a sensitive record")
    if reason == "1" and not subject.registered_here and _deducted_on_death_notice(patient, subject.practice):
        trace.add(
            "death in PDS",
            "already deducted",
            f"PCRM deducted the patient from {subject.practice.ods_code} (F2 reason 1) when PDS was notified of "
            "the death: nothing more to send.",
        )
        return Outcome.done(
            "Already deducted on the death notified to PDS",
            practice_ods=subject.practice.ods_code,
            nhs_number=patient.nhs_number,
        )
    if not subject.registered_here:
        trace.add(
            "current registration",
            patient.gp_practice or "none",
            f"PDS does not show the patient at {subject.practice.ods_code}: a person checks before answering.",
        )
        return subject.manual(CaseKind.DEDUCTION_REVIEW, "Deduction request for a patient not on this list in PDS")
    trace.add("current registration", "this practice", "PDS shows the patient on this practice's list.")

    if reason == "1":
        if not patient.death_date:
            trace.add("death in PDS", "not known", "PDS has no death for this patient: a person verifies it.")
            return subject.manual(CaseKind.DEDUCTION_REVIEW, "Death reported by the GP is not known to PDS")
        agrees = "the same date" if patient.death_date == on else f"{patient.death_date} (the GP says {on})"
        trace.add("death in PDS", "confirmed", f"PDS records the death ({patient.death_status}) on {agrees}.")
        return _deduct(tx, subject, reason, on, "Deducted: death confirmed by PDS")
    if reason == "5":
        if not settings.PROCESSING_EMIGRATION_AUTO:
            trace.add("emigration", "review", "Emigration requests are set to be reviewed by a person.")
            return subject.manual(CaseKind.DEDUCTION_REVIEW, "Emigration deduction to review")
        trace.add("emigration", "automatic", "An emigration reported by the practice is deducted as asked.")
        return _deduct(tx, subject, reason, on, "Deducted: emigrated")
    trace.add("reason", "needs a person", "Only death and emigration are deducted without review.")
    return subject.manual(CaseKind.DEDUCTION_REVIEW, f"Deduction request, reason {reason}, to review")


def _deducted_on_death_notice(patient, practice) -> bool:
    return DeathNotice.objects.filter(
        nhs_number=patient.nhs_number, practice=practice, outcome=DeathNotice.Outcome.DEDUCTED
    ).exists()


def _deduct(tx, subject, reason: str, on: dt.date, summary: str) -> Outcome:
    wire_number = tx.nhs_number or None
    if on > timezone.localdate():
        # The date is the date of the event (protocol 4.4): a deduction never runs ahead of it.
        return Outcome.done(
            f"{summary}; held until {on}, then F2 to {subject.practice.ods_code}",
            practice_ods=subject.practice.ods_code,
            nhs_number=subject.patient.nhs_number,
            effects=(
                HoldDeduction(subject.patient, subject.practice, reason, on, gp=subject.gp, wire_number=wire_number),
            ),
        )
    deduction = Deduct(subject.patient, subject.practice, reason, on, gp=subject.gp, wire_number=wire_number)
    return Outcome.done(
        f"{summary}; F2 sent to {subject.practice.ods_code}",
        practice_ods=subject.practice.ods_code,
        nhs_number=subject.patient.nhs_number,
        effects=(deduction,),
    )
