"""G1 acceptance: approve the registration when it is safe, otherwise send it to a person.

Checks run in the order a back-office user would make them; the first that fails decides, and the
trace records every check that ran so the case page can say why the case is there.
"""

import datetime as dt

from rapidfuzz import fuzz

from pds.services import PatientNotFound, get_patient, register_with_practice

from ..gplinks import is_valid_nhs_number
from ..models import GP, Link, Practice, Registration, Transaction
from ..ports import CaseKind
from ..services.outbox import queue_transaction
from .base import Outcome, Trace

SYSTEM = "pcrm-processing"
NAME_MATCH_THRESHOLD = 85  # rapidfuzz ratio; below this the surnames are "different people" territory


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def process_acceptance(tx: Transaction, trace: Trace) -> Outcome:
    data = tx.data
    if data.get("errors"):
        trace.add("validation", "failed", "; ".join(data["errors"]))
        return Outcome.manual(CaseKind.INVALID_TRANSACTION, f"Acceptance breaks GP Links rules: {data['errors'][0]}")
    trace.add("validation", "passed", "All mandatory items are present and well formed.")

    gp = (
        GP.objects.select_related("practice__ha")
        .filter(
            national_code=(data.get("gp_code") or ",").split(",")[0],
            local_code=(data.get("gp_code") or ",").split(",")[-1],
        )
        .first()
    )
    if gp is None or not gp.practice.active:
        trace.add("GP code", "unknown", f"GP code {data.get('gp_code')} is not in reference data.")
        return Outcome.manual(CaseKind.UNKNOWN_GP, f"Unknown GP code {data.get('gp_code')}")
    practice = gp.practice
    trace.add("GP code", "known", f"{gp.gp_code} is a GP at {practice.ods_code} {practice.name}.")

    message_cipher = tx.message.ha_cipher
    if practice.ha.cipher != message_cipher:
        return _reject_wrong_ha(tx, practice, message_cipher, trace)
    trace.add("health authority", "matches", f"The practice is in HA {message_cipher}, as the message says.")

    if data.get("free_text"):
        trace.add("GP notes", "present", "PCSE stops on free text: a person must read the notes.")
        return Outcome.manual(
            CaseKind.FREE_TEXT, "Acceptance carries GP notes to review", practice_ods=practice.ods_code
        )
    trace.add("GP notes", "none", "No free text to review.")

    if data.get("acceptance_code") in ("D", "R"):
        trace.add(
            "acceptance code",
            data["acceptance_code"],
            "A disputed (D) or re-sent (R) acceptance needs checking against earlier traffic.",
        )
        return Outcome.manual(
            CaseKind.ACCEPTANCE_CHECK,
            f"Acceptance code {data['acceptance_code']} needs checking",
            practice_ods=practice.ods_code,
        )

    nhs_number = data.get("nhs_number")
    if not nhs_number:
        trace.add("NHS number", "absent", "The acceptance has no NHS number: trace or allocation is needed.")
        return Outcome.manual(
            CaseKind.NHS_NUMBER_ALLOCATION, "Acceptance without an NHS number", practice_ods=practice.ods_code
        )
    if len(nhs_number) != 10 or not nhs_number.isdigit():
        trace.add("NHS number", "legacy", f"{nhs_number} is a pre-1996 number that PDS does not hold.")
        return Outcome.manual(CaseKind.LEGACY_NHS_NUMBER, "Legacy-format NHS number", practice_ods=practice.ods_code)
    if not is_valid_nhs_number(nhs_number):
        trace.add("NHS number", "invalid", "The check digit is wrong.")
        return Outcome.manual(
            CaseKind.INVALID_TRANSACTION, "NHS number fails its check digit", practice_ods=practice.ods_code
        )

    try:
        lookup = get_patient(nhs_number)
    except PatientNotFound:
        trace.add("PDS lookup", "not found", "PDS has no record with this NHS number.")
        return Outcome.manual(CaseKind.NO_TRACE, "NHS number not known to PDS", practice_ods=practice.ods_code)
    patient = lookup.patient
    if lookup.superseded_from:
        trace.add(
            "PDS lookup", "superseded", "The number was merged into another record; re-keyed to the retained record."
        )
    else:
        trace.add("PDS lookup", "found", "PDS holds a record with this NHS number.")
    evidence = {"pds_version": patient.version}

    if patient.death_date:
        trace.add("death", "deceased", f"PDS records death on {patient.death_date}.")
        return Outcome.manual(
            CaseKind.DECEASED, "PDS records the patient as deceased", practice_ods=practice.ods_code, evidence=evidence
        )
    if patient.sensitive:
        trace.add("sensitive flag", "S", "Restricted records are never changed automatically.")
        return Outcome.manual(
            CaseKind.SENSITIVE, "Sensitive (S-flagged) PDS record", practice_ods=practice.ods_code, evidence=evidence
        )
    mismatch = _demographic_mismatch(data, patient)
    if mismatch:
        trace.add("demographics", "differ", mismatch)
        return Outcome.manual(
            CaseKind.DEMOGRAPHIC_MISMATCH,
            f"Demographics differ: {mismatch}",
            practice_ods=practice.ods_code,
            evidence=evidence,
        )
    trace.add("demographics", "agree", "Surname, birth date and sex agree with PDS.")

    current = patient.current_gp
    if current and current.practice_ods == practice.ods_code:
        trace.add("current registration", "same practice", f"PDS already shows {practice.ods_code}.")
        return Outcome.manual(
            CaseKind.ALREADY_REGISTERED,
            "Patient is already registered at this practice",
            practice_ods=practice.ods_code,
            evidence=evidence,
        )

    return _approve(tx, data, patient, lookup, gp, practice, trace)


def _demographic_mismatch(data: dict, patient) -> str:
    name = patient.usual_name
    problems = []
    surname = (data.get("surname") or "").upper()
    if name and surname and fuzz.ratio(surname, name.family.upper()) < NAME_MATCH_THRESHOLD:
        problems.append("surname")
    if data.get("birth_date") and patient.birth_date and _date(data["birth_date"]) != patient.birth_date:
        problems.append("birth date")
    if data.get("sex") in ("1", "2") and patient.gender in ("1", "2") and data["sex"] != patient.gender:
        problems.append("sex")
    return ", ".join(problems)


def _reject_wrong_ha(tx, practice: Practice, message_cipher: str, trace: Trace) -> Outcome:
    trace.add(
        "health authority",
        "wrong",
        f"The message is addressed to HA {message_cipher}, but the practice is in {practice.ha.cipher}.",
    )
    link = Link.objects.filter(practice=practice, ha__cipher=message_cipher).first() or practice.links.first()
    if link is None:
        return Outcome.manual(
            CaseKind.UNKNOWN_GP, "Wrong HA and no link to reject through", practice_ods=practice.ods_code
        )
    text = f"WRONG HA - PRACTICE IS IN {practice.ha.name.upper()}"[:70]
    queue_transaction(
        link=link,
        tx_type="F3",
        quoted_tn=tx.tn,
        caused_by=tx,
        payload={"gp_code": tx.data.get("gp_code"), "free_text": text},
    )
    trace.add("reply", "F3 rejection queued", "The GP system re-sends the acceptance to the right HA.")
    return Outcome.done(f"Rejected: wrong HA ({message_cipher}); F3 sent", practice_ods=practice.ods_code)


def _approve(tx, data, patient, lookup, gp: GP, practice: Practice, trace: Trace) -> Outcome:
    accepted_on = _date(data.get("acceptance_date")) or tx.received_at.date()
    previous = register_with_practice(
        patient,
        practice_ods=practice.ods_code,
        start=accepted_on,
        expected_version=patient.version,
        by=SYSTEM,
        reason=f"transaction {tx.pk}",
    )
    Registration.objects.create(
        nhs_number=patient.nhs_number,
        practice=practice,
        gp=gp,
        acceptance_code=data.get("acceptance_code", ""),
        acceptance_type=data.get("acceptance_type", ""),
        acceptance_date=accepted_on,
        transaction=tx,
    )
    trace.add("PDS update", "registered", f"Registered GP set to {practice.ods_code} from {accepted_on}.")

    link = Link.objects.select_related("practice", "ha").get(practice=practice, ha=practice.ha)
    approval = {"gp_code": gp.gp_code}
    if lookup.superseded_from or data.get("nhs_number") != patient.nhs_number:
        approval["nhs_number"] = patient.nhs_number
    queue_transaction(link=link, tx_type="F4", quoted_tn=tx.tn, caused_by=tx, payload=approval)
    trace.add("reply", "F4 approval queued", f"Approval quoting the GP's TN {tx.tn}.")

    summary = f"Registered with {practice.ods_code}; F4 approval sent"
    if previous and previous.practice_ods != practice.ods_code:
        summary += _deduct_from_previous(tx, patient, previous.practice_ods, practice, accepted_on, trace)
    return Outcome.done(summary, practice_ods=practice.ods_code)


def _deduct_from_previous(tx, patient, old_ods: str, new_practice: Practice, on: dt.date, trace: Trace) -> str:
    old = Practice.objects.select_related("ha").filter(ods_code=old_ods).first()
    old_link = Link.objects.select_related("practice", "ha").filter(practice=old, ha=old.ha).first() if old else None
    if old_link is None:
        trace.add("previous practice", "not a GP Links partner", f"{old_ods} gets no deduction over GP Links.")
        return ""
    old_gp = (
        Registration.objects.filter(nhs_number=patient.nhs_number, practice=old, gp__isnull=False)
        .order_by("-acceptance_date")
        .values_list("gp", flat=True)
        .first()
    )
    gp = GP.objects.filter(pk=old_gp).first() if old_gp else old.gps.filter(active=True).first()
    payload = {"gp_code": gp.gp_code if gp else "", "nhs_number": patient.nhs_number, "deduction_date": on.isoformat()}
    if old.ha_id != new_practice.ha_id:
        payload.update(deduction_reason="2", new_ha=new_practice.ha.cipher)
        why = "the patient moved to another HA (reason 2, new HA given)"
    else:
        payload["deduction_reason"] = "3"
        why = "an internal transfer within the HA (reason 3)"
    queue_transaction(link=old_link, tx_type="F2", caused_by=tx, payload=payload)
    Registration.objects.filter(nhs_number=patient.nhs_number, practice=old, deducted_on__isnull=True).update(
        deducted_on=on, deduction_reason=payload["deduction_reason"]
    )
    trace.add("previous practice", "F2 deduction queued", f"{old.ods_code} is told: {why}.")
    return f"; F2 deduction sent to {old.ods_code}"
