"""The work queue table: one row per case, in the words and colours of exceptions.presenters.

Rows come already ordered and paged by a keyset read (exceptions.selectors.pagination), so the table only
renders them: sorting marks the header (aria-sort) and builds the links, but never re-sorts rows.
"""

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django_tables2.utils import OrderByTuple

from core.presenters import Tag
from exceptions import presenters, sla
from exceptions.models import OPEN_STATUSES, ExceptionCase

# Sort aliases (the `sort` parameter) and the keyset order each one reads. Every order ends with the id,
# and each has a partial index over open cases (exceptions/models.py).
SORTS = {
    "sla": ("due_at", "id"),
    "opened_at": ("opened_at", "id"),
    "kind": ("kind", "id"),
    "practice_ods": ("practice_ods", "id"),
    "nhs_number": ("nhs_number", "id"),
}
DEFAULT_SORT = "sla"


class KeysetTable(tables.Table):
    """A table over rows that are already sorted: setting the order only marks the headers."""

    @property
    def order_by(self):
        return self._order_by

    @order_by.setter
    def order_by(self, value):
        value = (value.split(",") if isinstance(value, str) else value) or ()
        valid = [a for a in value if a.lstrip("-") in self.columns and self.columns[a.lstrip("-")].orderable]
        self._order_by = OrderByTuple(valid)


@dataclass(frozen=True)
class QueueRow:
    """One queue row, worked out once in Python; exceptions/case_table.html lays it out.

    The queue renders its rows itself rather than cell by cell through django-tables2 (a template
    per cell costs about 1 ms a row), so a page of 25 stays well inside its time budget.
    """

    pk: int
    url: str
    nhs_number: str  # as stored: the template's {% patient_link %} formats it and links the patient page
    name: str
    kind: Tag
    practice: str
    received: dt.datetime
    age: str
    due: dt.datetime | None
    sla: Tag | None
    status: Tag
    assignee: str
    summary: str


class CaseTable(KeysetTable):
    """Headers, sorting and the caption come from django-tables2; rows from `queue_rows`."""

    select = tables.Column(verbose_name="Select", orderable=False, attrs={"th": {"class": "pcrm-select-column"}})
    nhs_number = tables.Column(verbose_name="NHS number")
    name = tables.Column(verbose_name="Name", orderable=False)
    kind = tables.Column(verbose_name="Kind")
    practice_ods = tables.Column(verbose_name="Practice")
    opened_at = tables.Column(verbose_name="Received")
    sla = tables.Column(verbose_name="Due", accessor="due_at")
    status = tables.Column(verbose_name="Status", orderable=False)
    assigned_to = tables.Column(verbose_name="Assignee", orderable=False)
    summary = tables.Column(orderable=False)

    class Meta:
        model = ExceptionCase
        fields = ()
        sequence = (
            "select",
            "nhs_number",
            "name",
            "kind",
            "practice_ods",
            "opened_at",
            "sla",
            "status",
            "assigned_to",
            "summary",
        )
        empty_text = "No cases match."
        template_name = "exceptions/case_table.html"

    def __init__(self, data, *args, now: dt.datetime | None = None, selectable: bool = True, **kwargs):
        super().__init__(data, *args, **kwargs)
        now = now or timezone.now()
        self.today = timezone.localtime(now).date()
        self.cutoffs = sla.sla_cutoffs(now)
        self.selectable = selectable
        if not selectable:
            self.columns.hide("select")
        self.queue_rows = [self._row(record) for record in data]

    def _row(self, case: ExceptionCase) -> QueueRow:
        is_open = case.status in OPEN_STATUSES
        return QueueRow(
            pk=case.pk,
            url=f"{self._base_url}{case.pk}/",
            nhs_number=case.nhs_number or "",
            name=presenters.patient_name(
                getattr(case, "patient_surname", None), getattr(case, "patient_forenames", None)
            ),
            kind=presenters.kind_tag(case.kind),
            practice=case.practice_ods or "—",
            received=case.opened_at,
            age=self._age(case.opened_at),
            due=case.due_at if is_open else None,
            sla=presenters.sla_tag(sla.sla_state(case.due_at, self.cutoffs)) if is_open else None,
            status=presenters.queue_status_tag(
                case.status, escalated=is_open and case.assigned_to_id is None and case.status == "IN_PROGRESS"
            ),
            assignee=presenters.assignee(case),
            summary=case.summary,
        )

    @cached_property
    def _base_url(self) -> str:
        return reverse("exceptions:case-list")

    def _age(self, opened_at: dt.datetime) -> str:
        days = sla.working_days_since(timezone.localtime(opened_at).date(), self.today)
        return f"{days} day{'s' if days != 1 else ''}"
