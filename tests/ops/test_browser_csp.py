"""In a real browser, under the Content-Security-Policy (no inline scripts, no 'unsafe-inline'): no page
breaks a rule of it, the charts (chart.js) draw, htmx still swaps the queue's table, and NHS.UK's
components start."""

import re
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from factories import ExceptionCaseFactory, UserFactory
from playwright.sync_api import Page, expect
from support import sign_in, without_web_fonts

from registrations.capitation import close, quarters, snapshot

# The capitation tests' population builder (tests/capitation is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "capitation"))
from capitation_population import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects every CSP violation the page reports, from before its first script runs.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def watched(page: Page) -> Page:
    without_web_fonts(page)
    page.add_init_script(WATCH)
    page.console_messages = []
    page.on("console", lambda m: page.console_messages.append(m.text))
    return page


def no_violations(page: Page) -> None:
    assert page.evaluate("window.__csp") == []
    assert not [m for m in page.console_messages if "Content Security Policy" in m], page.console_messages


def test_pages_keep_to_the_policy_and_their_scripts_still_work(watched: Page, live_server):
    page = watched
    UserFactory(username="ada.admin", first_name="Ada", last_name="Admin", roles=["Administrator"])
    for kind, practice in (("NO_TRACE", "B82005"), ("DECEASED", "A81002"), ("UNKNOWN_GP", "C84001")):
        ExceptionCaseFactory(kind=kind, summary=f"A {kind} case", practice_ods=practice)
    world = build_world()
    assert world.practices
    quarter = quarters.last_ended_quarter(timezone.localdate())
    snapshot.take_snapshot(close.close_quarter(quarter_end=quarter, by="scheduler").quarter.pk)

    page.goto(f"{live_server.url}/accounts/login/")
    response = page.request.get(f"{live_server.url}/accounts/login/")
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    sign_in(page, "ada.admin")
    expect(page.locator("body.js-enabled")).to_have_count(1)  # js-enabled.js ran
    no_violations(page)

    # htmx: sorting the queue swaps the table in place.
    page.goto(f"{live_server.url}/cases/?view=all")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("link", name="Practice", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=practice_ods"))
    expect(page.get_by_role("columnheader", name="Practice")).to_have_attribute("aria-sort", "ascending")
    assert page.evaluate("window.__sameDocument") is True
    no_violations(page)

    # chart.js on the dashboard: both charts drawn.
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_function("window.Chart && Chart.getChart('chart-backlog') && Chart.getChart('chart-days')")
    no_violations(page)

    # chart.js on the capitation report, whose chart box is sized by script (no inline style attribute).
    page.goto(f"{live_server.url}/registrations/capitation/{quarter.isoformat()}/")
    page.wait_for_function("window.Chart && Chart.getChart('chart-practices')")
    height = page.evaluate("document.getElementById('chart-practices-box').style.height")
    assert height.endswith("rem") and float(height[:-3]) > 2
    no_violations(page)

    # NHS.UK components (nhsuk-init.js): the details element on a case page opens and closes.
    page.goto(f"{live_server.url}/cases/")
    page.locator("#queue tbody a").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    no_violations(page)
