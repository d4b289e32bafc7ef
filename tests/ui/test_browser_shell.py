"""In a real browser, #16's shell journeys, each walked as the role that does it, with axe on every page.

Item 1: each role signs in to its own home and menu (a PCSE viewer to capitation, never a 403).
Item 15: a failed sign-in keeps where the person was going. Item 16: error pages in the NHS.UK style.
"""

import datetime as dt
import re

import pytest
from factories import ExceptionCaseFactory, UserFactory
from playwright.sync_api import Page, expect
from support import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


# --- the queue: items 4, 5, 8, 10, 15 ------------------------------------------------------------------------


@pytest.fixture
def busy_queue():
    from django.utils import timezone

    from exceptions.models import ExceptionCase

    now = timezone.now()
    made = []
    for i in range(30):
        kind = ("NO_TRACE", "DECEASED", "UNKNOWN_GP")[i % 3]
        made.append(
            ExceptionCaseFactory(
                kind=kind, summary=f"Case {i} of a busy day", practice_ods=f"A8{i % 5:04d}",
                due_at=now + dt.timedelta(hours=i - 10),
            )
        )  # fmt: skip
    ExceptionCase.objects.filter(pk=made[0].pk).update(status="IN_PROGRESS")  # escalated: in progress, nobody
    return made


def test_an_agent_works_a_dense_queue_at_1024_by_768(open_browser, busy_queue, live_server):
    UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    page = open_browser("asha")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{live_server.url}/cases/")

    # Cases are visible without scrolling; the bulk bar waits until a case is ticked.
    first_row = page.locator("tbody tr[data-case-url]").first
    box = first_row.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 768, box
    expect(page.locator("#bulk-form")).to_be_hidden()
    for header in ("NHS number", "Name", "Due", "Status"):
        expect(page.get_by_role("columnheader", name=header)).to_be_visible()
    assert_accessible(page)
    first_row.get_by_role("checkbox").check()
    expect(page.locator("#bulk-form")).to_be_visible()
    expect(page.locator("#bulk-form legend")).to_have_text("1 case selected")
    first_row.get_by_role("checkbox").uncheck()
    expect(page.locator("#bulk-form")).to_be_hidden()

    # A search by number from this tab: focus leaves the box, so the shortcut keys work at once.
    target = busy_queue[7]
    page.get_by_label("Search by NHS number or name").fill(target.nhs_number)
    page.keyboard.press("Enter")
    expect(page.locator("#case-count")).to_contain_text("1 matching case")
    expect(page.locator("#case-count")).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator(f"#case-{target.pk} a.pcrm-case-link")).to_be_focused()

    # Filtered to one kind, "Take next" takes the next case of that kind.
    page.goto(f"{live_server.url}/cases/?kind=UNKNOWN_GP")
    page.get_by_role("button", name="Take next case").click()
    expect(page.locator(".pcrm-tags")).to_contain_text("Unknown GP")
    assert_accessible(page)

    # On a case page, "t" asks first; "Stay on this case" stays.
    here = page.url
    page.keyboard.press("t")
    dialog = page.get_by_role("dialog", name="Take the next case?")
    expect(dialog).to_be_visible()
    assert_accessible(page)
    dialog.get_by_role("button", name="Stay on this case").click()
    expect(dialog).to_be_hidden()
    assert page.url == here
    page.keyboard.press("t")
    page.get_by_role("button", name="Take next case").last.click()
    expect(page).not_to_have_url(here)
    expect(page.locator(".pcrm-tags")).to_contain_text("Unknown GP")


def test_a_team_leader_sees_escalations_and_work_per_person(open_browser, busy_queue, live_server):
    UserFactory(username="terry", first_name="Terry", last_name="Leader", roles=["Team leader"])
    page = open_browser("terry")
    expect(page.locator("#view-escalated")).to_contain_text("1")
    page.locator("#view-escalated").click()
    expect(page.locator("tbody tr[data-case-url]")).to_have_count(1)
    expect(page.locator("tbody tr[data-case-url] .nhsuk-tag").filter(has_text="Escalated")).to_have_count(1)
    assert_accessible(page)

    page.get_by_role("link", name="Work per person").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Work per person")
    expect(page.locator("#escalated-link")).to_contain_text("1")
    assert_accessible(page)

    # Saved filters: save the filtered queue under a name, then come back to it in one click.
    page.goto(f"{live_server.url}/cases/?kind=DECEASED")
    page.get_by_text("Save these filters").click()
    page.get_by_label("Name these filters").fill("Deaths")
    page.get_by_role("button", name="Save filters").click()
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text("Saved your filters as “Deaths”")
    assert_accessible(page)
    page.goto(f"{live_server.url}/cases/")
    page.locator("#saved-filters").get_by_role("link", name="Deaths").click()
    expect(page).to_have_url(re.compile(r"kind=DECEASED"))
    for row in page.locator("tbody tr[data-case-url]").all():
        expect(row).to_contain_text("Deceased")


# --- item 6: the idle-timeout warning ------------------------------------------------------------------------


def test_an_agent_is_warned_before_the_idle_timeout_and_can_stay_signed_in(open_browser, live_server, settings):
    settings.SESSION_COOKIE_AGE = 8  # warned after 4 seconds without activity, signed out after 8
    UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    page = open_browser("asha")
    page.goto(f"{live_server.url}/cases/?view=mine")

    dialog = page.get_by_role("dialog", name="You will be signed out soon")
    expect(dialog).to_be_visible(timeout=7000)
    expect(page.locator("#session-stay")).to_be_focused()
    assert_accessible(page)
    with page.expect_response(lambda r: r.url.endswith("/session/keep-alive/") and r.status == 204):
        dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()

    # Nobody answers the next warning: the page goes to sign-in, which brings them back here afterwards.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fcases%2F%3Fview%3Dmine$"), timeout=12000)
    sign_in(page, "asha")
    expect(page).to_have_url(f"{live_server.url}/cases/?view=mine")
