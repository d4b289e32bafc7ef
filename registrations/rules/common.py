"""Checks shared by the rules for transactions about a patient already on a practice's list."""

from dataclasses import dataclass

from django.utils import timezone

from pds.gateway import PatientRecord

from ..models import GP, Link, Transaction
from ..ports import CaseKind
from ..selectors import gp_for, health_authority
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


def ha_boundary(tx: Transaction, trace: Trace) -> Outcome | None:
    """The message's HA (NAD+FHS) must be one PCRM serves: traffic for an HA still on NHAIS, or for an
    HA reference data does not know, is never processed (a case, and nothing is sent). None: it is."""
    cipher = tx.message.ha_cipher
    ha = health_authority(cipher)
    if ha is None:
        trace.add("health authority", "unknown", f"NAD+FHS names HA {cipher}, which is not in reference data.")
        return Outcome.manual(CaseKind.INVALID_TRANSACTION, f"Message for an unknown HA ({cipher})")
    if not ha.is_served_by_pcrm(timezone.localdate()):
        trace.add(
            "health authority",
            "on NHAIS",
            f"NAD+FHS names HA {cipher} ({ha.name}), which has not cut over to PCRM: NHAIS processes its "
            "traffic, so PCRM neither decides nor answers it.",
        )
        return Outcome.manual(CaseKind.INVALID_TRANSACTION, f"Message for HA {cipher}, still on NHAIS")
    return None


def recipient_serves(tx: Transaction) -> bool:
    """The HA named by NAD+FHS is the one the interchange was addressed to (UNB recipient link code)."""
    ha = health_authority(tx.message.ha_cipher)
    return ha is not None and ha.link_code == tx.recipient


def practice_linked(practice, cipher: str) -> bool:
    """The practice belongs to the HA, or holds an active link with it (a boundary practice)."""
    if practice.ha.cipher == cipher:
        return True
    return Link.objects.filter(practice=practice, ha__cipher=cipher, active=True).exists()


def subject_of(tx: Transaction, trace: Trace, what: str) -> Subject | Outcome:
    """Validate, find the GP and the patient; an Outcome (a case) when any of it fails."""
    sent = tx.parsed
    if sent.errors:
        trace.add("validation", "failed", "; ".join(sent.errors))
        return Outcome.manual(CaseKind.INVALID_TRANSACTION, f"{what} breaks GP Links rules: {sent.errors[0]}")
    trace.add("validation", "passed", "Every mandatory item is present and well formed.")
    gp = gp_for(tx)
    if gp is None or not gp.active or not gp.practice.active:
        trace.add("GP code", "unknown", f"GP code {sent.gp_code} is not an active GP in reference data.")
        return Outcome.manual(CaseKind.UNKNOWN_GP, f"Unknown GP code {sent.gp_code}")
    practice = gp.practice
    trace.add("GP code", "known", f"{gp.gp_code} is a GP at {practice.ods_code} {practice.name}.")
    evidence = {"practice": practice_summary(practice), "gp": {"gp_code": gp.gp_code, "name": gp.name}}
    stop = ha_boundary(tx, trace)
    if stop is not None:
        return stop
    cipher = tx.message.ha_cipher
    if not recipient_serves(tx) or not practice_linked(practice, cipher):
        trace.add(
            "health authority",
            "wrong",
            f"NAD+FHS names HA {cipher}, but the interchange went to {tx.recipient} and {practice.ods_code} "
            f"belongs to {practice.ha.cipher}: the message is not for the HA it reached.",
        )
        return Outcome.manual(
            CaseKind.INVALID_TRANSACTION,
            f"{what} addressed to HA {cipher} through the wrong link",
            practice_ods=practice.ods_code,
            evidence=evidence,
        )
    trace.add("health authority", "matches", f"HA {cipher} serves {practice.ods_code} and runs on PCRM.")
    found = identify.find_patient(sent, trace, compare=False)
    evidence.update(found.evidence)
    if found.patient is None:
        return Outcome.manual(found.case_kind, found.summary, practice_ods=practice.ods_code, evidence=evidence)
    evidence["pds"] = pds_snapshot(found.patient)
    evidence["registrations"] = registration_history(found.patient.nhs_number)
    return Subject(gp=gp, patient=found.patient, evidence=evidence)
