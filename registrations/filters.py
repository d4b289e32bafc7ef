"""The Interchanges page's search: partner, SIS, status, direction and a date range (django-filter).

Every filter is an equality or range on a column the interchange log indexes, so a search stays
cheap however long the log grows.
"""

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from core.forms import NHSForm, NHSNumberField

from .models import Direction, InterchangeStatus, Transaction


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class NHSNumberFilter(django_filters.CharFilter):
    field_class = NHSNumberField


class InterchangeFilter(django_filters.FilterSet):
    nhs_number = NHSNumberFilter(
        label="NHS number",
        method="filter_nhs_number",
        help_text="Interchanges carrying a transaction about this patient (searching is recorded)",
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10", "inputmode": "numeric", "autocomplete": "off"}),
    )
    partner = django_filters.CharFilter(
        label="Partner",
        method="filter_partner",
        help_text="A GP or HA link code, a MESH mailbox or a practice ODS code",
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10", "autocomplete": "off"}),
    )
    sis = django_filters.NumberFilter(
        label="SIS",
        min_value=0,
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10", "inputmode": "numeric"}),
    )
    status = django_filters.ChoiceFilter(label="Status", choices=InterchangeStatus.choices, empty_label="Any status")
    direction = django_filters.ChoiceFilter(label="Direction", choices=Direction.choices, empty_label="Both")
    recorded_from = django_filters.DateFilter(
        label="Recorded from", method="filter_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    recorded_to = django_filters.DateFilter(
        label="Recorded to", method="filter_to", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        form = NHSForm
        fields: list[str] = []

    @property
    def narrowed(self) -> bool:
        data = getattr(self.form, "cleaned_data", {})
        return any(value not in (None, "") for value in data.values())

    def filter_partner(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(sender__iexact=value)
            | Q(recipient__iexact=value)
            | Q(mesh_sender__iexact=value)
            | Q(mesh_recipient__iexact=value)
            | Q(link__practice__ods_code__iexact=value)
        )

    def filter_nhs_number(self, queryset, name, value):
        # Transaction.nhs_number is indexed: the interchanges are those its transactions' messages belong to.
        return queryset.filter(pk__in=Transaction.objects.filter(nhs_number=value).values("message__interchange_id"))

    def filter_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=_start_of(value + dt.timedelta(days=1)))
