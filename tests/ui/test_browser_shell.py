"""In a real browser, #16's shell journeys, each walked as the role that does it, with axe on every page.

Item 1: each role signs in to its own home and menu (a PCSE viewer to capitation, never a 403).
Item 15: a failed sign-in keeps where the person was going. Item 16: error pages in the NHS.UK style.
"""

import re

import pytest
from factories import UserFactory
from playwright.sync_api import Page, expect
from support import PASSWORD, assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_pcse_viewer_signs_in_to_capitation_and_meets_only_nhs_pages(browser_page: Page, live_server):
    page = browser_page
    UserFactory(username="pat.pcse", first_name="Pat", last_name="Pcse", roles=["PCSE viewer"])

    # Given a PCSE viewer at the sign-in page, when they sign in, then they land on capitation (no 403).
    page.goto(f"{live_server.url}/accounts/login/")
    sign_in(page, "pat.pcse")
    expect(page).to_have_url(f"{live_server.url}/registrations/capitation/")
    menu = page.get_by_role("navigation", name="Menu")
    expect(menu.get_by_role("link")).to_have_text(["Capitation"])
    assert_accessible(page)

    # When they follow an old link to the queue, then the NHS.UK 403 sends them back to capitation.
    page.goto(f"{live_server.url}/cases/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    assert_accessible(page)
    page.get_by_role("link", name="Go to capitation").click()
    expect(page).to_have_url(f"{live_server.url}/registrations/capitation/")

    # When they mistype an address, then the NHS.UK 404 page says so.
    page.goto(f"{live_server.url}/registrations/capitation/nowhere/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert_accessible(page)


@pytest.mark.parametrize(("role", "heading"), [("NBO agent", "Work queue"), ("Team leader", "Work queue")])
def test_a_failed_sign_in_still_returns_the_person_where_they_were_going(
    browser_page: Page, live_server, role, heading
):
    page = browser_page
    UserFactory(username="sam.staff", roles=[role])
    page.goto(f"{live_server.url}/cases/?view=mine")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))

    # When they mistype the password, then the page says so in its title, and the destination is kept.
    sign_in(page, "sam.staff", "not-the-password")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/cases/%3Fview%3Dmine$"))
    assert_accessible(page)

    # When they try again, then they arrive where they were going.
    sign_in(page, "sam.staff")
    expect(page).to_have_url(f"{live_server.url}/cases/?view=mine")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
