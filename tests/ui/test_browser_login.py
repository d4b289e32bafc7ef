"""In a real browser: an NBO agent signs in, finds the NO_TRACE case, sorts the queue with htmx, signs out.

Given/when/then as in MBS's system tests, with an axe accessibility check on each page. Screenshots go to
.run/screenshots/ (`make screenshots` refreshes docs/screenshots/ for the README).
"""

import re

import pytest
from factories import ExceptionCaseFactory, UserFactory
from playwright.sync_api import Page, expect
from support import assert_accessible, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue():
    """The case the pipeline opens for an unknown NHS number, among a few others."""
    ExceptionCaseFactory(kind="DEAD_LETTER", summary="Processing failed 5 times", practice_ods="Y03001", nhs_number="")
    ExceptionCaseFactory(kind="NO_TRACE", summary="NHS number not known to PDS", practice_ods="B82005")
    ExceptionCaseFactory(kind="DECEASED", summary="PDS records the patient as deceased", practice_ods="A81002")
    ExceptionCaseFactory(kind="UNKNOWN_GP", summary="GP 4826940 is not in reference data", practice_ods="C84001")


def test_an_agent_signs_in_sees_the_no_trace_case_and_sorts_the_queue(browser_page: Page, live_server, queue):
    page = browser_page
    UserFactory(username="asha.patel", first_name="Asha", last_name="Patel", roles=["NBO agent"])

    # Given an agent who is not signed in, when they open the work queue, then they are asked to sign in.
    page.goto(f"{live_server.url}/cases/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/cases/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to PCRM")
    assert_accessible(page)
    screenshot(page, "login")

    # When they sign in, then they land on the queue and see the case PDS could not trace.
    sign_in(page, "asha.patel")
    expect(page).to_have_url(f"{live_server.url}/cases/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Work queue")
    expect(page.locator("#case-count")).to_have_text("4 cases")
    row = page.get_by_role("row").filter(has_text="NHS number not known to PDS")
    expect(row).to_have_count(1)
    expect(row.locator(".nhsuk-tag").first).to_have_text("No trace")
    expect(row).to_contain_text(re.compile(r"\d{3} \d{3} \d{4}"))
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Asha Patel")
    assert_accessible(page)

    # When they sort by practice, then htmx swaps only the table and the address bar keeps the sort.
    page.evaluate("window.__sameDocument = true")
    with page.expect_request(lambda r: "sort=practice_ods" in r.url) as sort_request:
        page.get_by_role("link", name="Practice", exact=True).click()
    assert sort_request.value.headers.get("hx-request") == "true"
    expect(page).to_have_url(f"{live_server.url}/cases/?sort=practice_ods")
    expect(page.get_by_role("columnheader", name="Practice")).to_have_attribute("aria-sort", "ascending")
    assert page.evaluate("window.__sameDocument") is True, "the sort reloaded the page instead of swapping"
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    practices = page.locator("#queue tbody tr td:nth-child(5)").all_inner_texts()
    assert practices == sorted(practices) == ["A81002", "B82005", "C84001", "Y03001"]
    # Focus stays on the header link the user activated (htmx restores it by id).
    expect(page.locator("#sort-practice_ods")).to_be_focused()

    # Sorting again reverses it.
    page.get_by_role("link", name="Practice", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/cases/?sort=-practice_ods")
    expect(page.get_by_role("columnheader", name="Practice")).to_have_attribute("aria-sort", "descending")
    page.get_by_role("link", name="Received", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/cases/?sort=opened_at")
    screenshot(page, "case-list")

    # When they reload the sorted URL, then the server renders the same order without JavaScript's help.
    page.goto(f"{live_server.url}/cases/?sort=practice_ods")
    expect(page.get_by_role("columnheader", name="Practice")).to_have_attribute("aria-sort", "ascending")

    # When they sign out, then they are back at the sign-in page and the queue is closed to them.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/cases/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to PCRM")


def test_a_wrong_password_shows_the_error_summary(browser_page: Page, live_server):
    page = browser_page
    UserFactory(username="asha.patel", roles=["NBO agent"])
    page.goto(f"{live_server.url}/accounts/login/")
    sign_in(page, "asha.patel", "not-the-password")
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_be_focused()  # nhsuk-frontend's JS moves focus to the summary
    assert_accessible(page)


def test_when_the_session_has_expired_an_htmx_sort_goes_to_the_sign_in_page(browser_page: Page, live_server, queue):
    page = browser_page
    UserFactory(username="asha.patel", roles=["NBO agent"])
    page.goto(f"{live_server.url}/accounts/login/")
    sign_in(page, "asha.patel")
    expect(page.get_by_role("heading", level=1)).to_have_text("Work queue")

    # As if the idle timeout had passed. Wait for the favicon and friends first: every response through
    # Django re-sets the session cookie (SESSION_SAVE_EVERY_REQUEST), so one still in flight would undo this.
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    page.get_by_role("link", name="Kind", exact=True).click()

    # Not a sign-in form swapped into the table: the whole page goes to sign in, and comes back after.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/cases/%3Fsort%3Dkind$"))
    expect(page.locator("#queue")).to_have_count(0)
    sign_in(page, "asha.patel")
    expect(page).to_have_url(f"{live_server.url}/cases/?sort=kind")
    expect(page.get_by_role("columnheader", name="Kind")).to_have_attribute("aria-sort", "ascending")
