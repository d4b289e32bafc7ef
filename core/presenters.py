"""Presenters every app shares: the NHS.UK tag, the header's navigation, message banners, NHS numbers.

Apps build their own tags (a case kind, an interchange status) from the one `Tag` here, so every tag
on the site is checked against the same list of NHS.UK colours.
"""

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from .nhs_number import format_nhs_number
from .roles import Perm

# The colours an NHS.UK tag can take (nhsuk-frontend 10: components/tag). None means the default tag.
TAG_COLOURS = frozenset({"white", "grey", "green", "aqua-green", "blue", "purple", "pink", "red", "orange", "yellow"})


@dataclass(frozen=True)
class Tag:
    """What an NHS.UK tag shows: its words and an optional colour modifier."""

    text: str
    colour: str | None = None

    def __post_init__(self) -> None:
        if self.colour is not None and self.colour not in TAG_COLOURS:
            raise ValueError(f"{self.colour!r} is not an NHS.UK tag colour")


def nhs_number(value: str | None) -> str:
    """3-3-4 for display; anything that is not a 10-digit number is shown unchanged."""
    return format_nhs_number(value) if value else ""


# --- dates and times: one NHS.UK format everywhere (service manual, content style guide: numbers) -------


def nhs_date(value: dt.date | dt.datetime | None) -> str:
    """ "2 December 2026": day without a leading zero, the month in full, four-digit year (UK local date)."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{value.day} {value:%B %Y}"


def nhs_time(value: dt.datetime | dt.time) -> str:
    """ "9am", "2:30pm", "midday", "midnight": the 12-hour clock, as NHS.UK writes times."""
    if isinstance(value, dt.datetime):
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).time()
    if (value.hour, value.minute) == (0, 0):
        return "midnight"
    if (value.hour, value.minute) == (12, 0):
        return "midday"
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}{suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d}{suffix}"


def nhs_datetime(value: dt.datetime | None) -> str:
    """ "2 December 2026 at 9:30am" (UK local time)."""
    if value is None or value == "":
        return ""
    return f"{nhs_date(value)} at {nhs_time(value)}"


@dataclass(frozen=True)
class NavItem:
    text: str
    href: str
    current: bool = False


# Pages of the exceptions app that have their own header link; every other page there is the work queue's.
# Work per person is part of the team overview; Your settings is in the account area, so no menu item is current.
_OWN_LINK = {
    "dashboard": "exceptions:dashboard",
    "audit": "exceptions:audit",
    "team": "exceptions:team",
    "workload": "exceptions:team",
    "settings": "account",
}


def primary_navigation(user, namespace: str | None, url_name: str | None = None) -> list[NavItem]:
    """The header's links for this user: only the areas their role can open, the current one marked."""
    if not user.is_authenticated:
        return []
    here = namespace
    if namespace == "exceptions":
        here = _OWN_LINK.get(url_name or "", "exceptions")
    items: list[tuple[str, str, str]] = []
    if user.has_perm(Perm.ASSIGN_CASE):  # #16 items 1, 8: a team leader's home
        items.append(("Team overview", reverse("exceptions:team"), "exceptions:team"))
    if user.has_perm(Perm.VIEW_QUEUE):
        items.append(("Work queue", reverse("exceptions:case-list"), "exceptions"))
        items.append(("Dashboard", reverse("exceptions:dashboard"), "exceptions:dashboard"))
    if user.has_perm(Perm.VIEW_PATIENT_RECORD):  # #16 item 2 (ux-case): patient lookup reachable
        items.append(("Find a patient", reverse("pds:patient-search"), "pds"))
    if user.has_perm(Perm.VIEW_PIPELINE):
        items.append(("Interchanges", reverse("registrations:interchange-list"), "registrations"))
    if user.has_perm(Perm.VIEW_AUDIT):
        items.append(("Audit", reverse("exceptions:audit"), "exceptions:audit"))
    if user.has_perm(Perm.VIEW_CAPITATION):
        items.append(("Capitation", reverse("registrations:capitation:quarter-list"), "registrations:capitation"))
    if user.has_perm(Perm.VIEW_MIGRATION_READINESS):
        items.append(("Migration", reverse("migration:ha-list"), "migration"))
    if user.is_staff:
        items.append(("Admin", reverse("admin:index"), "admin"))
    return [NavItem(text, href, current=(area == here)) for text, href, area in items]


def account_links(user, view_name: str | None = None) -> list[NavItem]:
    """The header's account area links: a person who works the queue has their own settings (#16 item 9)."""
    if not user.is_authenticated or not user.has_perm(Perm.VIEW_QUEUE):
        return []
    return [NavItem("Your settings", reverse("exceptions:settings"), current=view_name == "exceptions:settings")]


def landing(user) -> "NavItem | None":
    """Where a role lands after signing in (and where error pages send it back to): its first area of work.

    Team leaders land on their team's overview; the rest of the back office (agents, and administrators,
    who can do what a leader does but whose day is reference data and the queue) works the queue; PCSE
    viewers read capitation; a staff account with neither manages reference data. None: the role opens
    no area of PCRM.
    """
    if not user.is_authenticated:
        return None
    if user.has_perm(Perm.ASSIGN_CASE) and not user.is_staff:
        return NavItem("Go to your team overview", reverse("exceptions:team"))
    if user.has_perm(Perm.VIEW_QUEUE):
        return NavItem("Go to the work queue", reverse("exceptions:case-list"))
    if user.has_perm(Perm.VIEW_CAPITATION):
        return NavItem("Go to capitation", reverse("registrations:capitation:quarter-list"))
    if user.has_perm(Perm.VIEW_PIPELINE):
        return NavItem("Go to interchanges", reverse("registrations:interchange-list"))
    if user.is_staff:
        return NavItem("Go to the admin site", reverse("admin:index"))
    return None


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
