"""Admin forms for reference data: every code checked against its format (core.validators) before it is
saved, stored in capitals; the help text shows the format with an example.

A wrong ODS code, link code or mailbox id in reference data does not fail where it is typed: it fails later,
as a case for every message from that practice. So the admin refuses it here.
"""

from django import forms

from core import validators as v

from .models import GP, HealthAuthority, Practice

# Field name -> its format, for each model's admin form.
HA_FORMATS = {"cipher": v.HA_CIPHER, "link_code": v.LINK_CODE, "nhais_mailbox": v.MESH_MAILBOX}
PRACTICE_FORMATS = {"ods_code": v.ODS_CODE, "link_code": v.LINK_CODE, "mesh_mailbox": v.MESH_MAILBOX}
GP_FORMATS = {"national_code": v.GP_NATIONAL_CODE, "local_code": v.GP_LOCAL_CODE}


class FormatCheckedForm(forms.ModelForm):
    """Normalises and checks the fields named in `formats`; the help text says what each must look like."""

    formats: dict[str, v.Format] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, fmt in self.formats.items():
            if name in self.fields:
                self.fields[name].help_text = fmt.help_text
                # Too long is one way of not matching the format: say the format, not just the length.
                self.fields[name].error_messages["max_length"] = fmt.message

    def clean(self):
        # Capitals and no stray spaces before the format is checked: "a81001 " is A81001.
        data = super().clean()
        for name, fmt in self.formats.items():
            value = data.get(name)
            if not value:
                continue
            data[name] = v.normalise_code(value)
            if not fmt.matches(data[name]):
                self.add_error(name, fmt.message)
        return data


class HealthAuthorityForm(FormatCheckedForm):
    formats = HA_FORMATS

    class Meta:
        model = HealthAuthority
        fields = ("cipher", "name", "nation", "link_code", "nhais_mailbox")


class PracticeForm(FormatCheckedForm):
    formats = PRACTICE_FORMATS

    class Meta:
        model = Practice
        fields = ("ods_code", "name", "address", "postcode", "ha", "link_code", "mesh_mailbox", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "postcode" in self.fields:
            self.fields["postcode"].help_text = v.POSTCODE.help_text
            self.fields["postcode"].error_messages["max_length"] = v.POSTCODE.message

    def clean_postcode(self):
        postcode = v.normalise_postcode(self.cleaned_data.get("postcode"))
        if postcode and not v.POSTCODE.matches(postcode):
            raise forms.ValidationError(v.POSTCODE.message, code="format")
        return postcode


class GPForm(FormatCheckedForm):
    formats = GP_FORMATS

    class Meta:
        model = GP
        fields = ("national_code", "local_code", "name", "practice", "active")


class CounterChangeForm(forms.Form):
    """Changing a sequence counter by hand: the new values, why, and a confirmation that they were checked."""

    reason = forms.CharField(
        label="Why are you changing these numbers?",
        help_text="Recorded with your name in the change history. For example: seeded from NHAIS's live values "
        "at migration. At least 10 characters, up to 500.",
        min_length=10,
        max_length=500,
        error_messages={"max_length": "Enter a reason of 500 characters or fewer"},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label="I have checked these numbers: a number already used makes practices reject what PCRM sends",
        error_messages={"required": "Confirm that you have checked these numbers"},
    )

    def __init__(self, *args, obj, counter_fields: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        # As every admin box (core.admin.whole_text): a long reason is an error, never cut off by the browser.
        self.fields["reason"].widget.attrs.pop("maxlength", None)
        self.counter_fields = counter_fields
        for name in counter_fields:
            model_field = obj._meta.get_field(name)
            self.fields[name] = forms.IntegerField(
                label=str(model_field.verbose_name).capitalize(), min_value=0, initial=getattr(obj, name)
            )
        self.order_fields([*counter_fields, "reason", "confirm"])

    def changes(self, obj) -> dict[str, tuple[int, int]]:
        return {
            name: (getattr(obj, name), self.cleaned_data[name])
            for name in self.counter_fields
            if getattr(obj, name) != self.cleaned_data[name]
        }
