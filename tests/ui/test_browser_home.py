"""In a real browser, #16 items 1, 2, 8 and 9 (ux-home), each walked as the role that does it, axe on every page.

A team leader lands on the team overview and follows its figures into the queue; NHS numbers open the
patient's audited page while the queue's name column opens the case; an agent sets their own working
preferences and the work queue opens the way they chose.
"""

import datetime as dt

import pytest
from factories import ExceptionCaseFactory, PatientFactory, TransactionFactory, UserFactory
from playwright.sync_api import Page, expect
from support import assert_accessible, screenshot

from exceptions.models import AuditEvent, ExceptionCase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JANE = "9434765919"


@pytest.fixture
def team_day(now):
    """A morning for a small team: two escalations, a late deduction review of Jane's, unassigned work of all ages."""
    asha = UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    UserFactory(username="ben", first_name="Ben", last_name="Okafor", roles=["NBO agent"])
    UserFactory(username="terry", first_name="Terry", last_name="Leader", roles=["Team leader"])
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    jane_tx = TransactionFactory(type="G5", data={"nhs_number": JANE, "surname": "STEVENS", "forenames": ["JANE"]})
    late = ExceptionCaseFactory(
        kind="DEDUCTION_REVIEW", summary="Practice asks to remove Jane (reason 5)", nhs_number=JANE,
        transaction=jane_tx, assigned_to=asha, status="IN_PROGRESS", due_at=now - dt.timedelta(days=1),
    )  # fmt: skip
    escalated = [
        ExceptionCaseFactory(kind="MULTIPLE_MATCHES", status="IN_PROGRESS", summary="Two Jane Stevens on PDS"),
        ExceptionCaseFactory(kind="SENSITIVE", status="IN_PROGRESS", summary="S-flagged record: needs a leader"),
    ]
    unassigned = []
    for i, kind in enumerate(["NO_TRACE", "UNKNOWN_GP", "DEMOGRAPHIC_MISMATCH", "NO_TRACE"]):
        case = ExceptionCaseFactory(kind=kind, due_at=now + dt.timedelta(hours=6 + 20 * i))
        ExceptionCase.objects.filter(pk=case.pk).update(opened_at=now - dt.timedelta(days=4 - i))
        unassigned.append(case)
    ExceptionCaseFactory(kind="NO_TRACE", assigned_to=asha, status="IN_PROGRESS", due_at=now + dt.timedelta(days=3))
    return {"asha": asha, "late": late, "escalated": escalated, "unassigned": unassigned}


def test_a_team_leader_lands_on_the_overview_and_follows_it_into_the_queue(open_browser, live_server, team_day):
    # Given Terry, a team leader: signing in lands on the team overview (open_browser checks the landing).
    page = open_browser("terry", start="/team/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Team overview")
    menu = page.get_by_role("navigation", name="Menu")
    expect(menu.get_by_role("link").first).to_have_text("Team overview")
    expect(menu.get_by_role("link", name="Team overview")).to_have_attribute("aria-current", "page")
    expect(page.locator("#figure-escalated .pcrm-figure__value")).to_have_text("2")
    expect(page.locator("#figure-overdue .pcrm-figure__value")).to_have_text("1")
    expect(page.locator("#escalated-table tbody tr")).to_have_count(2)
    expect(page.locator("#unassigned-table tbody tr").first).to_contain_text(f"Case {team_day['unassigned'][0].pk}")
    asha_row = page.locator("#workload-table tbody tr", has_text="Asha Patel")
    expect(asha_row.locator("td")).to_have_text(["2", "1", "0"])
    assert_accessible(page)
    screenshot(page, "team-overview")

    # When he opens the late case's patient from the overdue list, then the patient page opens, audited.
    page.locator("#overdue-table").get_by_role("link", name="943 476 5919").click()
    expect(page).to_have_url(f"{live_server.url}/pds/patients/{JANE}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("STEVENS")
    assert AuditEvent.objects.filter(action="view_patient", nhs_number=JANE, user__username="terry").exists()
    assert_accessible(page)
    screenshot(page, "patient")

    # When he follows the escalated figure, then the queue's Escalated view lists those two.
    page.go_back()
    page.locator("#figure-escalated").click()
    expect(page).to_have_url(f"{live_server.url}/cases/?view=escalated")
    expect(page.locator("#view-escalated")).to_have_attribute("aria-current", "page")
    expect(page.locator("tbody tr[data-case-url]")).to_have_count(2)
    assert_accessible(page)

    # When he follows Asha's name, then the queue shows what she holds.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Team overview").click()
    page.locator("#workload-table").get_by_role("link", name="Asha Patel").click()
    expect(page).to_have_url(f"{live_server.url}/cases/?view=team&assignee={team_day['asha'].pk}")
    expect(page.locator("tbody tr[data-case-url]")).to_have_count(2)

    # And Work per person on its own page belongs to the team overview too.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Team overview").click()
    page.get_by_role("link", name="Work per person on its own page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Work per person")
    expect(page.get_by_role("navigation", name="Menu").get_by_role("link", name="Team overview")).to_have_attribute(
        "aria-current", "page"
    )
    assert_accessible(page)


def test_in_the_queue_the_number_opens_the_patient_and_the_name_opens_the_case(open_browser, live_server, team_day):
    # Given Asha on My work, holding Jane's late deduction review.
    page = open_browser("asha", start="/cases/?view=mine")
    late = team_day["late"]
    row = page.locator(f"#case-{late.pk}")
    expect(row.get_by_role("link", name="943 476 5919")).to_have_attribute("href", f"/pds/patients/{JANE}/")
    assert_accessible(page)

    # When she follows the NHS number, then the patient's page opens; Back returns to the same queue view.
    row.get_by_role("link", name="943 476 5919").click()
    expect(page).to_have_url(f"{live_server.url}/pds/patients/{JANE}/")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/cases/?view=mine")

    # When she follows the name, then the case opens, and its Patient row links the patient again.
    page.locator(f"#case-{late.pk}").get_by_role("link", name=f"STEVENS, Jane (case {late.pk})").click()
    expect(page).to_have_url(f"{live_server.url}/cases/{late.pk}/")
    expect(page.locator("#case-patient-link")).to_have_attribute("href", f"/pds/patients/{JANE}/")
    assert_accessible(page)


def test_an_agent_sets_their_working_preferences_and_the_queue_follows_them(open_browser, live_server, team_day):
    page: Page = open_browser("asha")
    expect(page.locator("#view-unassigned")).to_have_attribute("aria-current", "page")

    # When Asha opens Your settings from the header and chooses My work and the next case after resolving ...
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Your settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your settings")
    expect(page.get_by_label("Stay on the case I resolved")).to_be_checked()
    assert_accessible(page)
    page.get_by_role("button", name="Save settings").click()  # nothing changed: saving is harmless
    page.get_by_label("Open my next case straight away").check()
    page.get_by_label("My work").check()
    page.get_by_role("button", name="Save settings").click()

    # ... then the page says so, and the work queue now opens on My work.
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Your settings are saved.")
    expect(page.get_by_label("My work")).to_be_checked()
    assert_accessible(page)
    screenshot(page, "settings")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Work queue").click()
    expect(page.locator("#view-mine")).to_have_attribute("aria-current", "page")
    expect(page.locator("tbody tr[data-case-url]")).to_have_count(2)
