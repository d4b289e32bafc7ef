"""Reads for a team leader's overview (#16 items 1 and 8): what is escalated, who holds what, which cases
are past or near their SLA, and what has waited longest for anyone to pick it up.

Every figure comes from the open-case partial indexes (exceptions/models.py); the short lists read a
handful of rows in index order, so the page costs the same with a backlog of ten or of half a million.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from exceptions import sla
from exceptions.models import ExceptionCase
from exceptions.selectors import cases

# How many cases each short list shows; the queue view it links to has the rest.
SHORT_LIST = 5


@dataclass(frozen=True)
class PersonLoad:
    """One colleague who can work cases and the open cases they hold."""

    pk: int
    name: str
    held: int
    overdue: int
    due_soon: int


@dataclass(frozen=True)
class Overview:
    escalated: int
    unassigned: int
    overdue: int
    due_soon: int
    open: int
    escalated_oldest: list[ExceptionCase]
    overdue_worst: list[ExceptionCase]
    unassigned_oldest: list[ExceptionCase]
    people: list[PersonLoad]

    @property
    def holding_nothing(self) -> int:
        return sum(1 for person in self.people if not person.held)


def people(now: dt.datetime | None = None) -> list[PersonLoad]:
    """Everyone who can work cases, with what they hold now; those holding none are listed too."""
    now, soon = sla.sla_cutoffs(now)
    return [
        PersonLoad(
            pk=row["pk"],
            name=" ".join(filter(None, (row["first_name"], row["last_name"]))) or row["username"],
            held=row["held"],
            overdue=row["overdue"],
            due_soon=row["due_soon"],
        )
        for row in cases.workload(now, soon)
    ]


def _short(qs, *order: str) -> list[ExceptionCase]:
    return list(qs.select_related("assigned_to").defer("evidence", "rule_trace").order_by(*order)[:SHORT_LIST])


def overview(now: dt.datetime | None = None) -> Overview:
    """The team's open work in one read of counts plus three short lists and the per-person table."""
    now, soon = sla.sla_cutoffs(now)
    open_cases = cases.open_cases()
    counts = open_cases.aggregate(
        escalated=Count("id", filter=cases.ESCALATED_CASES),
        unassigned=Count("id", filter=Q(assigned_to__isnull=True)),
        overdue=Count("id", filter=Q(due_at__lt=now)),
        due_soon=Count("id", filter=Q(due_at__gte=now, due_at__lt=soon)),
        open=Count("id"),
    )
    return Overview(
        **counts,
        escalated_oldest=_short(open_cases.filter(cases.ESCALATED_CASES), "opened_at", "id"),
        overdue_worst=_short(open_cases.filter(due_at__lt=now), "due_at", "id"),
        unassigned_oldest=_short(open_cases.unassigned(), "opened_at", "id"),
        people=people(now),
    )
