"""The NHS.UK form layer every app's forms use.

Design-system details are declared here, in Python (style point 13): `NHSBoundField` gives every
input the NHS.UK class for its widget, the error modifier when the field has an error, and an
`aria-describedby` naming its hint and error message by the ids the NHS.UK templates use
(`<id>-hint`, `<id>-error`). Templates render a whole field with `{% nhs_field form.name %}`
(core/templatetags/pcrm.py), which picks the component template for the widget.
"""

import datetime as dt

from django import forms
from django.forms.boundfield import BoundField
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .nhs_number import is_valid

# The NHS.UK class for each widget's input, and the modifier an error adds to it.
_WIDGET_CLASSES: dict[type, str] = {
    forms.Select: "nhsuk-select",
    forms.SelectMultiple: "nhsuk-select",
    forms.Textarea: "nhsuk-textarea",
    forms.RadioSelect: "nhsuk-radios__input",
    forms.CheckboxSelectMultiple: "nhsuk-checkboxes__input",
    forms.CheckboxInput: "nhsuk-checkboxes__input",
    forms.widgets.Input: "nhsuk-input",
}
_ERROR_MODIFIERS = {"nhsuk-select", "nhsuk-textarea", "nhsuk-input"}


def widget_class(widget: forms.Widget) -> str:
    for klass in type(widget).__mro__:
        if klass in _WIDGET_CLASSES:
            return _WIDGET_CLASSES[klass]
    return ""


class NHSBoundField(BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        widget = widget or self.field.widget
        attrs = super().build_widget_attrs(attrs, widget)
        base = widget_class(widget)
        classes = [base] if base else []
        if self.errors and base in _ERROR_MODIFIERS:
            classes.append(f"{base}--error")
        if self.character_count and widget is self.field.widget:
            classes.append("nhsuk-js-character-count")  # what the NHS.UK character count script counts
        extra = widget.attrs.get("class", "")
        attrs["class"] = " ".join(dict.fromkeys([*classes, *extra.split()]))
        return attrs

    @property
    def character_count(self) -> int | None:
        """The limit an NHS.UK character count shows under this field: every text input or textarea
        whose field has a max_length (ADR 0020). Not NHS numbers: a fixed format with its own error."""
        field, widget = self.field, self.field.widget
        if getattr(field, "character_count", None):
            return field.character_count
        if isinstance(field, NHSNumberField) or not isinstance(widget, forms.TextInput | forms.Textarea):
            return None
        return getattr(field, "max_length", None) or None

    def as_widget(self, widget=None, attrs=None, only_initial=False):
        # Never cut typed text off silently: too long is an error message naming the field, under a
        # character count, not a box that stops taking keys. (Fields are per form instance.)
        (widget or self.field.widget).attrs.pop("maxlength", None)
        return super().as_widget(widget, attrs, only_initial)

    @property
    def reveals(self) -> dict:
        """For radios with a conditional reveal: choice value -> the bound field shown under that choice."""
        names = getattr(self.field, "reveals", None) or {}
        return {value: self.form[name] for value, name in names.items() if name in self.form.fields}

    @property
    def revealed(self) -> bool:
        """True for a field shown inside another's conditional reveal (rendered there, not on its own)."""
        return any(self.name in (getattr(f, "reveals", None) or {}).values() for f in self.form.fields.values())

    @property
    def aria_describedby(self):
        if self.field.widget.attrs.get("aria-describedby"):
            return None
        ids = []
        if self.auto_id and not self.is_hidden:
            if self.character_count:
                ids.append(f"{self.auto_id}-info")
            if self.help_text:
                ids.append(f"{self.auto_id}-hint")
            if self.errors:
                ids.append(f"{self.auto_id}-error")
        return " ".join(ids)

    @property
    def nhs_template(self) -> str:
        """The component template for this field's widget (templates/components/field_*.html)."""
        widget = self.field.widget
        # CheckboxSelectMultiple is a RadioSelect to Django: ask about it first.
        if isinstance(widget, forms.CheckboxSelectMultiple):
            return "components/field_checkboxes.html"
        if isinstance(widget, forms.RadioSelect):
            return "components/field_radios.html"
        if self.character_count:
            return "components/field_character_count.html"
        if isinstance(widget, NHSDateInput):
            return "components/field_date.html"
        return "components/field_input.html"

    @property
    def date_parts(self) -> list[dict]:
        """For an NHS.UK date input: day, month and year, each with its id, name, value and width."""
        value = self.value()
        if isinstance(value, dt.date):
            value = (str(value.day), str(value.month), str(value.year))
        value = value or ("", "", "")
        return [
            {"label": label, "id": f"{self.auto_id}-{part}", "name": f"{self.html_name}-{part}", "value": v, "width": w}
            for (part, label, w), v in zip(NHSDateInput.PARTS, value, strict=True)
        ]


class NHSSelect(forms.Select):
    """A select rendered in Python. Django renders each option through its own template, which for the
    queue's filters (every kind, every colleague) cost more than the whole table of cases."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = [
            format_html(
                '<option value="{}"{}>{}</option>', option["value"], " selected" if option["selected"] else "", label
            )
            for _group, group_options, _index in widget["optgroups"]
            for option in group_options
            for label in [option["label"]]
        ]
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), mark_safe("".join(options))
        )


class NHSForm(forms.Form):
    bound_field_class = NHSBoundField
    # NHS.UK pages show their own error summary and messages; the browser's would pre-empt them.
    use_required_attribute = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if type(field.widget) is forms.Select:
                field.widget = NHSSelect(attrs=field.widget.attrs, choices=field.widget.choices)

    def full_clean(self):
        # Fields added after __init__ (forms build theirs from what an action needs) get them too.
        for field in self.fields.values():
            name_in_errors(field)
        super().full_clean()


_DJANGO_REQUIRED = forms.Field.default_error_messages["required"]
# Labels that are already an instruction or a question ("Add a note", "Why reprocess?") cannot be put
# after "Enter"; their forms write their own messages.
_NOT_A_NOUN = ("add ", "choose ", "select ", "enter ", "name ", "why ", "which ", "what ", "how ", "who ", "when ")


def name_in_errors(field: forms.Field) -> None:
    """NHS.UK error messages that name their field, where the form did not write its own:
    "Enter the practice ODS code" rather than "This field is required", and "Practice ODS code must be
    10 characters or fewer" rather than "Ensure this value has at most 10 characters"."""
    label = str(field.label or "").rstrip(":").strip()
    if not label or label.lower().startswith(_NOT_A_NOUN) or label.endswith("?"):
        return
    lower = label[0].lower() + label[1:]
    if field.error_messages.get("required") == _DJANGO_REQUIRED:
        verb = "Select" if isinstance(field, forms.ChoiceField | forms.ModelChoiceField) else "Enter"
        field.error_messages["required"] = f"{verb} {lower}"
    name_too_long(field, label)


def name_too_long(field: forms.Field, label: str) -> None:
    """ "Practice ODS code must be 10 characters or fewer", where Django would say "Ensure this value has
    at most 10 characters" (forms here, and every admin form through core.admin.whole_text)."""
    max_length = getattr(field, "max_length", None)
    if label and max_length and "Ensure this value" in str(field.error_messages.get("max_length", "Ensure this value")):
        field.error_messages["max_length"] = f"{label} must be {max_length} characters or fewer"


class NoteField(forms.CharField):
    """A free-text note in a textarea (with the NHS.UK character count every bounded text field has)."""

    def __init__(self, *, max_length: int = 1000, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        super().__init__(max_length=max_length, **kwargs)
        self.character_count = max_length


class NHSNumberField(forms.CharField):
    """An NHS number typed as people write it: spaces and dashes are ignored, the check digit is checked."""

    default_error_messages = {
        "invalid": "Enter a 10-digit NHS number, like 943 476 5919",
        "check_digit": "Enter a valid NHS number: this one fails its check digit",
    }

    def to_python(self, value):
        value = super().to_python(value)
        return "".join(ch for ch in value if ch not in " -")

    def validate(self, value):
        super().validate(value)
        if value in self.empty_values:
            return
        if len(value) != 10 or not value.isdigit():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if not is_valid(value):
            raise forms.ValidationError(self.error_messages["check_digit"], code="check_digit")


class NHSDateInput(forms.Widget):
    """The NHS.UK date input: day, month and year in three boxes (`<name>-day`, `-month`, `-year`).

    People type dates more reliably in three boxes than in a browser's date picker, which also differs
    from browser to browser. The value read back is the three parts as typed; NHSDateField checks them.
    """

    PARTS = (("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4))

    def value_from_datadict(self, data, files, name):
        parts = tuple((data.get(f"{name}-{part}") or "").strip() for part, _, _ in self.PARTS)
        if not any(parts) and data.get(name):
            # A link or bookmark made before the three boxes (name=YYYY-MM-DD) still works.
            year, _, rest = str(data[name]).partition("-")
            month, _, day = rest.partition("-")
            parts = (day, month, year)
        return None if not any(parts) else parts

    def value_omitted_from_data(self, data, files, name):
        return name not in data and not any(f"{name}-{part}" in data for part, _, _ in self.PARTS)

    def id_for_label(self, id_):
        # The error summary links to the first box.
        return f"{id_}-day" if id_ else id_


class NHSDateField(forms.Field):
    """A date typed into the NHS.UK date input; its errors name the field and say what is missing."""

    widget = NHSDateInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            return value
        day, month, year = value
        name = self.label or "The date"
        missing = [part for part, text in zip(("day", "month", "year"), (day, month, year), strict=True) if not text]
        if missing:
            raise forms.ValidationError(f"{name} must include a {' and a '.join(missing)}", code="incomplete")
        if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
            raise forms.ValidationError(f"{name} must be a real date, like 15 3 2026", code="invalid")
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError:
            raise forms.ValidationError(f"{name} must be a real date, like 15 3 2026", code="invalid") from None
