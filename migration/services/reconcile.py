"""Is the extract's patient the one PDS holds, and does PDS show them at the same practice?

Read through the PDS gateway only (local or remote PDS alike). The answer is one of agree, differ or
not_in_pds, with the differences in words a person can check: nothing here changes PDS.
"""

from dataclasses import dataclass, field

from pds.errors import InvalidNhsNumber, PatientNotFound
from pds.gateway import PdsGateway
from registrations.rules.identify import surname_agrees

from ..extract import ExtractRow
from ..models import Reconciliation

SEX_WORDS = {"0": "not known", "1": "male", "2": "female", "9": "not specified"}


@dataclass
class Compared:
    result: str
    differences: list[str] = field(default_factory=list)


def compare(row: ExtractRow, gateway: PdsGateway) -> Compared:
    try:
        patient = gateway.get(row.nhs_number)
    except (PatientNotFound, InvalidNhsNumber):
        return Compared(Reconciliation.NOT_IN_PDS, ["PDS has no record with this NHS number"])
    differences = []
    if patient.superseded_from:
        differences.append(f"The NHS number was merged into {patient.nhs_number} in PDS")
    if not surname_agrees(row.surname, patient):
        differences.append("Surname differs from PDS")
    if patient.birth_date != row.date_of_birth:
        differences.append("Date of birth differs from PDS")
    if patient.gender != row.sex:
        differences.append(
            f"Sex is {SEX_WORDS.get(row.sex, row.sex)} in the extract, "
            f"{SEX_WORDS.get(patient.gender, patient.gender)} in PDS"
        )
    if patient.death_date:
        differences.append(f"PDS records the patient as deceased on {patient.death_date:%d %B %Y}")
    if patient.gp_practice != row.practice_ods:
        held = patient.gp_practice or "no practice"
        differences.append(f"PDS shows the patient registered at {held}, the extract at {row.practice_ods}")
    return Compared(Reconciliation.DIFFER if differences else Reconciliation.AGREE, differences)
