"""How a PDS record looks to back-office staff: rows, labels and tags, kept out of templates.

Whether the viewer may see a restricted (S-flagged) record's address and contact details is
decided here, once, so no template can forget it.
"""

from dataclasses import dataclass

from core.nhs_number import format_nhs_number
from core.presenters import Tag, nhs_date

from .models import DeathStatus, Gender, Patient
from .trace import TraceResult

HIDDEN = "Restricted"


def _date(value) -> str:
    # The one date format on every page (#16 item 15): "1 January 2015".
    return nhs_date(value) if value else ""


def full_name(name) -> str:
    if name is None:
        return ""
    return " ".join(x for x in [name.prefix, *name.given, name.family] if x)


def flags(patient: Patient, superseded_from: str | None = None) -> list[Tag]:
    tags = []
    if patient.sensitive:
        tags.append(Tag("Restricted (S flag)", "pink"))
    if patient.death_date:
        tags.append(Tag(f"Deceased ({DeathStatus(patient.death_status).label.lower()})", "grey"))
    if superseded_from:
        tags.append(Tag(f"Superseded number {format_nhs_number(superseded_from)}", "orange"))
    return tags


class PatientSummary:
    """Everything the patient page shows, already decided for this viewer."""

    def __init__(self, patient: Patient, *, can_see_restricted: bool, superseded_from: str | None = None):
        self.patient = patient
        self.hidden = patient.sensitive and not can_see_restricted
        self.superseded_from = superseded_from
        self.nhs_number = format_nhs_number(patient.nhs_number)
        self.name = full_name(patient.usual_name)
        self.flags = flags(patient, superseded_from)

    @property
    def demographics(self) -> list[dict]:
        p = self.patient
        rows = [
            {"key": "NHS number", "value": self.nhs_number},
            {"key": "Name", "value": self.name},
            {"key": "Gender", "value": Gender(p.gender).label},
            {"key": "Date of birth", "value": _date(p.birth_date)},
            {"key": "Place of birth", "value": HIDDEN if self.hidden else p.place_of_birth},
        ]
        if p.death_date:
            rows.append(
                {"key": "Date of death", "value": f"{_date(p.death_date)} ({DeathStatus(p.death_status).label})"}
            )
        superseded = sorted(s.nhs_number for s in p.superseded_numbers.all())
        if superseded:
            rows.append({"key": "Superseded NHS numbers", "value": ", ".join(format_nhs_number(s) for s in superseded)})
        rows.append({"key": "Record version", "value": str(p.version)})
        return [{"empty": "Not known", **row} for row in rows]

    @property
    def address_rows(self) -> list[dict]:
        if self.hidden:
            return []
        rows = []
        for address in sorted(
            self.patient.addresses.all(), key=lambda a: (a.end is not None, a.start or a.end), reverse=False
        ):
            rows.append(
                {
                    "address": ", ".join([*address.lines, address.postcode]),
                    "start": _date(address.start),
                    "end": _date(address.end) or "Current",
                }
            )
        return rows

    @property
    def contact_rows(self) -> list[dict]:
        if self.hidden:
            return []
        return [
            {"key": f"{t.get_system_display()} ({t.get_use_display().lower()})", "value": t.value, "empty": ""}
            for t in self.patient.telecoms.all()
            if t.end is None
        ]

    @property
    def gp_rows(self) -> list[dict]:
        if self.hidden:
            return []
        periods = sorted(self.patient.gp_periods.all(), key=lambda g: g.start, reverse=True)
        return [
            {
                "practice": g.practice_ods,
                "start": _date(g.start),
                "end": _date(g.end) or "Current",
                "removal": g.removal_reason,
            }
            for g in periods
        ]

    @property
    def name_rows(self) -> list[dict]:
        names = sorted(self.patient.names.all(), key=lambda n: (n.use != "usual", n.end is not None, n.pk))
        return [
            {"name": full_name(n), "use": n.get_use_display(), "start": _date(n.start), "end": _date(n.end)}
            for n in names
        ]


@dataclass(frozen=True)
class ResultRow:
    nhs_number: str
    href_number: str
    name: str
    birth_date: str
    postcode: str
    score: str
    reasons: list[str]
    flags: list[Tag]


def result_rows(result: TraceResult, patients: dict[int, Patient], *, can_see_restricted: bool) -> list[ResultRow]:
    rows = []
    for candidate in result.candidates:
        p = patients[candidate.patient_id]
        hidden = p.sensitive and not can_see_restricted
        address = p.current_address
        reasons = [str(m) for m in candidate.matches if not (hidden and m.item == "postcode")]
        rows.append(
            ResultRow(
                nhs_number=format_nhs_number(p.nhs_number),
                href_number=p.nhs_number,
                name=full_name(p.usual_name),
                birth_date=_date(p.birth_date),
                postcode=HIDDEN if hidden else (address.postcode if address else ""),
                score=f"{candidate.score:.2f}",
                reasons=reasons,
                flags=flags(p),
            )
        )
    return rows


OUTCOME_TEXT = {
    "MATCH": "One confident match",
    "MULTIPLE": "Several possible matches: check each one",
    "NONE": "No matching patient found",
}
