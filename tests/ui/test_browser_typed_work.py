"""In a real browser, #16 item 6 "never lose typed work" (ADR 0020), with axe on every page visited.

An agent types a note, walks away, the session ends and the timeout script keeps the note for her; she
signs in again and finds it back in the box (another person signing in at that browser finds nothing).
Back from a check-your-answers page (the page's link or the browser's) keeps the answers. Text fields
show a live character count.
"""

import re

import pytest
from factories import UserFactory
from playwright.sync_api import Page, expect
from support import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTE = "Rang the practice: Jane moved to Leeds in March, the second record is hers"
BANNER = "What you typed before you were signed out is back in the form"


def count_status(page: Page, text: str):
    """The visible message of an NHS.UK character count (its screen-reader twin says the same, later)."""
    return page.locator(".nhsuk-character-count__status", has_text=text)


def let_the_session_end_with_a_note_typed(page: Page, case_url: str) -> None:
    """Asha opens the case, types a note and walks away: warned, nobody answers, the session ends."""
    page.goto(case_url)
    note = page.get_by_label("Add a note")
    note.fill(NOTE)
    expect(count_status(page, f"You have {1000 - len(NOTE)} characters remaining")).to_be_visible()
    dialog = page.get_by_role("dialog", name="You will be signed out soon")
    expect(dialog).to_be_visible(timeout=7000)
    expect(dialog).to_contain_text("what you have typed on this page is kept for you for 15 minutes")
    with page.expect_response(lambda r: r.url.endswith("/session/typed-work/") and r.status == 200):
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next="), timeout=12000)


def test_signed_in_again_the_agent_finds_her_note_back(open_browser, live_server, settings, asha, two_janes):
    settings.SESSION_COOKIE_AGE = 8  # warned after 4 seconds without activity, signed out after 8
    case_url = f"{live_server.url}/cases/{two_janes.case.pk}/"
    page = open_browser("asha")
    let_the_session_end_with_a_note_typed(page, case_url)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=%2Fcases%2F{two_janes.case.pk}%2F")
    assert_accessible(page)

    settings.SESSION_COOKIE_AGE = 600  # time to look at what came back
    sign_in(page, "asha")
    expect(page).to_have_url(case_url)
    expect(page.get_by_role("region", name="Important")).to_contain_text(BANNER)
    expect(page.get_by_label("Add a note")).to_have_value(NOTE)  # back in the box, not added to the case
    expect(count_status(page, f"You have {1000 - len(NOTE)} characters remaining")).to_be_visible()
    expect(page.locator("#history")).not_to_contain_text(NOTE)
    page.get_by_text("Show what you typed").click()  # also there to copy, should the form not be
    expect(page.locator("#typed-work-text")).to_contain_text(NOTE)
    assert_accessible(page)

    # She checks it and adds it herself; shown once, it is gone from the next page.
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    expect(page.get_by_text(BANNER)).to_have_count(0)
    expect(page.get_by_label("Add a note")).to_have_value("")


def test_someone_else_signing_in_at_that_browser_finds_nothing(open_browser, live_server, settings, asha, two_janes):
    settings.SESSION_COOKIE_AGE = 8
    UserFactory(username="sam", first_name="Sam", last_name="Second", roles=["NBO agent"])
    case_url = f"{live_server.url}/cases/{two_janes.case.pk}/"
    page = open_browser("asha")
    let_the_session_end_with_a_note_typed(page, case_url)

    settings.SESSION_COOKIE_AGE = 600
    sign_in(page, "sam")
    expect(page).to_have_url(case_url)
    expect(page.get_by_label("Add a note")).to_have_value("")
    expect(page.get_by_text(BANNER)).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(NOTE)


def test_back_from_check_your_answers_keeps_them(open_browser, live_server, asha, two_janes):
    page = open_browser("asha")
    form_url = f"{live_server.url}/cases/{two_janes.case.pk}/actions/reject_to_practice/"
    page.goto(form_url)
    page.get_by_role("radio", name="Other (text required)").check()
    words = page.get_by_label(re.compile(r"^Words the practice will see"))
    words.fill("PLEASE RESEND WITH THE PATIENTS PREVIOUS ADDRESS")
    expect(count_status(page, "You have 22 characters remaining")).to_be_visible()
    page.get_by_label("Note (optional)").fill("Checked PDS: two records, neither matches the address")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Are you sure"))
    assert_accessible(page)

    def answers_kept():
        expect(page.get_by_role("radio", name="Other (text required)")).to_be_checked()
        expect(words).to_have_value("PLEASE RESEND WITH THE PATIENTS PREVIOUS ADDRESS")
        expect(page.get_by_label("Note (optional)")).to_have_value(
            "Checked PDS: two records, neither matches the address"
        )

    # The page's own Back link...
    page.get_by_role("button", name="Back").click()
    answers_kept()
    # ...and the browser's Back button, from the confirmation page again.
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Are you sure"))
    page.go_back()
    answers_kept()
    expect(count_status(page, "You have 22 characters remaining")).to_be_visible()
    # A browser that kept no copy of the form (pages are no-store) asks for it again: PCRM fills it in.
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Are you sure"))
    page.goto(form_url)
    answers_kept()
