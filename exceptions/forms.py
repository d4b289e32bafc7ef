"""Forms for the work queue and the case page, rendered as NHS.UK form components.

Design-system details are declared here, in Python (style point 13): `NHSBoundField` gives every
input the NHS.UK class for its widget, the error modifier when the field has an error, and an
`aria-describedby` naming its hint and error message by the ids the NHS.UK templates use
(`<id>-hint`, `<id>-error`). Templates render a whole field with `{% nhs_field form.name %}`
(exceptions/templatetags/pcrm.py), which picks the component template for the widget.
"""

from django import forms
from django.forms.boundfield import BoundField
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from pds.nhs_number import is_valid

from . import queue

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
        extra = widget.attrs.get("class", "")
        attrs["class"] = " ".join(dict.fromkeys([*classes, *extra.split()]))
        return attrs

    @property
    def aria_describedby(self):
        if self.field.widget.attrs.get("aria-describedby"):
            return None
        ids = []
        if self.auto_id and not self.is_hidden:
            if getattr(self.field, "character_count", None):
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
        if isinstance(widget, forms.RadioSelect):
            return "components/field_radios.html"
        if isinstance(widget, forms.CheckboxSelectMultiple):
            return "components/field_checkboxes.html"
        if isinstance(widget, forms.Textarea) and getattr(self.field, "character_count", None):
            return "components/field_character_count.html"
        return "components/field_input.html"


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


class NoteField(forms.CharField):
    """A free-text note with an NHS.UK character count."""

    def __init__(self, *, max_length: int = 1000, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        super().__init__(max_length=max_length, **kwargs)
        self.character_count = max_length

    def widget_attrs(self, widget):
        # The character count component tells people the limit; the browser must not cut them off silently.
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        attrs["class"] = "nhsuk-js-character-count"
        return attrs


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


class CaseIdsField(forms.TypedMultipleChoiceField):
    """Case ids ticked in the queue; which ones the user may move is the services' decision, not the form's."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, **kwargs)

    def valid_value(self, value):
        return str(value).isdigit()


class BulkActionForm(NHSForm):
    CLAIM, ASSIGN, RELEASE, REPROCESS = "claim", "assign", "release", "reprocess"
    # Deliberately no bulk resolve, merge or reject: each of those is one person's decision about one case.
    ACTIONS = ((CLAIM, "Claim"), (ASSIGN, "Assign"), (RELEASE, "Release"), (REPROCESS, "Reprocess"))

    action = forms.ChoiceField(choices=ACTIONS, error_messages={"required": "Choose what to do with the cases"})
    case = CaseIdsField(
        label="Cases",
        error_messages={"required": "Select at least one case"},
    )
    assignee = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Assign selected cases to",
        empty_label="Choose a colleague",
    )

    reason_code = forms.ChoiceField(label="Why reprocess?", required=False)

    def __init__(self, *args, user, **kwargs):
        # The queue page also has the filters' "assignee": the bulk bar's ids must not clash with them.
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.user = user
        info = action_info("reprocess")
        self.fields["reason_code"].choices = [("", "Choose a reason"), *(info.reasons.items() if info else [])]
        self.fields["assignee"].queryset = queue.assignable_users()
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.get_username()

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == self.ASSIGN:
            if not self.user.has_perm(queue.ASSIGN):
                raise forms.ValidationError("Only team leaders can assign cases to colleagues")
            if not data.get("assignee"):
                self.add_error("assignee", "Choose who to assign the cases to")
        if action == self.REPROCESS and not data.get("reason_code"):
            self.add_error("reason_code", "Choose why the cases should be reprocessed")
        return data


# --- resolution actions on the case page ------------------------------------------------------------

# Actions whose effect cannot simply be undone — something is sent to a practice that ends or refuses a
# registration, a new NHS number is made, or the identity on PDS changes — go through a confirmation page.
DESTRUCTIVE = frozenset(
    {
        "reject_to_practice",
        "approve_removal",
        "approve_deduction",
        "refuse_deduction",
        "allocate_and_apply",
        "accept_change",
        "let_fp69_run",
    }
)
# Actions that send the practice a line of text (F3 or F11).
SENDS_TEXT = frozenset({"reject_to_practice", "refuse_deduction"})
OTHER_PATIENT = "other"


def action_info(action: str):
    from . import kinds

    return getattr(kinds, "ACTIONS", {}).get(action)


class ActionForm(NHSForm):
    """One resolution action: a reason code from the action's list, an optional note, and whatever else
    the action needs (a patient, words for the practice, a colleague). Validated here, decided by
    exceptions.resolution."""

    reason_code = forms.ChoiceField(
        label="Reason", widget=forms.RadioSelect, error_messages={"required": "Choose a reason"}
    )
    note = NoteField(
        label="Note (optional)",
        required=False,
        help_text="For colleagues: what you checked and why you decided this. The practice does not see it.",
    )

    def __init__(self, *args, case, action: str, candidates=(), pds_number: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.case, self.action = case, action
        info = action_info(action)
        self.fields["reason_code"].choices = list(info.reasons.items()) if info else []
        if action == "apply_with_patient":
            choices = [(c.nhs_number, self._candidate_label(c)) for c in candidates]
            if pds_number and pds_number not in {c.nhs_number for c in candidates}:
                choices.insert(
                    0, (pds_number, f"{presenters_nhs(pds_number)}: the record with the message's NHS number")
                )
            choices.append((OTHER_PATIENT, "Another NHS number"))
            self.fields["patient"] = forms.ChoiceField(
                label="Which PDS record is this patient?",
                choices=choices,
                widget=forms.RadioSelect,
                error_messages={"required": "Choose the patient's PDS record"},
            )
            self.fields["other_nhs_number"] = NHSNumberField(
                label="Another NHS number",
                required=False,
                help_text="Only if you chose another NHS number: 10 digits, spaces are fine",
                widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10", "inputmode": "numeric"}),
            )
            self.order_fields(["patient", "other_nhs_number", "reason_code", "note"])
        if action in SENDS_TEXT:
            texts = (info.texts or {}) if info else {}
            self.fields["text"] = forms.CharField(
                label="Words the practice will see (optional unless the reason is Other)",
                required=False,
                max_length=70,
                help_text="Up to 70 characters. Leave it empty to send the standard words for the reason"
                + (f", for example “{next(iter(texts.values()))}”" if texts else ""),
                widget=forms.TextInput(attrs={"class": "nhsuk-input--width-30"}),
            )
        if action == "escalate":
            self.fields["to"] = forms.ModelChoiceField(
                label="Escalate to",
                queryset=queue.assignable_users().exclude(pk=case.assigned_to_id),
                required=False,
                empty_label="The team leaders (leave it unassigned for them)",
            )
            self.fields["to"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
        if action == "apply_corrected_address":
            current = (case.evidence or {}).get("transaction", {}).get("address") or {}
            for part, label in (
                ("house", "House name or number"),
                ("road", "Road"),
                ("locality", "Locality"),
                ("post_town", "Town"),
                ("county", "County"),
                ("postcode", "Postcode"),
            ):
                self.fields[part] = forms.CharField(
                    label=label, required=part in ("road", "postcode"), max_length=35, initial=current.get(part) or ""
                )

    @staticmethod
    def _candidate_label(c) -> str:
        parts = [presenters_nhs(c.nhs_number)]
        if c.name:
            parts.append(c.name)
        if c.born:
            parts.append(f"born {c.born}")
        if c.score_percent:
            parts.append(f"score {c.score_percent}")
        return ", ".join(parts)

    @property
    def destructive(self) -> bool:
        return self.action in DESTRUCTIVE

    def clean(self):
        data = super().clean()
        if (
            self.action == "apply_with_patient"
            and data.get("patient") == OTHER_PATIENT
            and not data.get("other_nhs_number")
        ):
            self.add_error("other_nhs_number", "Enter the NHS number of the patient's PDS record")
        if self.action in SENDS_TEXT and data.get("reason_code") == "OTHER" and not data.get("text"):
            self.add_error("text", "Enter the words the practice will see, because the reason is Other")
        return data

    def service_kwargs(self) -> dict:
        """Keyword arguments for the exceptions.resolution function (besides the case and `by`)."""
        data = self.cleaned_data
        kwargs = {"reason_code": data["reason_code"], "note": data.get("note", "")}
        if self.action == "apply_with_patient":
            chosen = data["patient"]
            kwargs["nhs_number"] = data["other_nhs_number"] if chosen == OTHER_PATIENT else chosen
        if self.action in SENDS_TEXT and data.get("text"):
            kwargs["text"] = data["text"]
        if self.action == "escalate":
            kwargs["to"] = data.get("to")
        if self.action == "apply_corrected_address":
            kwargs["address"] = {
                p: data.get(p, "") for p in ("house", "road", "locality", "post_town", "county", "postcode")
            }
        return kwargs

    def chosen(self) -> list[dict[str, str]]:
        """What the person chose, in words, for the confirmation page."""
        data, rows = self.cleaned_data, []
        for name, field in self.fields.items():
            value = data.get(name)
            if value in (None, ""):
                continue
            if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
                value = dict(field.choices).get(value, value)
            elif isinstance(field, forms.ModelChoiceField):
                value = value.get_full_name() or value.get_username()
            rows.append({"key": field.label.replace(" (optional)", ""), "value": value})
        return rows


def presenters_nhs(value: str) -> str:
    from .presenters import nhs_number

    return nhs_number(value)


class NoteForm(NHSForm):
    note = NoteField(label="Add a note", help_text="Notes are kept with the case and seen by colleagues.")


class AssignForm(NHSForm):
    assignee = forms.ModelChoiceField(queryset=None, label="Assign to", empty_label="Choose a colleague")

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = queue.assignable_users()
        if case is not None and case.assigned_to_id:
            qs = qs.exclude(pk=case.assigned_to_id)
        self.fields["assignee"].queryset = qs
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
