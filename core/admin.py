"""Helpers every app's Django admin shares: accessible names for the inputs Django renders without labels,
and text boxes that never cut text off (`install`, run once from core's AppConfig.ready)."""

from django import forms
from django.contrib.admin.options import BaseModelAdmin

from .forms import name_too_long


def _name_inputs(form, model, describe: str) -> None:
    """aria-label every visible input of `form` as "<field> for <describe>" (e.g. "Active for XX1 Leeds")."""
    verbose = {f.name: f.verbose_name for f in model._meta.get_fields() if hasattr(f, "verbose_name")}
    for name, field in form.fields.items():
        if name in verbose and not isinstance(field.widget, forms.HiddenInput):
            field.widget.attrs["aria-label"] = f"{str(verbose[name]).capitalize()} for {describe}"


class LabelledListEditableMixin:
    """Give each list-editable input on a change list an accessible name. Django renders them without
    labels (axe: "Form elements must have labels"); a column header alone does not name an input."""

    def get_changelist_formset(self, request, **kwargs):
        formset = super().get_changelist_formset(request, **kwargs)
        model = self.model

        class Labelled(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                # The formset's blank template row has an unsaved instance, whose __str__ may need fields it lacks.
                _name_inputs(form, model, str(form.instance) if form.instance.pk else "a new row")

        return Labelled


class LabelledTabularInline:
    """The same for a tabular inline's rows: "National GP code for GP 1" (or the saved GP's name)."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        model = self.model

        class Labelled(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                row = (
                    f"{model._meta.verbose_name} {index + 1}"
                    if index is not None
                    else f"new {model._meta.verbose_name}"
                )
                _name_inputs(form, model, str(form.instance) if form.instance.pk else row)

        return Labelled


class LabelledSplitDateTimeMixin:
    """Name the date and time boxes of the admin's split date-time input ("Expires at: date"): Django's
    label points at neither box (axe: "Form elements must have labels")."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        widgets = getattr(getattr(field, "widget", None), "widgets", None)
        if field is not None and widgets and len(widgets) == 2:
            label = str(db_field.verbose_name).capitalize()
            widgets[0].attrs["aria-label"] = f"{label}: date"
            widgets[1].attrs["aria-label"] = f"{label}: time"
        return field


def whole_text(field: forms.Field | None) -> forms.Field | None:
    """A text box that takes the whole of what is typed or pasted (ADR 0020): no `maxlength` (a browser
    stops typing there and cuts a paste off without a word), the limit said in the help text instead,
    and text that is too long refused with an error naming the field, the text kept in the box."""
    limit = getattr(field, "max_length", None)
    if field is None or not limit:
        return field
    field.widget.attrs.pop("maxlength", None)
    help_text = str(field.help_text or "")
    # Not said twice where the help already gives the limit (auth's "150 characters or fewer").
    if isinstance(field.widget, forms.TextInput | forms.Textarea) and f"{limit} characters" not in help_text:
        field.help_text = " ".join(filter(None, [help_text, f"Up to {limit} characters."]))
    name_too_long(field, str(field.label or "").rstrip(":").strip())
    return field


def install() -> None:
    """Every ModelAdmin and inline, ours and third parties' (auth, axes), builds its form fields through
    BaseModelAdmin.formfield_for_dbfield: hooked once here, so a new admin cannot forget it
    (tests/ui/test_admin_whole_text.py renders every registered admin's add form to check)."""
    original = BaseModelAdmin.formfield_for_dbfield
    if getattr(original, "whole_text", False):
        return

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return whole_text(original(self, db_field, request, **kwargs))

    formfield_for_dbfield.whole_text = True
    BaseModelAdmin.formfield_for_dbfield = formfield_for_dbfield
