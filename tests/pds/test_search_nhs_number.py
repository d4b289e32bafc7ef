"""#16 item 6: the patient search's NHS number box is an NHS number field: spaces and dashes allowed,
the check digit checked, errors naming the field, and no character count (a fixed format)."""

import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

pytestmark = pytest.mark.django_db

SEARCH = reverse("pds:patient-search")


@pytest.fixture
def as_agent(client, agent):
    client.force_login(agent)
    return client


def test_a_wrong_check_digit_is_an_error_naming_the_field_with_the_number_kept(as_agent):
    response = as_agent.post(SEARCH, {"nhs_number": "943 476 5918"})
    assert response.context["form"].errors["nhs_number"] == ["Enter a valid NHS number: this one fails its check digit"]
    assertContains(response, 'href="#id_nhs_number"')  # the error summary links to the box
    assertContains(response, 'value="943 476 5918"')


def test_letters_or_the_wrong_length_are_explained_too(as_agent):
    response = as_agent.post(SEARCH, {"nhs_number": "943 476 591"})
    assert response.context["form"].errors["nhs_number"] == ["Enter a 10-digit NHS number, like 943 476 5919"]


def test_dashes_are_allowed_and_the_box_has_no_character_count(as_agent, jane):
    assertRedirects(
        as_agent.post(SEARCH, {"nhs_number": "943-476-5919"}),
        reverse("pds:patient-detail", args=["9434765919"]),
        fetch_redirect_response=False,
    )
    page = as_agent.get(SEARCH).text
    box = re.search(r"<input[^>]*name=\"nhs_number\"[^>]*>", page).group(0)
    assert "maxlength" not in box and "nhsuk-js-character-count" not in box
    assert "up to 12 characters" not in page


def test_no_box_of_the_search_has_maxlength(as_agent):
    # NHSBoundField drops it for every NHS.UK form; a too-long name is an error naming the field instead.
    assert not re.search(r"\smaxlength=", as_agent.get(SEARCH).text)
    response = as_agent.post(SEARCH, {"surname": "S" * 40, "postcode": "LS1 4AP"})
    assert response.context["form"].errors["surname"] == ["Last name must be 35 characters or fewer"]
    assertContains(response, f'value="{"S" * 40}"')
