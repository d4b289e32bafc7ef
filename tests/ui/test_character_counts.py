"""#16 item 6 (ADR 0020): every bounded text field shows the NHS.UK character count, and text that is too
long is an error naming the field, kept as typed, never cut off."""

import re

import pytest
from django import forms
from django.urls import reverse
from pytest_django.asserts import assertContains

from core.forms import NHSForm, NHSNumberField
from exceptions.services import queue

pytestmark = pytest.mark.django_db

TOO_LONG = "PLEASE CHECK THE PATIENT DETAILS WITH THE PRACTICE MANAGER BEFORE RESENDING THIS ONE"  # 84


def counted(html: str, name: str) -> str | None:
    """The limit of the character count around the control called `name`, or None if it has none."""
    for group in re.findall(r'<div class="nhsuk-form-group nhsuk-character-count.*?</div>\s*</div>', html, re.S):
        if f'name="{name}"' in group:
            assert "nhsuk-js-character-count" in group
            return re.search(r'data-maxlength="(\d+)"', group).group(1)
    return None


def test_every_bounded_text_field_of_an_action_has_a_count_and_no_maxlength(client, sign_in_as, two_janes):
    agent = sign_in_as("NBO agent")
    queue.claim(two_janes.case.pk, by=agent)
    page = client.get(reverse("exceptions:case-action", args=[two_janes.case.pk, "reject_to_practice"]))
    assert counted(page.text, "text") == "70"
    assert counted(page.text, "note") == "1000"
    assertContains(page, "You can enter up to 70 characters")
    assert not re.search(r"\smaxlength=", page.text)


def test_too_long_is_an_error_naming_the_field_and_the_text_is_kept_whole(client, sign_in_as, two_janes):
    agent = sign_in_as("NBO agent")
    queue.claim(two_janes.case.pk, by=agent)
    url = reverse("exceptions:case-action", args=[two_janes.case.pk, "reject_to_practice"])
    response = client.post(url, {"reason_code": "OTHER", "text": TOO_LONG})
    assertContains(response, "The words for the practice must be 70 characters or fewer", status_code=400)
    assertContains(response, f'value="{TOO_LONG}"', status_code=400)
    assert counted(response.text, "text") == "70"


def test_the_queue_and_the_patient_search_count_their_bounded_boxes(client, sign_in_as):
    sign_in_as("Team leader")
    queue_page = client.get(reverse("exceptions:case-list"), {"kind": "NO_TRACE"})
    assert counted(queue_page.text, "name") == "60"  # the name of saved filters
    assert counted(queue_page.text, "q") is None  # the search box has no limit, so no count
    search = client.get(reverse("pds:patient-search"))
    assert counted(search.text, "surname") == "35"


class _Form(NHSForm):
    nhs_number = NHSNumberField(label="NHS number")
    words = forms.CharField(label="Words", max_length=20)
    free = forms.CharField(label="Anything")


def test_only_text_fields_with_a_limit_are_counted_and_not_nhs_numbers():
    form = _Form()
    assert form["words"].character_count == 20
    assert form["words"].nhs_template == "components/field_character_count.html"
    assert form["free"].character_count is None
    assert form["nhs_number"].character_count is None
    assert form["nhs_number"].nhs_template == "components/field_input.html"
