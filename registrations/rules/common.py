"""Checks shared by the rules for transactions about a patient already on a practice's list."""

from dataclasses import dataclass

from pds.gateway import PatientRecord

from ..models import GP, Transaction
from ..ports import CaseKind
from ..selectors import gp_for
from . import identify
from .base import Outcome, Trace
from .evidence import pds_snapshot, practice_summary, registration_history


@dataclass
class Subject:
    """The GP, practice and PDS record a G2/G3/G5 is about, with the evidence gathered so far."""

    gp: GP
    patient: PatientRecord
    evidence: dict

    @property
    def practice(self):
        return self.gp.practice

    @property
    def registered_here(self) -> bool:
        return self.patient.gp_practice == self.practice.ods_code

    def manual(self, kind: CaseKind, summary: str, *, effects: tuple = (), **evidence) -> Outcome:
        return Outcome.manual(
            kind,
            summary,
            practice_ods=self.practice.ods_code,
            nhs_number=self.patient.nhs_number,
            evidence={**self.evidence, **evidence},
            effects=effects,
        )


def subject_of(tx: Transaction, trace: Trace, what: str) -> Subject | Outcome:
    """Validate, find the GP and the patient; an Outcome (a case) when any of it fails."""
    data = tx.data
    if data.get("errors"):
        trace.add("validation", "failed", "; ".join(data["errors"]))
        return Outcome.manual(CaseKind.INVALID_TRANSACTION, f"{what} breaks GP Links rules: {data['errors'][0]}")
    trace.add("validation", "passed", "Every mandatory item is present and well formed.")
    gp = gp_for(tx)
    if gp is None or not gp.active or not gp.practice.active:
        trace.add("GP code", "unknown", f"GP code {data.get('gp_code')} is not an active GP in reference data.")
        return Outcome.manual(CaseKind.UNKNOWN_GP, f"Unknown GP code {data.get('gp_code')}")
    practice = gp.practice
    trace.add("GP code", "known", f"{gp.gp_code} is a GP at {practice.ods_code} {practice.name}.")
    evidence = {"practice": practice_summary(practice), "gp": {"gp_code": gp.gp_code, "name": gp.name}}
    found = identify.find_patient(data, trace, compare=False)
    evidence.update(found.evidence)
    if found.patient is None:
        return Outcome.manual(found.case_kind, found.summary, practice_ods=practice.ods_code, evidence=evidence)
    evidence["pds"] = pds_snapshot(found.patient)
    evidence["registrations"] = registration_history(found.patient.nhs_number)
    return Subject(gp=gp, patient=found.patient, evidence=evidence)
