import django_tables2 as tables

from . import presenters
from .models import ExceptionCase

_NOWRAP = {"td": {"class": "pcrm-nowrap"}}  # static/pcrm/pcrm.css: NHS numbers and times stay on one line


class CaseTable(tables.Table):
    id = tables.Column(verbose_name="Case")
    kind = tables.TemplateColumn(template_name="components/kind_tag_cell.html", verbose_name="Kind")
    nhs_number = tables.Column(verbose_name="NHS number", default="—", attrs=_NOWRAP)
    practice_ods = tables.Column(verbose_name="Practice")
    summary = tables.Column(orderable=False)
    opened_at = tables.DateTimeColumn(verbose_name="Received", format="d M Y H:i", attrs=_NOWRAP)
    status = tables.TemplateColumn(template_name="components/case_status_tag_cell.html")
    assigned_to = tables.Column(verbose_name="Assignee", default="Unassigned")

    class Meta:
        model = ExceptionCase
        fields = ("id", "kind", "nhs_number", "practice_ods", "summary", "opened_at", "status", "assigned_to")
        order_by = ("opened_at",)
        empty_text = "No exception cases."

    def render_nhs_number(self, value):
        return presenters.nhs_number(value)
