"""What a case shows a person so they can decide without digging: PDS as it was, and the context.

Every value is plain JSON (strings, numbers, lists, dicts) because it is stored on the case and
must read the same in a year, whatever happens to the live record meanwhile.
"""

from typing import Any

from pds.gateway import PatientRecord

from ..gplinks.model import ADDRESS_PARTS
from ..models import Practice, Registration


def record_of(patient) -> PatientRecord:
    """The record as the PDS gateway speaks it. Processing reads PatientRecords (from the gateway,
    wherever PDS lives); people resolving cases may still hand over a local Patient, read the same way."""
    return patient if isinstance(patient, PatientRecord) else PatientRecord.from_patient(patient)


def pds_snapshot(patient) -> dict[str, Any]:
    """The PDS record at the moment of the decision."""
    patient = record_of(patient)
    name = patient.usual_name
    address = patient.current_address
    return {
        "nhs_number": patient.nhs_number,
        "version": patient.version,
        "surname": name.family if name else "",
        "forenames": list(name.given) if name else [],
        "title": name.prefix if name else "",
        "other_surnames": sorted({n.family for n in patient.names if n is not name}),
        "sex": patient.gender,
        "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
        "place_of_birth": patient.place_of_birth,
        "death_date": patient.death_date.isoformat() if patient.death_date else None,
        "death_status": patient.death_status,
        "sensitive": patient.sensitive,
        # A restricted record's address is never copied into a case: the case list is widely seen.
        "address": None if patient.sensitive or address is None else address_dict(address),
        "registered_gp": (
            {"practice_ods": patient.gp_practice, "since": patient.gp_since.isoformat() if patient.gp_since else None}
            if patient.gp_practice
            else None
        ),
    }


def address_dict(address) -> dict[str, str]:
    return {part: getattr(address, part) or "" for part in ADDRESS_PARTS}


def practice_summary(practice: Practice | None) -> dict[str, Any] | None:
    if practice is None:
        return None
    return {"ods_code": practice.ods_code, "name": practice.name, "ha": practice.ha.cipher, "link": practice.link_code}


def registration_history(nhs_number: str, limit: int = 5) -> list[dict[str, Any]]:
    """The latest registrations PCRM recorded for the patient, newest first."""
    rows = (
        Registration.objects.filter(nhs_number=nhs_number)
        .select_related("practice", "gp")
        .order_by("-acceptance_date", "-id")[:limit]
    )
    return [
        {
            "practice_ods": r.practice.ods_code,
            "gp_code": r.gp.gp_code if r.gp else "",
            "acceptance_code": r.acceptance_code,
            "acceptance_type": r.acceptance_type,
            "accepted_on": r.acceptance_date.isoformat(),
            "deducted_on": r.deducted_on.isoformat() if r.deducted_on else None,
            "deduction_reason": r.deduction_reason,
        }
        for r in rows
    ]
