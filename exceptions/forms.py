"""Forms for the work queue and the case page, built on the shared NHS.UK form layer (core.forms)."""

from django import forms

from core.forms import NHSForm, NHSNumberField, NoteField
from core.presenters import nhs_number

from . import queue


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
        parts = [nhs_number(c.nhs_number)]
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
