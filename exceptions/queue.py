"""The work queue: which open cases a person sees, how late they are, and the moves that hand a case to
exactly one person — take next, claim, release, assign — each an atomic write with a CaseEvent and an
audit event in the same database transaction.

Never the same case to two people: "take next" locks the row it hands out with
`SELECT … FOR UPDATE SKIP LOCKED`, so concurrent callers each get a different case, and every other
move locks the case row and re-reads who holds it before changing anything.
"""

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from core.roles import Perm

from . import audit
from .models import OPEN_STATUSES, CaseEvent, CaseStatus, ExceptionCase
from .working_days import _bank_holidays, add_working_days

WORK = Perm.RESOLVE_CASE
ASSIGN = Perm.ASSIGN_CASE

MINE, UNASSIGNED, TEAM, ALL = "mine", "unassigned", "team", "all"
VIEWS = (MINE, UNASSIGNED, TEAM, ALL)
VIEW_LABELS = {MINE: "My work", UNASSIGNED: "Unassigned", TEAM: "Team", ALL: "All"}
DEFAULT_VIEW = UNASSIGNED

# Take next hands out the most urgent first (earliest SLA deadline), then the oldest.
URGENCY_ORDER = ("due_at", "opened_at", "id")

OVERDUE, DUE_SOON, ON_TIME = "overdue", "due_soon", "on_time"
SLA_STATES = (OVERDUE, DUE_SOON, ON_TIME)
SLA_LABELS = {OVERDUE: "Overdue", DUE_SOON: "Due soon", ON_TIME: "On time"}


class QueueError(Exception):
    """A move that cannot be made now; the message is written for the person who tried it."""


class NotAllowed(QueueError):
    pass


class AlreadyAssigned(QueueError):
    pass


class CaseClosed(QueueError):
    pass


# --- reads -------------------------------------------------------------------------------------------


def open_cases() -> QuerySet:
    return ExceptionCase.objects.open()


def for_view(qs: QuerySet, view: str, user) -> QuerySet:
    if view == MINE:
        return qs.filter(assigned_to=user)
    if view == UNASSIGNED:
        return qs.filter(assigned_to__isnull=True)
    if view == TEAM:
        return qs.filter(assigned_to__isnull=False)
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


def sla_cutoffs(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """(now, soon): a case is overdue when due before `now`, due soon when due before `soon` — the end
    of the next working day — and on time after that."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    next_working_day = add_working_days(today, 1)
    soon = timezone.make_aware(dt.datetime.combine(next_working_day + dt.timedelta(days=1), dt.time.min))
    return now, soon


def sla_state(due_at: dt.datetime, cutoffs: tuple[dt.datetime, dt.datetime]) -> str:
    now, soon = cutoffs
    if due_at < now:
        return OVERDUE
    if due_at < soon:
        return DUE_SOON
    return ON_TIME


def filter_sla(qs: QuerySet, state: str, cutoffs: tuple[dt.datetime, dt.datetime] | None = None) -> QuerySet:
    now, soon = cutoffs or sla_cutoffs()
    if state == OVERDUE:
        return qs.filter(due_at__lt=now)
    if state == DUE_SOON:
        return qs.filter(due_at__gte=now, due_at__lt=soon)
    if state == ON_TIME:
        return qs.filter(due_at__gte=soon)
    return qs


@lru_cache(maxsize=64)
def _weekday_holidays(year: int) -> tuple[dt.date, ...]:
    return tuple(sorted(day for day in _bank_holidays(year) if day.weekday() < 5))


def _weekdays_after(start: dt.date, end: dt.date) -> int:
    days = (end - start).days
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    first = start.weekday()
    count += sum(1 for i in range(1, rest + 1) if (first + i) % 7 < 5)
    return count


def working_days_since(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` in England and Wales, in constant time per
    year spanned (the same answer as working_days.working_days_between, which walks day by day)."""
    if end <= start:
        return 0
    holidays = 0
    for year in range(start.year, end.year + 1):
        days = _weekday_holidays(year)
        holidays += bisect.bisect_right(days, end) - bisect.bisect_right(days, start)
    return _weekdays_after(start, end) - holidays


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


# --- writes ------------------------------------------------------------------------------------------


def _require(user, perm: str, what: str) -> None:
    if not user.has_perm(perm):
        raise NotAllowed(f"You are not allowed to {what}.")


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _event(case: ExceptionCase, by, action: str, *, note: str = "", detail: dict | None = None) -> CaseEvent:
    return CaseEvent.objects.create(case=case, user=by, action=action, note=note, detail=detail or {})


def _lock(case_id: int) -> ExceptionCase:
    try:
        return ExceptionCase.objects.select_for_update().defer("evidence", "rule_trace").get(pk=case_id)
    except ExceptionCase.DoesNotExist:
        raise QueueError(f"Case {case_id} does not exist.") from None


def _hand_to(case: ExceptionCase, user) -> None:
    case.assigned_to = user
    case.status = CaseStatus.IN_PROGRESS if user is not None else CaseStatus.OPEN
    case.save(update_fields=["assigned_to", "status"])


def take_next(*, by) -> ExceptionCase | None:
    """Claim the most urgent unassigned open case for `by`, or None when there is nothing to take.

    Rows another transaction has locked are skipped, not waited for, so twenty people pressing
    "Take next" at once get twenty different cases and nobody waits on anybody.
    """
    _require(by, WORK, "work cases")
    # An escalated case stays in progress with nobody holding it, for a team leader to pick up; agents
    # take only cases nobody has started.
    statuses = OPEN_STATUSES if by.has_perm(ASSIGN) else (CaseStatus.OPEN,)
    with transaction.atomic():
        case = (
            ExceptionCase.objects.select_for_update(skip_locked=True)
            .defer("evidence", "rule_trace")
            .filter(status__in=statuses, assigned_to__isnull=True)
            .order_by(*URGENCY_ORDER)
            .first()
        )
        if case is None:
            return None
        _hand_to(case, by)
        _event(case, by, "claimed", detail={"via": "take next"})
        audit.record(by, "take_next", case=case)
    return case


@transaction.atomic
def claim(case_id: int, *, by) -> ExceptionCase:
    _require(by, WORK, "work cases")
    case = _lock(case_id)
    if case.status not in OPEN_STATUSES:
        raise CaseClosed(f"Case {case.pk} is already {case.get_status_display().lower()}.")
    if case.assigned_to_id == by.pk:
        return case
    if case.assigned_to_id is not None:
        raise AlreadyAssigned(f"Case {case.pk} is already assigned to {_name(case.assigned_to)}.")
    _hand_to(case, by)
    _event(case, by, "claimed")
    audit.record(by, "claim_case", case=case)
    return case


@transaction.atomic
def release(case_id: int, *, by, note: str = "") -> ExceptionCase:
    case = _lock(case_id)
    if case.status not in OPEN_STATUSES:
        raise CaseClosed(f"Case {case.pk} is already {case.get_status_display().lower()}.")
    if case.assigned_to_id is None:
        return case
    if case.assigned_to_id != by.pk and not by.has_perm(ASSIGN):
        holder = _name(case.assigned_to)
        raise NotAllowed(f"Case {case.pk} is assigned to {holder}; only they or a team leader can release it.")
    previous = case.assigned_to
    _hand_to(case, None)
    _event(case, by, "released", note=note, detail={"from": previous.get_username()})
    audit.record(by, "release_case", case=case, detail={"from": previous.get_username()})
    return case


@transaction.atomic
def assign(case_id: int, *, to, by, note: str = "") -> ExceptionCase:
    """Give a case to a colleague (team leaders), or to oneself; reassigning from someone else is a leader's call."""
    if to.pk == by.pk and not by.has_perm(ASSIGN):
        return claim(case_id, by=by)
    _require(by, ASSIGN, "assign cases to colleagues")
    if not (to.is_active and to.has_perm(WORK)):
        raise NotAllowed(f"{_name(to)} cannot work cases.")
    case = _lock(case_id)
    if case.status not in OPEN_STATUSES:
        raise CaseClosed(f"Case {case.pk} is already {case.get_status_display().lower()}.")
    if case.assigned_to_id == to.pk:
        return case
    previous = case.assigned_to.get_username() if case.assigned_to_id else None
    _hand_to(case, to)
    detail = {"to": to.get_username(), "from": previous}
    _event(case, by, "assigned", note=note, detail=detail)
    audit.record(by, "assign_case", case=case, detail=detail)
    return case


@transaction.atomic
def add_note(case_id: int, *, by, note: str) -> CaseEvent:
    _require(by, WORK, "add notes to cases")
    note = note.strip()
    if not note:
        raise QueueError("Enter a note.")
    case = ExceptionCase.objects.defer("evidence", "rule_trace").get(pk=case_id)
    event = _event(case, by, "note", note=note)
    audit.record(by, "add_note", case=case)
    return event


# --- several cases at once: assign, claim, release and reprocess only (never a merge or a rejection) --


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _each(case_ids: Iterable[int], move) -> BulkResult:
    result = BulkResult()
    for case_id in sorted(set(case_ids)):
        try:
            move(case_id)
        except QueueError as exc:
            result.skipped.append((case_id, str(exc)))
        else:
            result.done.append(case_id)
    return result


def bulk_assign(case_ids: Iterable[int], *, to, by) -> BulkResult:
    _require(by, ASSIGN, "assign cases to colleagues")
    return _each(case_ids, lambda case_id: assign(case_id, to=to, by=by))


def bulk_claim(case_ids: Iterable[int], *, by) -> BulkResult:
    _require(by, WORK, "work cases")
    return _each(case_ids, lambda case_id: claim(case_id, by=by))


def bulk_release(case_ids: Iterable[int], *, by) -> BulkResult:
    return _each(case_ids, lambda case_id: release(case_id, by=by))


def _resolution():
    import importlib

    return importlib.import_module("exceptions.resolution")


def bulk_reprocess(case_ids: Iterable[int], *, by, reason_code: str, note: str = "") -> BulkResult:
    """Reprocess each case through exceptions.resolution.reprocess (after reference data or PDS was fixed).

    Only cases that are unassigned or the user's own: a case someone else holds is theirs to decide.
    """
    _require(by, WORK, "work cases")
    resolution = _resolution()

    def move(case_id: int) -> None:
        case = ExceptionCase.objects.filter(pk=case_id).first()
        if case is None:
            raise QueueError(f"Case {case_id} does not exist.")
        if case.assigned_to_id not in (None, by.pk):
            raise AlreadyAssigned(f"Case {case.pk} is assigned to {_name(case.assigned_to)}.")
        if "reprocess" not in resolution.available_actions(case):
            raise NotAllowed(f"Case {case.pk} cannot be reprocessed.")
        try:
            resolution.reprocess(case, by=by, reason_code=reason_code, note=note)
        except resolution.ResolutionError as exc:
            raise QueueError(str(exc)) from exc

    return _each(case_ids, move)
