"""A patient's change timeline, read from the history events (django-pghistory) of every PDS table.

Events written in one service call share one context, which carries who (`by`, and the user when
a person acted), why (`reason`: a transaction or case reference) and what (`action`). The timeline
groups events by context and shows, for each row touched, what was added, changed or removed, by
comparing each snapshot with the one before it.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pghistory.models import Context

from .models import (
    Gender,
    GPPeriodEvent,
    Patient,
    PatientAddressEvent,
    PatientEvent,
    PatientNameEvent,
    PatientTelecomEvent,
    SupersededNumberEvent,
)

# Per event model: what people call the row, the fields worth showing (label per field), and
# whether the values are hidden on a restricted (S-flagged) record from people not cleared to see them.
SOURCES = [
    (
        PatientEvent,
        "Record",
        {
            "nhs_number": "NHS number",
            "gender": "Gender",
            "birth_date": "Birth date",
            "place_of_birth": "Place of birth",
            "death_date": "Date of death",
            "death_status": "Death notification",
            "sensitive": "Restricted (S flag)",
        },
        False,
    ),
    (
        PatientNameEvent,
        "Name",
        {
            "use": "Use",
            "prefix": "Title",
            "given": "Given names",
            "family": "Family name",
            "start": "From",
            "end": "To",
        },
        False,
    ),
    (
        PatientAddressEvent,
        "Address",
        {
            "house": "Premises",
            "road": "Street",
            "locality": "Locality",
            "post_town": "Post town",
            "county": "County",
            "postcode": "Postcode",
            "start": "From",
            "end": "To",
        },
        True,
    ),
    (
        GPPeriodEvent,
        "Registered GP",
        {"practice_ods": "Practice", "start": "From", "end": "To", "removal_reason": "Removal reason"},
        True,
    ),
    (
        PatientTelecomEvent,
        "Contact",
        {"system": "System", "use": "Use", "value": "Value", "start": "From", "end": "To"},
        True,
    ),
    (SupersededNumberEvent, "Superseded NHS number", {"nhs_number": "NHS number"}, False),
]
HIDDEN = "Restricted"
NOT_RECORDED = "(not recorded)"
KINDS = {"insert": "added", "update": "changed", "delete": "removed"}


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class Change:
    subject: str  # "Name", "Address", …
    kind: str  # added, changed, removed
    fields: list[FieldChange] = field(default_factory=list)
    which: str = ""  # which row, for changes and removals: "JANE SMITH", "1 HIGH STREET, LS1 4AP"

    @property
    def summary(self) -> str:
        return f"{self.subject} {self.kind}" + (f": {self.which}" if self.which else "")


def _which(subject: str, event, hidden: bool) -> str:
    """Words that tell one name, address or registration from another on the same record."""
    if subject == "Name":
        return " ".join([*(event.given or []), event.family])
    if hidden:
        return ""
    if subject == "Address":
        return ", ".join(x for x in (event.house, event.road, event.postcode) if x)
    if subject == "Registered GP":
        return event.practice_ods
    if subject == "Contact":
        return f"{event.system} ({event.use})"
    return ""


@dataclass
class TimelineEntry:
    at: dt.datetime
    action: str
    by: str
    reason: str
    username: str = ""
    version: int | None = None
    changes: list[Change] = field(default_factory=list)

    @property
    def action_label(self) -> str:
        return self.action.replace("_", " ").capitalize() if self.action else "Change"

    @property
    def recorded(self) -> bool:
        """False for changes made outside the services (a bulk load, the admin): no who or why."""
        return bool(self.by)


def _show(field_name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if field_name == "gender":
        return Gender(value).label if value in Gender.values else str(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


# Complexity exemption (C901): one branch per kind of history entry, read as a table


def timeline(patient: Patient, *, show_restricted: bool = True) -> list[TimelineEntry]:  # noqa: C901
    """Every recorded change to `patient`, newest first."""
    hide = patient.sensitive and not show_restricted
    grouped: dict[Any, list[tuple[str, Change | None, int | None, dt.datetime, int]]] = defaultdict(list)
    for model, subject, labels, restricted in SOURCES:
        if model is PatientEvent:
            events = model.objects.filter(pgh_obj_id=patient.pk)
        else:
            events = model.objects.filter(patient_id=patient.pk)
        previous: dict[int, Any] = {}
        for event in events.order_by("pgh_id"):
            before = previous.get(event.pgh_obj_id)
            change = Change(subject, KINDS.get(event.pgh_label, event.pgh_label))
            if event.pgh_label != "insert" and model is not PatientEvent:
                change.which = _which(subject, before or event, restricted and hide)
            # An update with no earlier snapshot: the row predates its history (a bulk load), so the
            # before-values are unknown rather than empty.
            unknown_before = before is None and event.pgh_label == "update"
            for name, label in labels.items():
                new = _show(name, getattr(event, name))
                old = _show(name, getattr(before, name)) if before is not None else ""
                if unknown_before:
                    if not new:
                        continue
                    old = NOT_RECORDED
                if event.pgh_label == "delete":
                    new, old = "", new
                if new == old and event.pgh_label == "update":
                    continue
                if not new and not old:
                    continue
                if restricted and hide:
                    old = HIDDEN if old and old != NOT_RECORDED else old
                    new = HIDDEN if new else ""
                change.fields.append(FieldChange(label, old, new))
            previous[event.pgh_obj_id] = event
            version = event.version if model is PatientEvent else None
            if change.fields or event.pgh_label != "update" or version is not None:
                # A bare version bump shows no change of its own but dates the entry's new version.
                shown = change if (change.fields or event.pgh_label != "update") else None
                key = event.pgh_context_id or ("no-context", event.pgh_created_at)
                grouped[key].append((subject, shown, version, event.pgh_created_at, event.pgh_id))
    contexts = {c.id: c for c in Context.objects.filter(id__in=[k for k in grouped if not isinstance(k, tuple)])}
    entries = []
    for key, items in grouped.items():
        context = contexts.get(key)
        meta = context.metadata if context else {}
        versions = [v for _, _, v, _, _ in items if v is not None]
        entries.append(
            TimelineEntry(
                at=min(at for _, _, _, at, _ in items),
                action=meta.get("action", ""),
                by=meta.get("by", ""),
                reason=meta.get("reason", ""),
                username=meta.get("username", ""),
                version=max(versions) if versions else None,
                changes=[change for _, change, _, _, _ in sorted(items, key=lambda item: item[4]) if change],
            )
        )
    entries.sort(key=lambda e: (e.at, e.version or 0), reverse=True)
    return entries
