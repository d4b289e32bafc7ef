"""After resolving, the next case is one click, or none (#16 item 9): the resolved case offers "Take my next
case"; ticking "Open my next case straight away" on the action form goes straight there, within the queue
view last used, and is remembered as the person's preference."""

import pytest
from django.urls import reverse
from factories import ExceptionCaseFactory
from pytest_django.asserts import assertContains, assertRedirects

from exceptions.models import ExceptionCase, WorkPreference
from exceptions.services import queue

pytestmark = pytest.mark.django_db


def close(client, case, follow=False, **extra):
    url = reverse("exceptions:case-action", args=[case.pk, "close_no_action"])
    return client.post(url, {"reason_code": "NO_ACTION_NEEDED", **extra}, follow=follow)


def test_the_resolved_case_offers_the_next_case_in_one_click(client, agent):
    case = ExceptionCaseFactory(kind="MESH_REPORT", nhs_number="")
    queue.claim(case.pk, by=agent)
    response = close(client, case, follow=True)
    assertContains(response, "This case is closed.")
    assertContains(response, 'id="take-next-after"')
    assertContains(response, 'action="/cases/take-next/"')


def test_choosing_to_go_straight_on_opens_the_next_case_and_is_remembered(client, agent):
    case = ExceptionCaseFactory(kind="MESH_REPORT", nhs_number="")
    waiting = ExceptionCaseFactory(kind="MESH_REPORT", nhs_number="")
    queue.claim(case.pk, by=agent)
    form = client.get(reverse("exceptions:case-action", args=[case.pk, "close_no_action"]))
    assertContains(form, "Open my next case straight away")

    response = close(client, case, then_next="yes")

    assertRedirects(response, reverse("exceptions:case-detail", args=[waiting.pk]), fetch_redirect_response=False)
    assert ExceptionCase.objects.get(pk=waiting.pk).assigned_to == agent
    assert ExceptionCase.objects.get(pk=case.pk).status == "CLOSED"
    assert WorkPreference.objects.get(user=agent).next_case_after_resolving
    # Next time the choice is already made.
    form = client.get(reverse("exceptions:case-action", args=[waiting.pk, "close_no_action"]))
    assertContains(form, 'name="then_next" value="yes" id="id_then_next_0" class="nhsuk-checkboxes__input" checked')

    # With nothing left to take, the person is told so on the queue.
    response = close(client, waiting, then_next="yes", follow=True)
    assertContains(response, "There are no unassigned cases to take.")
    # Unticking it is remembered too.
    third = ExceptionCaseFactory(kind="MESH_REPORT", nhs_number="")
    queue.claim(third.pk, by=agent)
    assertRedirects(
        close(client, third), reverse("exceptions:case-detail", args=[third.pk]), fetch_redirect_response=False
    )
    assert not WorkPreference.objects.get(user=agent).next_case_after_resolving


def test_an_escalation_leaves_the_case_open_so_offers_no_next(client, agent):
    case = ExceptionCaseFactory(kind="MESH_REPORT", nhs_number="")
    queue.claim(case.pk, by=agent)
    form = client.get(reverse("exceptions:case-action", args=[case.pk, "escalate"]))
    assert "Open my next case straight away" not in form.text
