"""The patient lookup form: by NHS number, or by demographics for a trace."""

from django import forms

from core.forms import NHSForm, NHSNumberField

from .models import Gender
from .trace import TraceQuery, partial_birth_date


def _text(width: str) -> forms.TextInput:
    # Names and numbers are not words: no spelling hints, no remembered values from other patients.
    return forms.TextInput(attrs={"class": width, "autocomplete": "off", "spellcheck": "false"})


_SHORT, _LONG = "nhsuk-input--width-10", "nhsuk-u-width-two-thirds"


class PatientSearchForm(NHSForm):
    # A fixed format with its own errors (check digit), so no character count (core.forms.NHSBoundField).
    nhs_number = NHSNumberField(
        label="NHS number",
        required=False,
        help_text="10 digits, for example 943 476 5919",
        widget=_text(_SHORT),
    )
    surname = forms.CharField(label="Last name", required=False, max_length=35, widget=_text(_LONG))
    forenames = forms.CharField(label="First name", required=False, max_length=35, widget=_text(_LONG))
    birth_date = forms.CharField(
        label="Date of birth",
        required=False,
        max_length=10,
        help_text="YYYY-MM-DD, or part of it: YYYY-MM or YYYY",
        widget=_text(_SHORT),
    )
    gender = forms.ChoiceField(
        label="Gender",
        required=False,
        choices=[("", "Any"), (Gender.FEMALE, "Female"), (Gender.MALE, "Male")],
    )
    postcode = forms.CharField(label="Postcode", required=False, max_length=8, widget=_text(_SHORT))

    def clean_birth_date(self):
        value = self.cleaned_data["birth_date"].strip()
        if not value:
            return None
        try:
            return partial_birth_date(value)
        except ValueError as exc:
            raise forms.ValidationError("Enter a date of birth as YYYY-MM-DD, YYYY-MM or YYYY") from exc

    def clean(self):
        data = super().clean()
        if self.errors or data.get("nhs_number"):
            return data
        if not (data.get("surname") or data.get("forenames")):
            raise forms.ValidationError("Enter an NHS number, or a name with a date of birth or postcode")
        if not (data.get("birth_date") or data.get("postcode")):
            raise forms.ValidationError("Enter a date of birth or a postcode with the name")
        return data

    def trace_query(self) -> TraceQuery:
        data = self.cleaned_data
        exact, lo, hi = data["birth_date"] or (None, None, None)
        return TraceQuery(
            surname=data["surname"],
            forenames=tuple(data["forenames"].split()),
            gender=data["gender"],
            birth_date=exact,
            birth_from=None if exact else lo,
            birth_to=None if exact else hi,
            postcode=data["postcode"],
        )
