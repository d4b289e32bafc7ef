"""Reads for the dashboard: the backlog by kind and SLA state, cases opened and closed per day, how much
processing decides on its own, and whether the pipeline is healthy.

Each figure is one aggregate query over indexed columns; nothing here writes.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from exceptions import presenters, sla
from exceptions.models import ExceptionCase
from exceptions.selectors import cases
from registrations.models import Direction, Interchange, Transaction, TxStatus

DECIDED = (TxStatus.DONE, TxStatus.MANUAL, TxStatus.REJECTED, TxStatus.DEAD, TxStatus.INVALID)


@dataclass(frozen=True)
class KindRow:
    kind: str
    label: str
    overdue: int
    due_soon: int
    on_time: int

    @property
    def total(self) -> int:
        return self.overdue + self.due_soon + self.on_time


def backlog(now: dt.datetime | None = None) -> list[KindRow]:
    """Open cases per kind, split by SLA state, the kinds with the most overdue first."""
    now, soon = sla.sla_cutoffs(now)
    rows = (
        cases.open_cases()
        .values("kind")
        .annotate(
            overdue=Count("id", filter=Q(due_at__lt=now)),
            due_soon=Count("id", filter=Q(due_at__gte=now, due_at__lt=soon)),
            on_time=Count("id", filter=Q(due_at__gte=soon)),
        )
    )
    result = [
        KindRow(r["kind"], presenters.kind_label(r["kind"]), r["overdue"], r["due_soon"], r["on_time"]) for r in rows
    ]
    return sorted(result, key=lambda r: (-r.overdue, -r.total, r.label))


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    opened: int
    closed: int


def per_day(days: int = 14, now: dt.datetime | None = None) -> list[DayRow]:
    """Cases opened and closed (resolved, rejected or closed) on each of the last `days` days, in London time."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    first = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    tz = timezone.get_current_timezone()
    opened = dict(
        ExceptionCase.objects.filter(opened_at__gte=start)
        .annotate(day=TruncDate("opened_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    closed = dict(
        ExceptionCase.objects.filter(closed_at__gte=start)
        .annotate(day=TruncDate("closed_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        DayRow(day, opened.get(day, 0), closed.get(day, 0))
        for day in (first + dt.timedelta(days=i) for i in range(days))
    ]


@dataclass(frozen=True)
class AutoRate:
    decided: int
    automatic: int
    by_type: list[tuple[str, int, int]]  # (transaction type, decided, automatic)

    @property
    def percent(self) -> float | None:
        return round(100 * self.automatic / self.decided, 1) if self.decided else None


def auto_processing(days: int = 30, now: dt.datetime | None = None) -> AutoRate:
    """Of the inbound transactions decided in the last `days` days, how many needed no person: decided
    (processed, rejected, dead or invalid) without ever opening a case."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    has_case = Exists(ExceptionCase.objects.filter(transaction=OuterRef("pk")))
    rows = (
        Transaction.objects.filter(received_at__gte=since, status__in=DECIDED, is_duplicate=False)
        .annotate(has_case=has_case)
        .values("type")
        .annotate(decided=Count("id"), automatic=Count("id", filter=Q(has_case=False)))
        .order_by("type")
    )
    by_type = [(r["type"], r["decided"], r["automatic"]) for r in rows]
    return AutoRate(sum(r[1] for r in by_type), sum(r[2] for r in by_type), by_type)


@dataclass(frozen=True)
class Health:
    last_poll: dt.datetime | None
    waiting: int
    dead_letters: int
    missing_recep_links: int


def pipeline_health() -> Health:
    """The last MESH poll that brought something in, work waiting, dead letters, partners owing RECEPs."""
    last = Interchange.objects.filter(direction=Direction.INBOUND).aggregate(last=Max("received_at"))["last"]
    missing = (
        Interchange.objects.filter(
            direction=Direction.OUTBOUND, recep_overdue_at__isnull=False, recep_at__isnull=True, link__isnull=False
        )
        .values("link")
        .distinct()
        .count()
    )
    return Health(
        last_poll=last,
        waiting=Transaction.objects.waiting().count(),
        dead_letters=Transaction.objects.filter(status=TxStatus.DEAD).count(),
        missing_recep_links=missing,
    )
