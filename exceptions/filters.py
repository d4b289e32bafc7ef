"""The queue's filters (django-filter): kind, status, HA, practice, SLA state, assignee, received date,
and a search by NHS number (as people type it: spaces and dashes ignored) or by name.

A search looks through every case, whichever view it was typed in and whatever its status (unless a
status is chosen); filters that cannot match say why (an inverted date range, an unknown practice).

Filters only narrow a queryset the view has already limited to what the user may see; every filter
is a plain equality or range on an indexed column, so a filtered page stays a keyset read.
"""

import datetime as dt
import re
from dataclasses import dataclass

import django_filters
from django import forms
from django.utils import timezone

from core.forms import NHSDateField, NHSForm, NHSNumberField
from core.validators import ODS_CODE
from exceptions import actions, kinds, sla
from exceptions.models import OPEN_STATUSES, CaseStatus, ExceptionCase
from exceptions.selectors import cases
from registrations.models import HealthAuthority, Practice

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


class NHSDateFilter(django_filters.Filter):
    field_class = NHSDateField


@dataclass(frozen=True)
class Search:
    """What was typed in the queue's search box: an NHS number, or a surname with perhaps a forename."""

    nhs_number: str = ""
    surname: str = ""
    forename: str = ""


_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")


class CaseSearchField(forms.CharField):
    """An NHS number (any spacing) or a name: "Stevens", "Jane Stevens" or "Stevens, Jane"."""

    default_error_messages = {
        "name": "Enter an NHS number, like 943 476 5919, or a name, like Jane Stevens",
    }

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        if any(ch.isdigit() for ch in value):
            return Search(nhs_number=NHSNumberField(required=False, label=self.label).clean(value))
        if "," in value:
            surname, _, forename = (part.strip() for part in value.partition(","))
        else:
            *forenames, surname = value.split()
            forename = forenames[0] if forenames else ""
        if not _NAME.match(surname) or (forename and not _NAME.match(forename)):
            raise forms.ValidationError(self.error_messages["name"], code="name")
        return Search(surname=surname, forename=forename)


class SearchFilter(django_filters.CharFilter):
    field_class = CaseSearchField


class CaseFilterForm(NHSForm):
    """The queue's filter form: checks the filters together, so a search that cannot match says why."""

    def clean_practice(self):
        code = (self.cleaned_data.get("practice") or "").strip().upper()
        if not code:
            return ""
        if not ODS_CODE.matches(code):
            raise forms.ValidationError(f"Practice ODS code must be a letter and 5 digits, like A81001 (not {code})")
        known = (
            Practice.objects.filter(ods_code=code).exists() or ExceptionCase.objects.filter(practice_ods=code).exists()
        )
        if not known:
            raise forms.ValidationError(f"No practice has the ODS code {code}: check the code", code="unknown")
        return code

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", "Received to must be the same as or after received from")
        return data


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class CaseFilter(django_filters.FilterSet):
    q = SearchFilter(
        label="Search by NHS number or name",
        method="filter_search",
        help_text="Searches every case, open or closed, in every view",
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
    received_from = NHSDateFilter(label="Received from", method="filter_received_from")
    received_to = NHSDateFilter(label="Received to", method="filter_received_to")

    class Meta:
        form = CaseFilterForm
        fields: list[str] = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.user = request.user if request else None
        self.form.fields["status"].initial = OPEN
        self.form.fields["q"].widget.input_type = "search"
        self.form.fields["q"].widget.attrs.update(
            {
                "autocomplete": "off",
                "class": "nhsuk-input--width-20 nhsuk-search-input__input",
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

    def filter_search(self, queryset, name, value: Search):
        if value.nhs_number:
            return queryset.filter(nhs_number=value.nhs_number)
        return cases.named(queryset, value.surname, value.forename)

    def filter_sla(self, queryset, name, value):
        return sla.filter_sla(queryset, value)

    def filter_practice(self, queryset, name, value):
        return queryset.filter(practice_ods=value)

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
    when_from = NHSDateFilter(label="From", method="filter_from")
    when_to = NHSDateFilter(label="To", method="filter_to")

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
