"""#16 item 6: typed work survives the end of a session, for the same person only (ADR 0020).

A session ends by the idle timeout (the clock moves past SESSION_COOKIE_AGE); what the person had typed
is kept for them, given back once on the page they were on after they sign in again, and never to anyone
else; it expires within minutes, is sealed at rest, is never logged, and CSRF still guards every POST."""

import datetime as dt
import json
import logging

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from factories import UserFactory
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects
from support import post_sign_in

from accounts import typed_work
from accounts.models import TypedWork
from exceptions.services import queue

pytestmark = pytest.mark.django_db

NOTE = "Spoke to the practice manager: Jane moved on 3 March"
BANNER = "What you typed before you were signed out is back in the form"
IDLE = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)


def sign_in(client, username, next_url):
    assertRedirects(post_sign_in(client, username, next_url), next_url, fetch_redirect_response=False)


def restored_forms(response):
    """The typed work base.html hands to app.js (json_script), or None."""
    html = response.text
    start = html.find('<script id="pcrm-typed-work" type="application/json">')
    if start == -1:
        return None
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


@pytest.fixture
def case_page(two_janes):
    return reverse("exceptions:case-detail", args=[two_janes.case.pk])


def post_note_after_the_session_ended(client, case_page, two_janes, later):
    """Asha is on the case page, walks away, comes back after the idle timeout and adds her note."""
    with time_machine.travel(later, tick=False):
        return client.post(
            reverse("exceptions:case-note", args=[two_janes.case.pk]), {"note": NOTE}, headers={"referer": case_page}
        )


def test_the_same_person_signing_in_again_finds_the_note_back_once(client, asha, two_janes, case_page, caplog):
    sign_in(client, "asha", case_page)
    later = timezone.now() + IDLE
    caplog.set_level(logging.DEBUG)
    response = post_note_after_the_session_ended(client, case_page, two_janes, later)

    # To sign in, coming back to the page the form was on (not the note URL, which only takes a POST).
    assertRedirects(response, f"{reverse('login')}?next={case_page}", fetch_redirect_response=False)
    kept = TypedWork.objects.get(user=asha)
    assert NOTE.encode() not in bytes(kept.sealed)  # sealed at rest
    assert kept.page == typed_work.page_digest(case_page)  # the page too (a queue URL may carry a search)
    assert NOTE not in caplog.text  # and never logged
    assert not two_janes.case.events.filter(note=NOTE).exists()  # kept, not submitted

    with time_machine.travel(later + dt.timedelta(minutes=2), tick=False):
        sign_in(client, "asha", case_page)
        page = client.get(case_page)
        assertContains(page, BANNER)
        assertContains(page, f'<dd class="nhsuk-summary-list__value">{NOTE}</dd>')  # also listed, to copy
        assert restored_forms(page) == [
            {"action": reverse("exceptions:case-note", args=[two_janes.case.pk]), "fields": {"note": [NOTE]}}
        ]
        assert not TypedWork.objects.exists()  # deleted as it was given back
        again = client.get(case_page)
    assertNotContains(again, BANNER)
    assert restored_forms(again) is None


def test_someone_else_signing_in_at_that_computer_never_sees_it(client, asha, two_janes, case_page):
    sign_in(client, "asha", case_page)
    later = timezone.now() + IDLE
    post_note_after_the_session_ended(client, case_page, two_janes, later)
    assert TypedWork.objects.filter(user=asha).count() == 1

    UserFactory(username="sam", roles=["NBO agent"])
    with time_machine.travel(later + dt.timedelta(minutes=1), tick=False):
        sign_in(client, "sam", case_page)
        page = client.get(case_page)
    assertNotContains(page, BANNER)
    assertNotContains(page, NOTE)
    assert restored_forms(page) is None
    assert TypedWork.objects.filter(user=asha).count() == 1  # still Asha's, until it expires


def test_kept_work_expires_within_minutes(client, asha, two_janes, case_page):
    sign_in(client, "asha", case_page)
    later = timezone.now() + IDLE
    post_note_after_the_session_ended(client, case_page, two_janes, later)

    with time_machine.travel(later + typed_work.KEEP_FOR + dt.timedelta(seconds=1), tick=False):
        sign_in(client, "asha", case_page)
        page = client.get(case_page)
    assertNotContains(page, BANNER)
    assert restored_forms(page) is None
    assert not TypedWork.objects.exists()


def test_signing_out_on_purpose_keeps_nothing(client, asha, two_janes, case_page):
    sign_in(client, "asha", case_page)
    client.post(reverse("logout"))
    response = client.post(
        reverse("exceptions:case-note", args=[two_janes.case.pk]), {"note": NOTE}, headers={"referer": case_page}
    )
    assert response.status_code == 302
    assert not TypedWork.objects.exists()


def test_csrf_still_guards_a_post_after_the_session_ended(asha, two_janes, case_page):
    client = Client(enforce_csrf_checks=True)
    client.force_login(asha)
    later = timezone.now() + IDLE
    with time_machine.travel(later, tick=False):
        refused = client.post(reverse("exceptions:case-note", args=[two_janes.case.pk]), {"note": NOTE})
        refused_script = client.post(
            reverse("keep-typed-work"),
            json.dumps({"page": case_page, "forms": [{"action": case_page, "fields": {"note": [NOTE]}}]}),
            content_type="application/json",
        )
    assert refused.status_code == 403
    assert refused_script.status_code == 403
    assert not TypedWork.objects.exists()


def script_keeps(client, page, fields):
    return client.post(
        reverse("keep-typed-work"),
        json.dumps({"page": page, "forms": [{"action": page, "fields": fields}]}),
        content_type="application/json",
    )


def test_the_timeout_script_keeps_the_page_for_the_person_whose_session_ended(client, asha, two_janes):
    action_page = reverse("exceptions:case-action", args=[two_janes.case.pk, "reject_to_practice"])
    sign_in(client, "asha", action_page)
    fields = {"reason_code": ["WRONG_HA"], "note": [NOTE], "csrfmiddlewaretoken": ["x"], "confirmed": ["yes"]}

    alive = script_keeps(client, action_page, fields)  # another tab kept the session going
    assert alive.json() == {"signed_in": True}
    assert not TypedWork.objects.exists()

    later = timezone.now() + IDLE
    with time_machine.travel(later, tick=False):
        ended = script_keeps(client, action_page, fields)
        assert ended.json() == {"sign_in": f"{reverse('login')}?next={action_page.replace('/', '%2F')}"}
        sign_in(client, "asha", action_page)
        page = client.get(action_page)
    # The security token and "confirmed" are never kept: the form is filled in, never sent for them.
    assert restored_forms(page) == [{"action": action_page, "fields": {"reason_code": ["WRONG_HA"], "note": [NOTE]}}]


def test_a_browser_with_no_ended_session_keeps_nothing_and_learns_nothing(client, asha, case_page):
    answer = script_keeps(Client(), case_page, {"note": [NOTE]})
    assert answer.status_code == 200
    assert answer.json() == {"sign_in": f"{reverse('login')}?next={case_page.replace('/', '%2F')}"}
    assert not TypedWork.objects.exists()
    # A page elsewhere is never a place to return to.
    elsewhere = script_keeps(Client(), "https://elsewhere.example/cases/", {"note": [NOTE]})
    assert "elsewhere" not in elsewhere.json()["sign_in"]


def test_more_than_a_page_of_text_is_not_kept(client, asha, two_janes, case_page):
    sign_in(client, "asha", case_page)
    with time_machine.travel(timezone.now() + IDLE, tick=False):
        script_keeps(client, case_page, {"note": ["x" * (typed_work.MAX_CHARACTERS + 1)]})
    assert not TypedWork.objects.exists()


def test_when_the_case_moved_on_meanwhile_the_text_is_still_there_to_copy(client, asha, two_janes):
    action_page = reverse("exceptions:case-action", args=[two_janes.case.pk, "reject_to_practice"])
    sign_in(client, "asha", action_page)
    later = timezone.now() + IDLE
    with time_machine.travel(later, tick=False):
        client.post(action_page, {"reason_code": "OTHER", "note": NOTE}, headers={"referer": action_page})
    # While Asha was away, her team leader gave the case to Sam.
    sam = UserFactory(username="sam", first_name="Sam", last_name="Second", roles=["NBO agent"])
    queue.assign(two_janes.case.pk, to=sam, by=UserFactory(roles=["Team leader"]))

    with time_machine.travel(later + dt.timedelta(minutes=1), tick=False):
        sign_in(client, "asha", action_page)
        page = client.get(action_page)
    assertContains(page, "is now assigned to Sam Second", status_code=403)
    assertContains(page, "Show what you typed", status_code=403)
    assertContains(page, f'<dd class="nhsuk-summary-list__value">{NOTE}</dd>', status_code=403)


def test_a_session_that_ended_long_ago_cannot_be_used_to_plant_text(client, asha, case_page):
    """Whoever sits at that browser days later must not leave text that would be given to Asha."""
    sign_in(client, "asha", case_page)
    with time_machine.travel(timezone.now() + IDLE + typed_work.KEEP_FOR + dt.timedelta(days=3), tick=False):
        answer = script_keeps(client, case_page, {"note": ["Planted"]})
    assert answer.status_code == 200
    assert not TypedWork.objects.exists()


def test_a_malformed_form_from_the_script_is_ignored_not_a_server_error(client, asha, case_page):
    sign_in(client, "asha", case_page)
    with time_machine.travel(timezone.now() + IDLE, tick=False):
        answer = client.post(
            reverse("keep-typed-work"),
            json.dumps({"page": case_page, "forms": [{"action": case_page, "fields": ["note"]}]}),
            content_type="application/json",
        )
    assert answer.status_code == 200
    assert "sign_in" in answer.json()
    assert not TypedWork.objects.exists()
