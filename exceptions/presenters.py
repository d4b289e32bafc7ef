"""How exception cases look to the people who work them: words and tag colours, kept out of templates."""

import json

from core.presenters import Tag
from exceptions import kinds
from exceptions.models import CaseStatus
from exceptions.sla import SLA_LABELS
from registrations.ports import CaseKind

# Kinds are coloured by the kind of work they need, so a queue can be scanned by eye.
_PDS_MATCHING = "blue"  # who is this patient?
_RESTRICTED = "pink"  # handle with particular care
_DECISION = "purple"  # a practice asks for something a person must decide
_DATA = "yellow"  # the message or reference data is wrong
_TRANSPORT = "orange"  # the pipe, not the patient: interchanges, RECEPs, MESH

KIND_COLOURS: dict[CaseKind, str] = {
    CaseKind.NO_TRACE: _PDS_MATCHING,
    CaseKind.MULTIPLE_MATCHES: _PDS_MATCHING,
    CaseKind.DEMOGRAPHIC_MISMATCH: _PDS_MATCHING,
    CaseKind.SUPERSEDED_NUMBER: _PDS_MATCHING,
    CaseKind.LEGACY_NHS_NUMBER: _PDS_MATCHING,
    CaseKind.NHS_NUMBER_ALLOCATION: _PDS_MATCHING,
    CaseKind.ALREADY_REGISTERED: _PDS_MATCHING,
    CaseKind.DECEASED: _RESTRICTED,
    CaseKind.SENSITIVE: _RESTRICTED,
    CaseKind.FREE_TEXT: _DECISION,
    CaseKind.DEMOGRAPHIC_CHANGE: _DECISION,
    CaseKind.REMOVAL_REVIEW: _DECISION,
    CaseKind.DEDUCTION_REVIEW: _DECISION,
    CaseKind.FP69_RESPONSE: _DECISION,
    CaseKind.ACCEPTANCE_CHECK: _DECISION,
    CaseKind.CONFLICTING_REGISTRATION: _DECISION,
    CaseKind.UNKNOWN_GP: _DATA,
    CaseKind.INVALID_TRANSACTION: _DATA,
    CaseKind.INVALID_ADDRESS: _DATA,
    CaseKind.INVALID_INTERCHANGE: _TRANSPORT,
    CaseKind.SEQUENCE_GAP: _TRANSPORT,
    CaseKind.MISSING_RECEP: _TRANSPORT,
    CaseKind.MESH_REPORT: _TRANSPORT,
    CaseKind.DEAD_LETTER: _TRANSPORT,
    CaseKind.UNAUTHENTICATED_PARTNER: _DATA,
    CaseKind.REUSED_NUMBER: _DATA,
    CaseKind.QUARANTINED_MESSAGE: _TRANSPORT,
    CaseKind.UNKNOWN_WORKFLOW: _TRANSPORT,
    CaseKind.NEGATIVE_RECEP: _TRANSPORT,
    CaseKind.UNMATCHED_RECEP: _TRANSPORT,
    CaseKind.OUTBOUND_REFUSED: _DATA,
    CaseKind.WAITING_BEHIND: _TRANSPORT,
    CaseKind.MIGRATION_DIFFERENCE: _PDS_MATCHING,
}

CASE_STATUS_COLOURS: dict[str, str] = {
    CaseStatus.OPEN: "blue",
    CaseStatus.IN_PROGRESS: "yellow",
    CaseStatus.RESOLVED: "green",
    CaseStatus.REJECTED: "red",
    CaseStatus.CLOSED: "grey",
}


def kind_label(kind: str) -> str:
    """The words people use for a kind; a code no longer in the catalogue is shown as it is."""
    try:
        return kinds.info(kind).label
    except (KeyError, ValueError):
        return str(kind)


def kind_tag(kind: str) -> Tag:
    try:
        colour = KIND_COLOURS[CaseKind(kind)]
    except (KeyError, ValueError):
        colour = "grey"
    return Tag(kind_label(kind), colour)


def assignee(case) -> str:
    """Who holds a case, as the queue and the team overview show it."""
    user = case.assigned_to
    if user is None:
        # In progress with nobody holding it: escalated for a team leader (exceptions.services.resolution.escalate).
        return "Escalated" if case.status == CaseStatus.IN_PROGRESS else "Unassigned"
    return user.get_full_name() or user.get_username()


def case_status_tag(status: str) -> Tag:
    try:
        label = CaseStatus(status).label
    except ValueError:
        return Tag(str(status), "grey")
    return Tag(label, CASE_STATUS_COLOURS.get(status, "grey"))


# SLA states (exceptions.sla): red when late, orange when due by the end of the next working day.
SLA_COLOURS = {"overdue": "red", "due_soon": "orange", "on_time": "green"}


def sla_tag(state: str) -> Tag:
    return Tag(SLA_LABELS.get(state, str(state)), SLA_COLOURS.get(state, "grey"))


def queue_status_tag(status: str, *, escalated: bool = False) -> Tag:
    """A case's status in the queue: "Not started" rather than "Open" (every open case is open), and an
    escalated case (in progress, held by nobody) says so."""
    if escalated:
        return Tag("Escalated", "purple")
    if status == CaseStatus.OPEN:
        return Tag("Not started", CASE_STATUS_COLOURS[CaseStatus.OPEN])
    return case_status_tag(status)


def patient_name(surname: str | None, forenames) -> str:
    """The patient's name as the message gave it, in the NHS.UK order for lists: "STEVENS, Jane"."""
    if not surname:
        return ""
    if isinstance(forenames, str):
        try:
            forenames = json.loads(forenames)
        except ValueError:
            forenames = [forenames]
    given = " ".join(str(name).title() for name in forenames or [])
    return f"{surname.upper()}, {given}" if given else surname.upper()
