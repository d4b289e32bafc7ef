"""Forms for the work queue and the case page, built on the shared NHS.UK form layer (core.forms)."""

from django import forms

from core.forms import NHSForm, NHSNumberField, NoteField
from core.presenters import nhs_number
from core.roles import Perm
from exceptions import actions
from exceptions.selectors import cases


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
        info = actions.ACTIONS["reprocess"]
        self.fields["reason_code"].choices = [("", "Choose a reason"), *info.reasons.items()]
        self.fields["assignee"].queryset = cases.assignable_users()
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.get_username()

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == self.ASSIGN:
            if not self.user.has_perm(Perm.ASSIGN_CASE):
                raise forms.ValidationError("Only team leaders can assign cases to colleagues")
            if not data.get("assignee"):
                self.add_error("assignee", "Choose who to assign the cases to")
        if action == self.REPROCESS and not data.get("reason_code"):
            self.add_error("reason_code", "Choose why the cases should be reprocessed")
        return data


# --- resolution actions on the case page ------------------------------------------------------------

OTHER_PATIENT = "other"
THEN_NEXT, YES = "then_next", "yes"
ADDRESS_FIELDS = (
    ("house", "House name or number"),
    ("road", "Road"),
    ("locality", "Locality"),
    ("post_town", "Town"),
    ("county", "County"),
    ("postcode", "Postcode"),
)


class ActionForm(NHSForm):
    """One resolution action: a reason code from the action's list, an optional note, and the fields for
    each input the action declares (exceptions.actions: a patient, words for the practice, an address, a
    colleague). Validated here, carried out by the action's service."""

    reason_code = forms.ChoiceField(
        label="Reason", widget=forms.RadioSelect, error_messages={"required": "Choose a reason"}
    )
    note = NoteField(
        label="Note (optional)",
        required=False,
        help_text="For colleagues: what you checked and why you decided this. The practice does not see it.",
    )

    def __init__(
        self, *args, case, action: str, candidates=(), pds_number: str = "", next_after: bool = False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.case, self.action = case, action
        self.info = actions.get(action)
        inputs = self.info.inputs if self.info else ()
        self.fields["reason_code"].choices = list(self.info.reasons.items()) if self.info else []
        if "nhs_number" in inputs:
            self._patient_fields(candidates, pds_number)
        if "text" in inputs:
            self._text_field()
        if "to" in inputs:
            self.fields["to"] = forms.ModelChoiceField(
                label="Escalate to",
                queryset=cases.assignable_users().exclude(pk=case.assigned_to_id),
                required=False,
                empty_label="The team leaders (leave it unassigned for them)",
            )
            self.fields["to"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
        if "address" in inputs:
            current = (case.evidence or {}).get("transaction", {}).get("address") or {}
            for part, label in ADDRESS_FIELDS:
                self.fields[part] = forms.CharField(
                    label=label, required=part in ("road", "postcode"), max_length=35, initial=current.get(part) or ""
                )
        if self.info and self.info.outcome:
            # Only an action that closes the case has a "next": an escalation leaves it open.
            self.fields[THEN_NEXT] = forms.MultipleChoiceField(
                label="After this case",
                choices=[(YES, "Open my next case straight away")],
                widget=forms.CheckboxSelectMultiple,
                required=False,
                initial=[YES] if next_after else [],
                help_text="The most urgent unassigned case in the queue view you last used. "
                "PCRM remembers your choice.",
            )

    def _patient_fields(self, candidates, pds_number: str) -> None:
        choices = [(c.nhs_number, self._candidate_label(c)) for c in candidates]
        if pds_number and pds_number not in {c.nhs_number for c in candidates}:
            choices.insert(0, (pds_number, f"{nhs_number(pds_number)}: the record with the message's NHS number"))
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
        # "Another NHS number" opens its box under the choice (NHS.UK conditional reveal).
        self.fields["patient"].reveals = {OTHER_PATIENT: "other_nhs_number"}

    def _text_field(self) -> None:
        texts = self.info.texts or {}
        self.fields["text"] = forms.CharField(
            label="Words the practice will see (optional unless the reason is Other)",
            required=False,
            max_length=70,
            help_text="Up to 70 characters. Leave it empty to send the standard words for the reason"
            + (f", for example “{next(iter(texts.values()))}”" if texts else ""),
            widget=forms.TextInput(attrs={"class": "nhsuk-input--width-30"}),
            error_messages={"max_length": "The words for the practice must be 70 characters or fewer"},
        )
        if "OTHER" in dict(self.fields["reason_code"].choices):
            # The words are needed when the reason is Other: they open under that choice (conditional reveal).
            self.fields["reason_code"].reveals = {"OTHER": "text"}

    @staticmethod
    def _candidate_label(c) -> str:
        parts = [nhs_number(c.nhs_number)]
        if c.name:
            parts.append(c.name)
        if c.born:
            parts.append(f"born {c.born}")
        if c.score_percent:
            parts.append(f"score {c.score_percent}")
        return ", ".join(parts)

    @property
    def then_next(self) -> bool | None:
        """Whether the person wants their next case after this one (None: the action offers no choice)."""
        if THEN_NEXT not in self.fields:
            return None
        return YES in (self.cleaned_data.get(THEN_NEXT) or [])

    @property
    def tx_type(self) -> str | None:
        tx = self.case.transaction if self.case.transaction_id else None
        return tx.type if tx is not None else None

    @property
    def destructive(self) -> bool:
        """Checked on a second page first: it cannot simply be undone, or it sends the practice a message."""
        return bool(self.info and self.info.needs_confirming(self.tx_type))

    def clean(self):
        data = super().clean()
        if "patient" in self.fields and data.get("patient") == OTHER_PATIENT and not data.get("other_nhs_number"):
            self.add_error("other_nhs_number", "Enter the NHS number of the patient's PDS record")
        if "text" in self.fields and data.get("reason_code") == "OTHER" and not data.get("text"):
            self.add_error("text", "Enter the words the practice will see, because the reason is Other")
        return data

    def service_kwargs(self) -> dict:
        """Keyword arguments for the action's service (besides the case and `by`), one per declared input."""
        data = self.cleaned_data
        kwargs = {"reason_code": data["reason_code"], "note": data.get("note", "")}
        inputs = self.info.inputs if self.info else ()
        if "nhs_number" in inputs:
            chosen = data["patient"]
            kwargs["nhs_number"] = data["other_nhs_number"] if chosen == OTHER_PATIENT else chosen
        if "text" in inputs and data.get("text"):
            kwargs["text"] = data["text"]
        if "to" in inputs:
            kwargs["to"] = data.get("to")
        if "address" in inputs:
            kwargs["address"] = {p: data.get(p, "") for p, _ in ADDRESS_FIELDS}
        return kwargs

    def chosen(self) -> list[dict[str, str]]:
        """What the person chose, in words, for the confirmation page: first what goes to the practice."""
        data, rows = self.cleaned_data, []
        sent = self.info.what_is_sent(self.tx_type) if self.info else ""
        if sent:
            rows.append({"key": "Sent to the practice", "value": sent})
        for name, field in self.fields.items():
            value = data.get(name)
            if value in (None, "", []) or name == THEN_NEXT:
                continue
            if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
                value = dict(field.choices).get(value, value)
            elif isinstance(field, forms.ModelChoiceField):
                value = value.get_full_name() or value.get_username()
            rows.append({"key": field.label.replace(" (optional)", ""), "value": value})
        standard = (self.info.texts or {}).get(data.get("reason_code") or "") if self.info else ""
        if "text" in self.fields and not data.get("text") and standard:
            rows.append({"key": "Words the practice will see", "value": standard})
        return rows


class NoteForm(NHSForm):
    note = NoteField(
        label="Add a note",
        help_text="Notes are kept with the case and seen by colleagues.",
        error_messages={"required": "Enter a note", "max_length": "Notes must be 1000 characters or fewer"},
    )


class AssignForm(NHSForm):
    assignee = forms.ModelChoiceField(queryset=None, label="Assign to", empty_label="Choose a colleague")

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = cases.assignable_users()
        if case is not None and case.assigned_to_id:
            qs = qs.exclude(pk=case.assigned_to_id)
        self.fields["assignee"].queryset = qs
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.get_username()


class SaveFilterForm(NHSForm):
    name = forms.CharField(
        label="Name these filters",
        max_length=60,
        help_text="For example, No trace in Leeds. Up to 60 characters.",
        error_messages={
            "required": "Enter a name for these filters",
            "max_length": "Name these filters in 60 characters or fewer",
        },
    )


class WorkPreferencesForm(NHSForm):
    """A person's "Your settings" page (#16 item 9): what happens after resolving, and the queue's first view."""

    NEXT, STAY = "next", "stay"
    next_case = forms.ChoiceField(
        label="After you resolve a case",
        choices=((NEXT, "Open my next case straight away"), (STAY, "Stay on the case I resolved")),
        widget=forms.RadioSelect,
        help_text="The next case is the most urgent unassigned one within the queue view you last used.",
        error_messages={"required": "Choose what happens after you resolve a case"},
    )
    default_view = forms.ChoiceField(
        label="Which view the work queue opens on",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose which view the work queue opens on"},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_view"].choices = [(v, cases.VIEW_LABELS[v]) for v in cases.views_for(user)]

    @property
    def next_after_resolving(self) -> bool:
        return self.cleaned_data["next_case"] == self.NEXT
