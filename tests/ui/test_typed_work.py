"""#16 item 6 (part): typed work is not lost — Back from a confirmation page keeps the answers, and a case
reassigned while its form was open says who holds it now."""

import re

import pytest
from django.urls import reverse
from factories import UserFactory
from pytest_django.asserts import assertContains, assertNotContains

from exceptions.models import ExceptionCase
from exceptions.services import queue

pytestmark = pytest.mark.django_db


def action_url(case, action):
    return reverse("exceptions:case-action", args=[case.pk, action])


def test_back_from_the_confirmation_page_keeps_the_answers(client, sign_in_as, two_janes):
    agent = sign_in_as("NBO agent")
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    answers = {"reason_code": "WRONG_HA", "note": "The practice belongs to another HA."}
    confirm = client.post(action_url(case, "reject_to_practice"), answers)
    assertContains(confirm, 'name="change" value="yes"')

    back = client.post(action_url(case, "reject_to_practice"), {**answers, "change": "yes"})
    assert back.status_code == 200
    assert "Are you sure" not in back.text
    assert re.search(r'<input type="radio" name="reason_code" value="WRONG_HA"[^>]* checked>', back.text)
    assertContains(back, "The practice belongs to another HA.")
    assert ExceptionCase.objects.get(pk=case.pk).status == "IN_PROGRESS"


def test_a_case_reassigned_mid_form_says_who_holds_it_now(client, sign_in_as, two_janes):
    agent = sign_in_as("NBO agent")
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    form = client.get(action_url(case, "reject_to_practice"))
    assert form.status_code == 200
    # Meanwhile a team leader gives the case to someone else.
    leader = UserFactory(roles=["Team leader"])
    sam = UserFactory(first_name="Sam", last_name="Second", roles=["NBO agent"])
    queue.assign(case.pk, to=sam, by=leader)

    response = client.post(action_url(case, "reject_to_practice"), {"reason_code": "DUPLICATE", "confirmed": "yes"})
    assertContains(response, "This case is now someone else’s", status_code=403)
    assertContains(
        response, f"Case {case.pk} is now assigned to Sam Second, so nothing was sent or changed", status_code=403
    )
    assert ExceptionCase.objects.get(pk=case.pk).assigned_to == sam


def test_staying_signed_in_answers_only_a_signed_in_post(client, sign_in_as):
    keep_alive = reverse("keep-alive")
    assert client.post(keep_alive).status_code == 302  # signed out: to sign-in
    sign_in_as("NBO agent")
    assert client.get(keep_alive).status_code == 405
    assert client.post(keep_alive).status_code == 204
    page = client.get(reverse("exceptions:case-list"))
    assertContains(page, f'data-keep-alive-url="{keep_alive}"')
    assertContains(page, 'data-session-warning-seconds="120"')
    assertContains(page, 'data-typed-work-minutes="15"')  # the warning says how long typed work is kept


def test_the_browsers_back_from_the_confirmation_page_finds_the_answers(client, sign_in_as, two_janes):
    """The browser's Back asks for the form again (pages are no-store): it is filled with the answers the
    confirmation page showed, until the action is done."""
    agent = sign_in_as("NBO agent")
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    answers = {"reason_code": "WRONG_HA", "note": "The practice belongs to another HA."}
    assertContains(client.post(action_url(case, "reject_to_practice"), answers), "Are you sure")

    back = client.get(action_url(case, "reject_to_practice"))
    assert back.status_code == 200
    assert re.search(r'<input type="radio" name="reason_code" value="WRONG_HA"[^>]* checked>', back.text)
    assertContains(back, "The practice belongs to another HA.")
    # Another action's form on the same case starts empty.
    assertNotContains(client.get(action_url(case, "escalate")), "The practice belongs to another HA.")

    client.post(action_url(case, "reject_to_practice"), {**answers, "confirmed": "yes"})
    assert ExceptionCase.objects.get(pk=case.pk).status != "IN_PROGRESS"
    assert "pcrm_answers_shown" not in client.session
