"""Calendar quarters, named by their last day: 31 March, 30 June, 30 September, 31 December."""

import calendar
import datetime as dt

QUARTER_END_MONTHS = (3, 6, 9, 12)


def quarter_end_of(day: dt.date) -> dt.date:
    """The last day of the quarter that `day` falls in."""
    month = QUARTER_END_MONTHS[(day.month - 1) // 3]
    return dt.date(day.year, month, calendar.monthrange(day.year, month)[1])


def is_quarter_end(day: dt.date) -> bool:
    return quarter_end_of(day) == day


def previous_quarter_end(quarter_end: dt.date) -> dt.date:
    """The end of the quarter before: the day before this quarter's first day."""
    return quarter_start(quarter_end) - dt.timedelta(days=1)


def quarter_start(quarter_end: dt.date) -> dt.date:
    return dt.date(quarter_end.year, quarter_end.month - 2, 1)


def last_ended_quarter(today: dt.date) -> dt.date:
    """The most recent quarter whose last day is over (strictly before `today`)."""
    return previous_quarter_end(quarter_end_of(today))


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day `years` earlier. Quarter ends are never 29 February, so this never needs adjusting;
    other days fall back to 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def day_label(day: dt.date) -> str:
    """The day as "31 March 2026"."""
    return f"{day.day} {day:%B %Y}"


def label(quarter_end: dt.date) -> str:
    """The quarter as "quarter ending 31 March 2026"."""
    return f"quarter ending {day_label(quarter_end)}"


def working_days_after(day: dt.date, count: int, holidays: frozenset[dt.date] = frozenset()) -> dt.date:
    """The `count`-th working day after `day` (Monday to Friday, not a holiday); `day` itself if 0."""
    current = day
    while count > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            count -= 1
    return current


def last_closable_quarter(today: dt.date, grace_end) -> dt.date:
    """The latest quarter whose grace period (`grace_end(quarter_end)`, its last day) is over by `today`."""
    quarter_end = last_ended_quarter(today)
    while grace_end(quarter_end) >= today:
        quarter_end = previous_quarter_end(quarter_end)
    return quarter_end
