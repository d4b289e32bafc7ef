import django_tables2 as tables

from .models import ExceptionCase


class CaseTable(tables.Table):
    id = tables.Column(verbose_name="Case")
    kind = tables.TemplateColumn(template_name="components/kind_tag_cell.html", verbose_name="Kind")
    nhs_number = tables.TemplateColumn("{{ value|default:'—' }}", verbose_name="NHS number")
    practice_ods = tables.Column(verbose_name="Practice")
    summary = tables.Column(orderable=False)
    opened_at = tables.DateTimeColumn(verbose_name="Received", format="d M Y H:i")
    status = tables.Column()
    assigned_to = tables.Column(verbose_name="Assignee", default="Unassigned")

    class Meta:
        model = ExceptionCase
        fields = ("id", "kind", "nhs_number", "practice_ods", "summary", "opened_at", "status", "assigned_to")
        order_by = ("opened_at",)
        empty_text = "No exception cases."
