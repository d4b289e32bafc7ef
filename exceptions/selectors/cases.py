"""Reads for the work queue: which open cases a person sees, how many, and who may act on a case."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform

from core.roles import Perm
from exceptions.models import OPEN_STATUSES, CaseStatus, ExceptionCase, SavedFilter

WORK = Perm.RESOLVE_CASE
ASSIGN = Perm.ASSIGN_CASE

MINE, UNASSIGNED, TEAM, ESCALATED, ALL = "mine", "unassigned", "team", "escalated", "all"
VIEWS = (MINE, UNASSIGNED, TEAM, ESCALATED, ALL)
VIEW_LABELS = {MINE: "My work", UNASSIGNED: "Unassigned", TEAM: "Team", ESCALATED: "Escalated", ALL: "All"}
DEFAULT_VIEW = UNASSIGNED
# Escalated cases wait for a team leader (exceptions.services.resolution.escalate): only leaders get the view.
LEADER_VIEWS = frozenset({ESCALATED})

# An escalated case is one still in progress that nobody holds: passed up for a team leader to pick up.
ESCALATED_CASES = Q(status=CaseStatus.IN_PROGRESS, assigned_to__isnull=True)


def views_for(user) -> tuple[str, ...]:
    return tuple(v for v in VIEWS if v not in LEADER_VIEWS or user.has_perm(ASSIGN))


def open_cases() -> QuerySet:
    return ExceptionCase.objects.open()


def all_cases() -> QuerySet:
    """Every case, for a filter to narrow (the queue's search, "take the next case")."""
    return ExceptionCase.objects.all()


def queue_rows() -> QuerySet:
    """Cases as the queue lists them: with who holds each, without the evidence and trace it never shows."""
    return ExceptionCase.objects.select_related("assigned_to").defer("evidence", "rule_trace")


def cases_for_page() -> QuerySet:
    """Cases as the case page shows one: with its holder, who closed it, its transaction and interchange."""
    return ExceptionCase.objects.select_related("assigned_to", "closed_by", "transaction", "interchange")


def for_view(qs: QuerySet, view: str, user) -> QuerySet:
    """`qs` (an ExceptionCase queryset) narrowed to one of the queue's views."""
    if view == MINE:
        return qs.assigned_to(user)
    if view == UNASSIGNED:
        return qs.unassigned()
    if view == TEAM:
        return qs.assigned()
    if view == ESCALATED:
        return qs.filter(ESCALATED_CASES)
    return qs


def view_counts(user) -> dict[str, int]:
    """Open cases in each view, counted in one pass over the open-case index."""
    counts = open_cases().aggregate(
        mine=Count("id", filter=Q(assigned_to=user)),
        unassigned=Count("id", filter=Q(assigned_to__isnull=True)),
        team=Count("id", filter=Q(assigned_to__isnull=False)),
        escalated=Count("id", filter=ESCALATED_CASES),
        all=Count("id"),
    )
    return {view: counts[view] for view in VIEWS}


def with_names(qs: QuerySet) -> QuerySet:
    """Each case with the patient's name as the message gave it (surname, forenames), for the queue's Name column.

    Read from the case's transaction; a case with no transaction (an interchange or MESH failure) has none.
    """
    return qs.annotate(
        patient_surname=KeyTextTransform("surname", "transaction__data"),
        patient_forenames=KeyTextTransform("forenames", "transaction__data"),
    )


def named(qs: QuerySet, surname: str, forename: str = "") -> QuerySet:
    """Cases whose message names this patient: the surname in full, a forename by its start (any case)."""
    qs = qs.filter(transaction__data__surname__iexact=surname)
    if forename:
        # Forenames are a JSON list; the first is the one people say, and they type its start.
        qs = qs.filter(transaction__data__forenames__0__istartswith=forename)
    return qs


def workload(now: dt.datetime, soon: dt.datetime) -> list[dict]:
    """Open cases per person who can work them: held, overdue and due soon; people holding none included."""
    open_case = Q(cases__status__in=OPEN_STATUSES)
    return list(
        assignable_users()
        .annotate(
            held=Count("cases", filter=open_case, distinct=True),
            overdue=Count("cases", filter=open_case & Q(cases__due_at__lt=now), distinct=True),
            due_soon=Count(
                "cases", filter=open_case & Q(cases__due_at__gte=now, cases__due_at__lt=soon), distinct=True
            ),
        )
        .values("pk", "username", "first_name", "last_name", "held", "overdue", "due_soon")
    )


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


def saved_filters(user) -> QuerySet:
    """The person's own saved views of the queue, by name."""
    return SavedFilter.objects.filter(user=user)
