"""In a real browser, through the local CIS2 provider (oidc-provider): each demo role signs in with its
"smartcard", sees itself and its role in the header, and reaches only what its role profile's mapping
allows; a role with no mapping gets a clear page; changing role goes back through CIS2."""

import re

import pytest
from cis2_local import LEADER_AS_AGENT
from playwright.sync_api import Page, expect
from support import ADMINISTRATOR_MENU, assert_accessible, screenshot, without_web_fonts

from accounts.models import StaffIdentity
from exceptions.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(page: Page, cis2) -> Page:
    without_web_fonts(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    return page


def sign_in_with_cis2(page: Page, live_server, person: str, role: str | None = None) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with CIS2 (local)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with your smartcard")
    page.get_by_label(person).check()
    page.get_by_role("button", name="Continue").click()
    if role is not None:
        expect(page.get_by_role("heading", level=1)).to_have_text("Select your role")
        page.get_by_label(role).check()
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile("^" + re.escape(live_server.url)))  # back at PCRM, signed in or told why not
    page.wait_for_load_state()


def header_areas(page: Page) -> list[str]:
    return page.get_by_role("navigation", name="Menu").get_by_role("link").all_inner_texts()


ROLES = [
    # person, role chosen at CIS2, header role text, areas in the menu, a page refused
    (
        "Alex Agent",
        None,
        "Admin/Clinical Support Access Role, NHS England (National Back Office)",
        ["Work queue", "Dashboard", "Find a patient", "Interchanges"],
        "/audit/",
    ),
    (
        "Terry Leader",
        "Team leader, National Back Office",
        "Team leader, National Back Office, NHS England (National Back Office)",
        ["Team overview", "Work queue", "Dashboard", "Find a patient", "Interchanges", "Audit", "Migration"],
        "/registrations/capitation/",
    ),
    (
        "Pat Pcse",
        None,
        "Payments officer, PCSE, Primary Care Support England",
        ["Capitation"],
        "/cases/",
    ),
    (
        "Ada Admin",
        None,
        "PCRM service administrator, NHS England (National Back Office)",
        ADMINISTRATOR_MENU,
        None,
    ),
]


@pytest.mark.parametrize(("person", "role", "header_role", "areas", "refused"), ROLES, ids=lambda v: str(v)[:12])
def test_each_role_signs_in_through_cis2_and_reaches_what_it_may(
    browser_page: Page, live_server, person, role, header_role, areas, refused
):
    page = browser_page
    sign_in_with_cis2(page, live_server, person, role)

    account = page.get_by_role("navigation", name="Account")
    expect(account).to_contain_text(person)
    expect(account.get_by_test_id("role-in-use")).to_have_text(header_role)
    expect(account.get_by_role("button", name="Change role")).to_be_visible()
    assert header_areas(page) == areas
    for area in areas:
        if area != "Admin":
            page.get_by_role("navigation", name="Menu").get_by_role("link", name=area, exact=True).click()
            expect(page.get_by_role("heading", level=1)).not_to_have_text("You do not have access to this page")
    if refused:
        page.goto(f"{live_server.url}{refused}")
        expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    if person == "Alex Agent":
        page.goto(f"{live_server.url}/cases/")
        assert_accessible(page)
        screenshot(page, "cis2-signed-in-agent")


def test_the_administrator_edits_the_role_mapping_in_admin(browser_page: Page, live_server):
    page = browser_page
    sign_in_with_cis2(page, live_server, "Ada Admin")
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("link", name="National role mappings").click()
    expect(page.locator("#result_list")).to_contain_text("B0825")
    expect(page.locator("#result_list")).to_contain_text("NBO agent")


def test_a_role_with_no_mapping_is_told_so_in_plain_words(browser_page: Page, live_server):
    page = browser_page
    sign_in_with_cis2(page, live_server, "Rita Reception")

    expect(page.get_by_role("heading", level=1)).to_have_text("Your role does not give you access to PCRM")
    expect(page.locator("main")).to_contain_text("Receptionist")
    expect(page.locator("main")).to_contain_text("B82005")
    expect(page.get_by_role("navigation", name="Account")).to_have_count(0)  # nobody is signed in
    assert_accessible(page)
    screenshot(page, "cis2-no-access")
    page.goto(f"{live_server.url}/cases/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/cases/$"))


def test_changing_role_goes_back_through_cis2(browser_page: Page, live_server):
    page = browser_page
    sign_in_with_cis2(page, live_server, "Terry Leader", "Team leader, National Back Office")
    expect(page.get_by_test_id("role-in-use")).to_contain_text("Team leader, National Back Office")
    assert "Audit" in header_areas(page)

    page.get_by_role("button", name="Change role").click()
    # CIS2 asks for the smartcard and the role again.
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with your smartcard")
    page.get_by_label("Terry Leader").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Admin/Clinical Support Access Role").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("navigation", name="Account").get_by_test_id("role-in-use")).to_have_text(
        "Admin/Clinical Support Access Role, NHS England (National Back Office)"
    )
    assert header_areas(page) == ["Work queue", "Dashboard", "Find a patient", "Interchanges"]
    page.goto(f"{live_server.url}/audit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    user = StaffIdentity.objects.get(uid="555000000012").user
    assert AuditEvent.objects.get(action="change_role", user=user).role_profile == LEADER_AS_AGENT


def test_the_sign_in_page_offers_cis2(browser_page: Page, live_server):
    page = browser_page
    page.goto(f"{live_server.url}/cases/")
    expect(page.get_by_role("link", name="Sign in with CIS2 (local)")).to_have_attribute(
        "href", "/accounts/cis2/start/?next=/cases/"
    )
    assert_accessible(page)
    screenshot(page, "cis2-sign-in")
