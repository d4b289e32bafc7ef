"""#16 item 15: one NHS.UK date format, conditional reveal for "Other", "Error:" in the title of an htmx
swap, errors that name their field, no text cut off silently, no role="button" on links."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.template import engines
from django.urls import reverse
from factories import ExceptionCaseFactory

from core.forms import NHSForm
from core.presenters import nhs_date, nhs_datetime, nhs_time

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("moment", "date_text", "time_text"),
    [
        (dt.datetime(2026, 12, 2, 9, 30, tzinfo=LONDON), "2 December 2026", "9:30am"),
        (dt.datetime(2026, 7, 14, 12, 0, tzinfo=LONDON), "14 July 2026", "midday"),
        (dt.datetime(2026, 7, 14, 0, 0, tzinfo=LONDON), "14 July 2026", "midnight"),
        (dt.datetime(2026, 7, 14, 15, 0, tzinfo=LONDON), "14 July 2026", "3pm"),
        # Stored in UTC, shown in UK time: 23:30 UTC in summer is the next day in London.
        (dt.datetime(2026, 7, 14, 23, 30, tzinfo=dt.UTC), "15 July 2026", "12:30am"),
    ],
)
def test_one_date_format_everywhere(settings, moment, date_text, time_text):
    settings.TIME_ZONE = "Europe/London"
    assert nhs_date(moment) == date_text
    assert nhs_time(moment) == time_text
    assert nhs_datetime(moment) == f"{date_text} at {time_text}"
    assert nhs_date(dt.date(2026, 3, 1)) == "1 March 2026"


class _Form(NHSForm):
    reason = forms.ChoiceField(
        label="Reason", choices=[("A", "A reason"), ("OTHER", "Other")], widget=forms.RadioSelect
    )
    words = forms.CharField(label="Words the practice will see", max_length=70, required=False)
    practice = forms.CharField(label="Practice ODS code", max_length=6)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].reveals = {"OTHER": "words"}


def render(form) -> str:
    template = engines["django"].from_string("{% load pcrm %}{% for field in form %}{% nhs_field field %}{% endfor %}")
    return template.render({"form": form})


def test_other_reveals_its_words_under_the_choice_and_nothing_is_cut_off():
    html = render(_Form())
    assert 'aria-controls="conditional-id_reason_1"' in html
    assert (
        '<div class="nhsuk-radios__conditional nhsuk-radios__conditional--hidden" id="conditional-id_reason_1">' in html
    )
    assert html.count('name="words"') == 1  # drawn once, inside the reveal
    assert not re.search(r"\smaxlength=", html)  # the browser never cuts it off...
    assert 'data-module="nhsuk-character-count" data-maxlength="70"' in html  # ...a character count shows the limit
    chosen = render(_Form({"reason": "OTHER", "words": "", "practice": "A81001"}))
    assert "nhsuk-radios__conditional--hidden" not in chosen


def test_errors_name_their_field():
    form = _Form({"reason": "", "practice": "A810011"})
    assert not form.is_valid()
    assert form.errors["reason"] == ["Select reason"]
    assert form.errors["practice"] == ["Practice ODS code must be 6 characters or fewer"]


@pytest.mark.django_db
def test_an_htmx_swap_with_errors_says_error_in_the_title(client, sign_in_as):
    sign_in_as("NBO agent")
    ExceptionCaseFactory()
    cases = reverse("exceptions:case-list")
    failed = client.get(cases, {"practice": "nonsense"}, HTTP_HX_REQUEST="true")
    assert "<title>Error: Work queue – PCRM – NHS</title>" in failed.text
    fixed = client.get(cases, HTTP_HX_REQUEST="true")
    assert "<title>Work queue – PCRM – NHS</title>" in fixed.text
    assert 'role="button"' not in client.get(cases).text
