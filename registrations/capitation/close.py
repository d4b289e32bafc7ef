"""Closing a quarter: once per quarter, an F8 to every linked practice and a snapshot to take.

A quarter closes when it is complete: not on its last day but after a grace period (ten working days
by default, as PCSE works), so acceptances and deductions dated inside it and processed in the first
days of the next still count for it, and the F8 goes out then.

Closing is one database transaction: the QuarterClose row (unique on the quarter end) and the F8
outbox items commit together, so a quarter is either closed with all its notifications queued or
not closed at all, and closing it again finds the row and does nothing new.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import QuarterClose
from ..services.outbound import outbound
from ..services.outbox import queue_transaction
from . import quarters
from .selectors import f8_links

SCHEDULER = "scheduler"


class QuarterNotClosable(ValueError):
    """The date is not the last day of a quarter, or that day is not over yet."""


@dataclass(frozen=True)
class CloseResult:
    quarter: QuarterClose
    created: bool


def grace_end(quarter_end: dt.date) -> dt.date:
    """The last day of the quarter's grace period: transactions dated inside the quarter and processed
    by then still count for it (CAPITATION_GRACE_WORKING_DAYS working days; PCSE works to about ten)."""
    holidays = frozenset(dt.date.fromisoformat(day) for day in settings.CAPITATION_BANK_HOLIDAYS)
    return quarters.working_days_after(quarter_end, settings.CAPITATION_GRACE_WORKING_DAYS, holidays)


def closable_quarter(today: dt.date) -> dt.date:
    """The latest quarter that can be closed today: ended, and its grace period over."""
    return quarters.last_closable_quarter(today, grace_end)


def check_closable(quarter_end: dt.date, *, today: dt.date) -> None:
    if not quarters.is_quarter_end(quarter_end):
        raise QuarterNotClosable(f"{quarter_end} is not the last day of a quarter")
    if quarter_end >= today:
        raise QuarterNotClosable(f"the {quarters.label(quarter_end)} has not ended yet")
    grace = grace_end(quarter_end)
    if grace >= today:
        raise QuarterNotClosable(
            f"the {quarters.label(quarter_end)} is in its grace period until {quarters.day_label(grace)}: "
            "transactions dated inside it still count for it"
        )


@transaction.atomic
def close_quarter(
    *,
    quarter_end: dt.date,
    by: str,
    today: dt.date | None = None,
    on_closed: Callable[[QuarterClose], None] | None = None,
) -> CloseResult:
    """Close the quarter: queue one F8 per linked practice and mark the snapshot as due.

    `on_closed` runs inside the transaction only when this call closed the quarter; the Celery
    layer uses it to start generation once the transaction commits.
    """
    today = today or timezone.localdate()
    check_closable(quarter_end, today=today)
    quarter, created = QuarterClose.objects.get_or_create(quarter_end=quarter_end, defaults={"closed_by": by})
    if not created:
        return CloseResult(quarter, created=False)
    links = f8_links(today).select_related("practice", "ha").order_by("ha__cipher", "practice__ods_code")
    count = 0
    for link in links:
        # F8 carries no patient and no GP: only the quarter end, which the relay puts in DTM+206.
        queue_transaction(link=link, send=outbound("F8", quarter_end=quarter_end))
        count += 1
    quarter.f8_count = count
    quarter.save(update_fields=["f8_count"])
    if on_closed:
        on_closed(quarter)
    return CloseResult(quarter, created=True)


def quarter_due_for_closing(today: dt.date, *, within_days: int) -> dt.date | None:
    """The quarter the scheduler should close today: the last one whose grace period is over, if that
    grace period ended recently.

    Checking every hour and closing whatever has just become closable (rather than firing once at
    midnight) means a scheduler that was down on the day still closes the quarter when it comes back;
    the window stops a new installation from closing quarters that were over before it existed.
    """
    quarter_end = closable_quarter(today)
    return quarter_end if (today - grace_end(quarter_end)).days <= within_days else None
