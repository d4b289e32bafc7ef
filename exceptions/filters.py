"""The queue's filters (django-filter): kind, status, HA, practice, SLA state, assignee, received date,
and a search by NHS number that accepts the number as people type it (spaces and dashes ignored).

Filters only narrow a queryset the view has already limited to what the user may see; every filter
is a plain equality or range on an indexed column, so a filtered page stays a keyset read.
"""

import datetime as dt

import django_filters
from django import forms
from django.utils import timezone

from core.forms import NHSForm, NHSNumberField
from exceptions import actions, kinds, sla
from exceptions.models import OPEN_STATUSES, CaseStatus
from exceptions.selectors import cases
from registrations.models import HealthAuthority

OPEN = "open"
ANY = "any"
STATUS_CHOICES = (
    (OPEN, "Open (not started or in progress)"),
    (CaseStatus.OPEN, "Not started"),
    (CaseStatus.IN_PROGRESS, "In progress"),
    (CaseStatus.RESOLVED, "Resolved"),
    (CaseStatus.REJECTED, "Rejected"),
    (CaseStatus.CLOSED, "Closed"),
    (ANY, "Any status"),
)
ME, NOBODY = "me", "none"


def kind_choices():
    return sorted(((kind.value, info.label) for kind, info in kinds.CATALOGUE.items()), key=lambda c: c[1])


def ha_choices():
    return [(ha.cipher, f"{ha.cipher} {ha.name}") for ha in HealthAuthority.objects.filter(migrated=True)]


def assignee_choices():
    people = [(str(u.pk), u.get_full_name() or u.get_username()) for u in cases.assignable_users()]
    return [(ME, "Me"), (NOBODY, "Nobody (unassigned)"), *people]


class NHSNumberFilter(django_filters.CharFilter):
    field_class = NHSNumberField


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class CaseFilter(django_filters.FilterSet):
    q = NHSNumberFilter(
        label="Search by NHS number",
        method="filter_nhs_number",
        help_text="Finds cases in any status unless you choose one",
    )
    kind = django_filters.ChoiceFilter(label="Kind", choices=kind_choices, empty_label="Any kind")
    status = django_filters.ChoiceFilter(
        label="Status", choices=STATUS_CHOICES, empty_label=None, method="filter_status"
    )
    sla = django_filters.ChoiceFilter(
        label="SLA",
        choices=[(s, sla.SLA_LABELS[s]) for s in sla.SLA_STATES],
        empty_label="Any",
        method="filter_sla",
    )
    ha = django_filters.ChoiceFilter(
        label="Health authority", field_name="ha_cipher", choices=ha_choices, empty_label="Any"
    )
    practice = django_filters.CharFilter(
        label="Practice ODS code",
        method="filter_practice",
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10"}),
    )
    assignee = django_filters.ChoiceFilter(
        label="Assignee", choices=assignee_choices, empty_label="Anyone", method="filter_assignee"
    )
    received_from = django_filters.DateFilter(
        label="Received from", method="filter_received_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    received_to = django_filters.DateFilter(
        label="Received to", method="filter_received_to", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        form = NHSForm
        fields: list[str] = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.user = request.user if request else None
        self.form.fields["status"].initial = OPEN
        self.form.fields["q"].widget.input_type = "search"
        self.form.fields["q"].widget.attrs.update(
            {
                "autocomplete": "off",
                "class": "nhsuk-input--width-10 nhsuk-search-input__input",
                "inputmode": "numeric",
                "data-shortcut": "search",
            }
        )

    # Status: open cases unless asked otherwise; a search by NHS number looks at every status.
    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        if not data.get("status") and not data.get("q"):
            queryset = queryset.filter(status__in=OPEN_STATUSES)
        return super().filter_queryset(queryset)

    @property
    def narrowed(self) -> bool:
        """True when anything beyond the view's default (open cases) narrows the list."""
        data = getattr(self.form, "cleaned_data", {})
        return any(value not in (None, "", OPEN) for value in data.values())

    def filter_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(status__in=OPEN_STATUSES)
        if value == ANY:
            return queryset
        return queryset.filter(status=value)

    def filter_nhs_number(self, queryset, name, value):
        return queryset.filter(nhs_number=value)

    def filter_sla(self, queryset, name, value):
        return sla.filter_sla(queryset, value)

    def filter_practice(self, queryset, name, value):
        return queryset.filter(practice_ods=value.strip().upper())

    def filter_assignee(self, queryset, name, value):
        if value == ME:
            return queryset.filter(assigned_to=self.user)
        if value == NOBODY:
            return queryset.filter(assigned_to__isnull=True)
        return queryset.filter(assigned_to_id=int(value))

    # Received dates are whole days in London, compared as a range on the indexed timestamp.
    def filter_received_from(self, queryset, name, value):
        return queryset.filter(opened_at__gte=_start_of(value))

    def filter_received_to(self, queryset, name, value):
        return queryset.filter(opened_at__lt=_start_of(value + dt.timedelta(days=1)))


# --- the audit log ----------------------------------------------------------------------------------


def audit_action_choices():
    from exceptions.services import audit

    choices = dict(audit.ACTION_LABELS)
    for code, action in actions.ACTIONS.items():
        choices.setdefault(f"case_{code}", f"Case: {action.label}")
    return sorted(choices.items(), key=lambda c: c[1])


def audit_user_choices():
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.order_by("first_name", "last_name", "username")
    return [(str(u.pk), u.get_full_name() or u.get_username()) for u in users]


class AuditFilter(django_filters.FilterSet):
    nhs_number = NHSNumberFilter(label="NHS number", field_name="nhs_number")
    user = django_filters.ChoiceFilter(
        label="Who", choices=audit_user_choices, empty_label="Anyone", field_name="user_id"
    )
    action = django_filters.ChoiceFilter(label="What", choices=audit_action_choices, empty_label="Anything")
    case = django_filters.NumberFilter(label="Case number", method="filter_case", min_value=1)
    when_from = django_filters.DateFilter(
        label="From", method="filter_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    when_to = django_filters.DateFilter(label="To", method="filter_to", widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        form = NHSForm
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.fields["nhs_number"].widget.attrs.update({"class": "nhsuk-input--width-10", "inputmode": "numeric"})
        self.form.fields["case"].widget.attrs.update({"class": "nhsuk-input--width-5"})

    @property
    def searched(self) -> dict:
        data = getattr(self.form, "cleaned_data", {})
        return {k: str(v) for k, v in data.items() if v not in (None, "")}

    def filter_case(self, queryset, name, value):
        return queryset.filter(object_type="case", object_id=str(int(value)))

    def filter_from(self, queryset, name, value):
        return queryset.filter(at__gte=_start_of(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(at__lt=_start_of(value + dt.timedelta(days=1)))
