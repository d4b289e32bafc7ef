"""How exception cases look to the people who work them: words and tag colours, kept out of templates."""

from dataclasses import dataclass

from django.urls import reverse

from pds.nhs_number import format_nhs_number
from registrations.ports import CaseKind
from registrations.presenters import Tag

from . import kinds
from .models import CaseStatus

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


def case_status_tag(status: str) -> Tag:
    try:
        label = CaseStatus(status).label
    except ValueError:
        return Tag(str(status), "grey")
    return Tag(label, CASE_STATUS_COLOURS.get(status, "grey"))


def nhs_number(value: str | None) -> str:
    """3-3-4 for display; anything that is not a 10-digit number is shown unchanged."""
    return format_nhs_number(value) if value else ""


@dataclass(frozen=True)
class NavItem:
    text: str
    href: str
    current: bool = False


# Pages of the exceptions app that have their own header link; every other page there is the work queue's.
_OWN_LINK = {"dashboard": "exceptions:dashboard", "audit": "exceptions:audit"}


def primary_navigation(user, namespace: str | None, url_name: str | None = None) -> list[NavItem]:
    """The header's links for this user: only the areas their role can open, the current one marked."""
    if not user.is_authenticated:
        return []
    here = namespace
    if namespace == "exceptions":
        here = _OWN_LINK.get(url_name or "", "exceptions")
    items: list[tuple[str, str, str]] = []
    if user.has_perm("exceptions.view_queue"):
        items.append(("Work queue", reverse("exceptions:case-list"), "exceptions"))
        items.append(("Dashboard", reverse("exceptions:dashboard"), "exceptions:dashboard"))
    if user.has_perm("registrations.view_pipeline"):
        items.append(("Interchanges", reverse("registrations:interchange-list"), "registrations"))
    if user.has_perm("exceptions.view_audit"):
        items.append(("Audit", reverse("exceptions:audit"), "exceptions:audit"))
    if user.has_perm("registrations.view_capitation"):
        items.append(("Capitation", reverse("registrations:capitation:quarter-list"), "registrations:capitation"))
    if user.is_staff:
        items.append(("Admin", reverse("admin:index"), "admin"))
    return [NavItem(text, href, current=(area == here)) for text, href, area in items]


@dataclass(frozen=True)
class Banner:
    """How a django.contrib.messages message is shown: as an NHS.UK notification banner."""

    title: str
    success: bool = False

    @property
    def role(self) -> str:
        # Success banners interrupt (alert); others are a landmark people can navigate to (region).
        return "alert" if self.success else "region"


def message_banner(level_tag: str) -> Banner:
    if level_tag == "success":
        return Banner("Success", success=True)
    return Banner("Important")


# SLA states (exceptions.queue): red when late, orange when due by the end of the next working day.
SLA_COLOURS = {"overdue": "red", "due_soon": "orange", "on_time": "green"}


def sla_tag(state: str) -> Tag:
    from .queue import SLA_LABELS

    return Tag(SLA_LABELS.get(state, str(state)), SLA_COLOURS.get(state, "grey"))
