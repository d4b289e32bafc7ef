"""Reads for the work queue: which open cases a person sees, how many, and who may act on a case."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from core.roles import Perm
from exceptions.models import OPEN_STATUSES, ExceptionCase

WORK = Perm.RESOLVE_CASE
ASSIGN = Perm.ASSIGN_CASE

MINE, UNASSIGNED, TEAM, ALL = "mine", "unassigned", "team", "all"
VIEWS = (MINE, UNASSIGNED, TEAM, ALL)
VIEW_LABELS = {MINE: "My work", UNASSIGNED: "Unassigned", TEAM: "Team", ALL: "All"}
DEFAULT_VIEW = UNASSIGNED


def open_cases() -> QuerySet:
    return ExceptionCase.objects.open()


def for_view(qs: QuerySet, view: str, user) -> QuerySet:
    """`qs` (an ExceptionCase queryset) narrowed to one of the queue's views."""
    if view == MINE:
        return qs.assigned_to(user)
    if view == UNASSIGNED:
        return qs.unassigned()
    if view == TEAM:
        return qs.assigned()
    return qs


def view_counts(user) -> dict[str, int]:
    """Open cases in each view, counted in one pass over the open-case index."""
    counts = open_cases().aggregate(
        mine=Count("id", filter=Q(assigned_to=user)),
        unassigned=Count("id", filter=Q(assigned_to__isnull=True)),
        team=Count("id", filter=Q(assigned_to__isnull=False)),
        all=Count("id"),
    )
    return {view: counts[view] for view in VIEWS}


COUNT_LIMIT = 2_000


def bounded_count(qs: QuerySet, limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    """How many rows match, counting no further than `limit`: (count, True) when there are more.

    Counting a whole filtered backlog costs as much as reading it (a combination of filters has no
    index of its own, so every match is a heap visit); people need "about how many", and beyond two
    thousand the exact figure changes nothing they do. The views' own totals are exact.
    """
    n = qs.order_by()[: limit + 1].count()
    return min(n, limit), n > limit


def assignable_users() -> QuerySet:
    """Active people who may work cases: the colleagues a team leader can assign to."""
    via_group = Q(
        groups__permissions__codename="resolve_case", groups__permissions__content_type__app_label="exceptions"
    )
    direct = Q(user_permissions__codename="resolve_case", user_permissions__content_type__app_label="exceptions")
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(via_group | direct | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def can_act_on(user, case: ExceptionCase) -> bool:
    """Resolution actions are for the person holding the case, so two people never decide one case."""
    return user.has_perm(WORK) and case.status in OPEN_STATUSES and case.assigned_to_id == user.pk


def can_release(user, case: ExceptionCase) -> bool:
    return (
        case.status in OPEN_STATUSES
        and case.assigned_to_id is not None
        and (case.assigned_to_id == user.pk or user.has_perm(ASSIGN))
    )
