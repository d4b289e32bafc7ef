"""The work queue table: one row per case, in the words and colours of exceptions.presenters.

Rows come already ordered and paged by a keyset read (exceptions.pagination), so the table only
renders them: sorting marks the header (aria-sort) and builds the links, but never re-sorts rows.
"""

import datetime as dt

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django_tables2.utils import OrderByTuple

from . import presenters, queue
from .models import OPEN_STATUSES, ExceptionCase

_NOWRAP = {"td": {"class": "pcrm-nowrap"}}  # static/pcrm/pcrm.css: NHS numbers and times stay on one line

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


def _row_id(record) -> str:
    return f"case-{record.pk}"


class CaseTable(KeysetTable):
    select = tables.TemplateColumn(
        template_name="exceptions/cells/select.html",
        verbose_name="Select",
        orderable=False,
        attrs={"th": {"class": "pcrm-select-column"}, "td": {"class": "pcrm-select-column"}},
    )
    nhs_number = tables.TemplateColumn(
        template_name="exceptions/cells/case_link.html", verbose_name="NHS number", attrs=_NOWRAP
    )
    kind = tables.TemplateColumn(template_name="components/kind_tag_cell.html", verbose_name="Kind")
    practice_ods = tables.Column(verbose_name="Practice", default="—")
    opened_at = tables.DateTimeColumn(verbose_name="Received", format="j M Y", attrs=_NOWRAP)
    age = tables.Column(verbose_name="Age", accessor="opened_at", orderable=False, attrs=_NOWRAP)
    sla = tables.TemplateColumn(
        template_name="exceptions/cells/sla.html",
        verbose_name="SLA",
        accessor="due_at",
        attrs=_NOWRAP,
        extra_context=lambda record, table: {"tag": table.sla_tag(record)},
    )
    assigned_to = tables.Column(verbose_name="Assignee", orderable=False, empty_values=())
    summary = tables.Column(orderable=False)

    class Meta:
        model = ExceptionCase
        fields = ()
        sequence = ("select", "nhs_number", "kind", "practice_ods", "opened_at", "age", "sla", "assigned_to", "summary")
        empty_text = "No cases match."
        row_attrs = {"id": _row_id, "data-case-url": lambda record: reverse("exceptions:case-detail", args=[record.pk])}

    def __init__(self, *args, now: dt.datetime | None = None, selectable: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        now = now or timezone.now()
        self.today = timezone.localtime(now).date()
        self.cutoffs = queue.sla_cutoffs(now)
        if not selectable:
            self.columns.hide("select")

    def render_assigned_to(self, value, record):
        if value is None:
            # In progress with nobody holding it: escalated for a team leader (exceptions.resolution.escalate).
            return "Escalated" if record.status == "IN_PROGRESS" else "Unassigned"
        return value.get_full_name() or value.get_username()

    def render_age(self, record):
        days = queue.working_days_since(timezone.localtime(record.opened_at).date(), self.today)
        return f"{days} day{'s' if days != 1 else ''}"

    def sla_tag(self, record):
        """The SLA tag for an open case; nothing for a closed one."""
        if record.status not in OPEN_STATUSES:
            return None
        return presenters.sla_tag(queue.sla_state(record.due_at, self.cutoffs))
