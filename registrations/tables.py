import django_tables2 as tables

from .models import Interchange

_NOWRAP = {"td": {"class": "pcrm-nowrap"}}  # static/pcrm/pcrm.css: times stay on one line


class InterchangeTable(tables.Table):
    created_at = tables.DateTimeColumn(
        verbose_name="Recorded",
        format="d M Y H:i",
        attrs=_NOWRAP,
        linkify=("registrations:interchange-detail", {"pk": tables.A("pk")}),
    )
    direction = tables.Column(verbose_name="Direction")
    workflow = tables.Column()
    sender = tables.Column(verbose_name="From")
    recipient = tables.Column(verbose_name="To")
    sis = tables.Column(verbose_name="SIS")
    status = tables.TemplateColumn(template_name="components/status_tag_cell.html", verbose_name="Status")
    message_count = tables.Column(verbose_name="Messages", orderable=False)

    class Meta:
        model = Interchange
        fields = ("created_at", "direction", "workflow", "sender", "recipient", "sis", "status", "message_count")
        order_by = ("-created_at",)
        empty_text = "No interchanges yet."
