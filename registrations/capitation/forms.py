"""The close-of-quarter confirmation: which quarter, checked again when the button is pressed."""

from django import forms
from django.utils import timezone

from . import close


class CloseQuarterForm(forms.Form):
    quarter_end = forms.DateField(widget=forms.HiddenInput, input_formats=["%Y-%m-%d"])

    def clean_quarter_end(self):
        quarter_end = self.cleaned_data["quarter_end"]
        try:
            close.check_closable(quarter_end, today=timezone.localdate())
        except close.QuarterNotClosable as exc:
            raise forms.ValidationError(f"This quarter cannot be closed: {exc}.") from exc
        return quarter_end
