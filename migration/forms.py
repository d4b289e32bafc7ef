"""The cut-over and cut-back confirmations: the reason is what a person must give to override a failing
checklist, or to cut back; the checklist itself is checked again by the service when the button is pressed."""

from django import forms
from django.utils import timezone

from core.forms import NHSDateField, NHSForm, NoteField


class CutOverForm(NHSForm):
    reason = NoteField(
        label="Reason for overriding the checklist",
        help_text="Needed only while the checklist has failures. It is kept in the audit log.",
        required=False,
        max_length=500,
    )

    def __init__(self, *args, failing: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.failing = failing

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if self.failing and not reason:
            raise forms.ValidationError("Enter why the HA should cut over although the checklist fails")
        return reason


class CutBackForm(NHSForm):
    reason = NoteField(
        label="Why is the HA going back to NHAIS?",
        help_text="It is kept in the audit log.",
        max_length=500,
        error_messages={"required": "Enter why the HA is going back to NHAIS"},
    )


class PlanForm(NHSForm):
    planned_on = NHSDateField(
        label="Planned cut-over date",
        help_text="The day PCRM takes over the HA's traffic. For example, 4 1 2027",
        error_messages={"required": "Enter the planned cut-over date"},
    )

    def clean_planned_on(self):
        planned_on = self.cleaned_data["planned_on"]
        if planned_on < timezone.localdate():
            raise forms.ValidationError("The planned cut-over date must be today or in the future")
        return planned_on
