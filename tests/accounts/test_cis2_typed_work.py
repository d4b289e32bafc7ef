"""#16 item 6 through a real CIS2 sign-in (the local provider): typed work kept when the session ended is
given back after the same smartcard signs in again, and not after another one does (ADR 0020)."""

import datetime as dt

import pytest
from cis2_local import AGENT, LEADER, LEADER_AS_LEADER
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import TypedWork

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PAGE = "/cases/?view=mine"
WORDS = "No trace in Leeds, born 1980"


def end_the_session_with_work_typed(http_sign_in) -> None:
    http_sign_in.sign_in(AGENT)
    assert http_sign_in.get(PAGE).status_code == 200  # the page, and its CSRF cookie
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))  # the idle timeout
    answer = http_sign_in.post(
        "/session/typed-work/",
        json={"page": PAGE, "forms": [{"action": "/cases/saved-filters/", "fields": {"name": [WORDS]}}]},
    )
    assert answer.json() == {"sign_in": "/accounts/login/?next=%2Fcases%2F%3Fview%3Dmine"}
    assert TypedWork.objects.count() == 1


def test_the_same_smartcard_finds_it_back(http_sign_in):
    end_the_session_with_work_typed(http_sign_in)
    http_sign_in.sign_in(AGENT)
    page = http_sign_in.get(PAGE)
    assert "What you typed before you were signed out is back in the form" in page.text
    assert WORDS in page.text
    assert not TypedWork.objects.exists()


def test_another_smartcard_at_that_browser_does_not(http_sign_in):
    end_the_session_with_work_typed(http_sign_in)
    # Terry sits down at the same browser: Alex's smartcard came out, so the provider's own sign-in went
    # with it; PCRM's cookies (the ended session's, the CSRF token) stay as the browser keeps them.
    for cookie in list(http_sign_in.http.cookies):
        if cookie.name not in ("sessionid", "csrftoken"):
            http_sign_in.http.cookies.clear(cookie.domain, cookie.path, cookie.name)
    http_sign_in.sign_in(LEADER, LEADER_AS_LEADER)
    page = http_sign_in.get(PAGE)
    assert page.status_code == 200
    assert WORDS not in page.text
    assert TypedWork.objects.count() == 1
