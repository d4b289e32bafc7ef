"""django-tables2 tables for the quarters list and the per-practice capitation figures."""

import django_tables2 as tables
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from ..models import CapitationLine, QuarterClose
from . import presenters

_NUMERIC = {"th": {"class": "nhsuk-table__header--numeric"}, "td": {"class": "nhsuk-table__cell--numeric"}}
_NOWRAP = {"td": {"class": "pcrm-nowrap"}}


class QuarterTable(tables.Table):
    quarter_end = tables.Column(verbose_name="Quarter", attrs=_NOWRAP)
    status = tables.Column(verbose_name="Status")
    patients = tables.Column(verbose_name="Registered patients", default="—", attrs=_NUMERIC)
    f8_count = tables.Column(verbose_name="F8s sent", attrs=_NUMERIC)
    closed_by = tables.Column(verbose_name="Closed by")
    closed_at = tables.DateTimeColumn(verbose_name="Closed", format="j M Y H:i", attrs=_NOWRAP)
    acknowledged_at = tables.DateTimeColumn(verbose_name="PCSE acknowledged", format="j M Y H:i", default="Not yet")

    class Meta:
        model = QuarterClose
        fields = ("quarter_end", "status", "patients", "f8_count", "closed_by", "closed_at", "acknowledged_at")
        order_by = ("-quarter_end",)
        empty_text = "No quarter has been closed yet."

    def render_quarter_end(self, value, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("registrations:capitation:report", args=[value]), presenters.title(value)
        )

    def render_status(self, value):
        tag = presenters.quarter_status_tag(value)
        return render_to_string("components/tag.html", {"text": tag.text, "colour": tag.colour})

    def render_patients(self, value):
        return f"{value:,}"


class PracticeLineTable(tables.Table):
    practice_ods = tables.Column(verbose_name="Practice", attrs=_NOWRAP)
    practice_name = tables.Column(verbose_name="Name", default="Not a PCRM practice")
    ha_cipher = tables.Column(verbose_name="HA", default="—")
    nation = tables.Column(verbose_name="Nation", default="Not known")
    patients = tables.Column(verbose_name="Patients", attrs=_NUMERIC)
    male = tables.Column(verbose_name="Male", attrs=_NUMERIC)
    female = tables.Column(verbose_name="Female", attrs=_NUMERIC)
    other_sex = tables.Column(verbose_name="Other", attrs=_NUMERIC)
    acceptances = tables.Column(verbose_name="Accepted", attrs=_NUMERIC)
    deductions = tables.Column(verbose_name="Deducted", attrs=_NUMERIC)
    dispensing = tables.Column(verbose_name="Dispensing", default="—", attrs=_NUMERIC)
    residential = tables.Column(verbose_name="In a residential institute", default="—", attrs=_NUMERIC)
    change = tables.Column(verbose_name="Change", default="—", attrs=_NUMERIC)

    class Meta:
        model = CapitationLine
        fields = (
            "practice_ods",
            "practice_name",
            "ha_cipher",
            "nation",
            "patients",
            "male",
            "female",
            "other_sex",
            "acceptances",
            "deductions",
            "dispensing",
            "residential",
            "change",
        )
        order_by = ("practice_ods",)
        empty_text = "No practice matches."

    def render_change(self, value):
        return presenters.signed(value)

    def render_patients(self, value):
        return f"{value:,}"
