"""The SLA clock of a case: when it is due (working days per kind), and how late it is now.

Working days are England and Wales working days (bank holidays excluded: sla.working_days).
"""

import bisect
import datetime as dt
from functools import lru_cache

from django.db.models import QuerySet
from django.utils import timezone

from exceptions.kinds import info

from .working_days import _bank_holidays, add_working_days

OVERDUE, DUE_SOON, ON_TIME = "overdue", "due_soon", "on_time"
SLA_STATES = (OVERDUE, DUE_SOON, ON_TIME)
SLA_LABELS = {OVERDUE: "Overdue", DUE_SOON: "Due soon", ON_TIME: "On time"}


def due_at_for(kind: str, opened: dt.datetime) -> dt.datetime:
    """5pm on the day the kind's SLA (working days) runs out."""
    local = timezone.localtime(opened)
    due_day = add_working_days(local.date(), info(kind).sla_working_days)
    return local.replace(
        year=due_day.year, month=due_day.month, day=due_day.day, hour=17, minute=0, second=0, microsecond=0
    )


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
    year spanned (the tests check it against a count that walks day by day, tests/support.py)."""
    if end <= start:
        return 0
    holidays = 0
    for year in range(start.year, end.year + 1):
        days = _weekday_holidays(year)
        holidays += bisect.bisect_right(days, end) - bisect.bisect_right(days, start)
    return _weekdays_after(start, end) - holidays
