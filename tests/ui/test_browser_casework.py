"""In a real browser: the casework journeys of #16 (items 2, 3, 7, 9, 11, 12, 17), each as the role that does
it, with axe on every page visited.

The commonest resolution is counted: `Person` counts every click and every key pressed, so the figures in
the report (clicks and keystrokes to resolve a case and reach the next) are what these tests measure.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from factories import GPFactory, UserFactory
from playwright.sync_api import expect
from support import assert_accessible, screenshot

from exceptions.models import CaseEvent, ExceptionCase
from pds.models import Patient
from registrations.models import OutboxItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Person:
    """A page with a tally: every click (a button, a link, a radio, a checkbox) and every key typed."""

    def __init__(self, page):
        self.page, self.clicks, self.keys = page, 0, 0

    def click(self, locator):
        self.clicks += 1
        locator.click()

    def check(self, locator):
        self.clicks += 1
        locator.check()

    def type(self, locator, text: str):
        self.clicks += 1  # into the box
        self.keys += len(text)
        locator.fill(text)

    def press(self, key: str):
        self.keys += 1
        self.page.keyboard.press(key)


@pytest.fixture
def people():
    return {
        "asha": UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=["NBO agent"]),
        "terry": UserFactory(username="terry", first_name="Terry", last_name="Leader", roles=["Team leader"]),
    }


def test_resolving_with_a_candidate_checks_the_answers_then_goes_straight_to_the_next_case(
    open_browser, live_server, people, two_janes, casework
):
    """The commonest resolution (choose the PDS record and apply: F4 and F2), twice in a row."""
    second = casework.open(nhs_number=None)
    assert second.kind == "MULTIPLE_MATCHES"
    page = open_browser("asha")
    asha = Person(page)

    # The first case: take it, choose the candidate the case page compares, give a reason.
    asha.click(page.get_by_role("button", name="Take next case"))
    expect(page).to_have_url(f"{live_server.url}/cases/{two_janes.case.pk}/")
    assert_accessible(page)
    asha.click(page.locator("#choose-9434765870"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply with this patient")
    asha.check(page.get_by_label("Demographics checked: the same person"))
    # Once only: from now on the next case opens by itself.
    asha.check(page.get_by_label("Open my next case straight away"))
    assert_accessible(page)
    asha.click(page.get_by_role("button", name="Continue"))

    # Then she checks her answers: what will be sent, to whom, and why.
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you sure you want to apply with this patient?")
    answers = page.locator("#confirm-choices")
    expect(answers).to_contain_text("An approval (F4) to the practice, and a deduction (F2)")
    expect(answers).to_contain_text("Demographics checked: the same person")
    assert_accessible(page)
    screenshot(page, "check-your-answers-apply")
    asha.click(page.get_by_role("button", name="Yes, apply with this patient"))

    # And she is on the next case, already hers, told what the last one did.
    expect(page).to_have_url(f"{live_server.url}/cases/{second.pk}/")
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text("F4")
    expect(page.locator("#case-assignee")).to_have_text("Asha Patel")
    assert_accessible(page)
    first_case = (asha.clicks, asha.keys)

    # The second case, with the preference already set: choose, reason, continue, confirm.
    asha.clicks = asha.keys = 0
    asha.click(page.locator("#choose-9434765870"))
    expect(page.get_by_label("Open my next case straight away")).to_be_checked()
    asha.check(page.get_by_label("Demographics checked: the same person"))
    asha.click(page.get_by_role("button", name="Continue"))
    asha.click(page.get_by_role("button", name="Yes, apply with this patient"))
    # Nothing left to take: she is back on the queue, told so.
    expect(page.get_by_role("heading", level=1)).to_have_text("Work queue")
    expect(page.locator("main")).to_contain_text("There are no unassigned cases to take.")
    assert_accessible(page)
    steady = (asha.clicks, asha.keys)

    assert ExceptionCase.objects.filter(status="RESOLVED").count() == 2
    assert OutboxItem.objects.filter(tx_type="F4").count() == 2
    # Measured: the first case 5 clicks from the queue (take next, choose, reason, the once-only
    # preference, continue) plus the confirmation; afterwards 4 clicks a case and no typing.
    assert first_case == (6, 0), first_case
    assert steady == (4, 0), steady


def test_a_superseded_number_case_shows_the_retained_record_and_the_patient_can_be_looked_up(
    open_browser, live_server, people, superseded_case
):
    page = open_browser("asha")
    page.goto(f"{live_server.url}/cases/{superseded_case.pk}/")

    # The retained record sits beside the message, and is a candidate to choose.
    expect(page.get_by_role("heading", name=re.compile("On PDS: retained record 943 476 5919"))).to_be_visible()
    expect(page.locator("#compare-pds")).to_contain_text("JOAN")
    expect(page.locator("#candidate-table")).to_contain_text("Retained record")
    expect(page.locator("#gp-periods")).to_contain_text("B20002")
    assert_accessible(page)
    screenshot(page, "case-superseded")

    # She runs the trace again from the case, on the message's details.
    page.get_by_role("button", name="Run a PDS trace now").click()
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text("PDS trace")
    expect(page.locator(".pcrm-timeline")).to_contain_text("PDS trace run")
    assert CaseEvent.objects.filter(case=superseded_case, action="traced").exists()
    assert_accessible(page)

    # Every NHS number is a link to the patient's record: the retained one, then its change history.
    page.locator("#case-patient").get_by_role("link", name="943 476 5919").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("JOAN STEVENS")
    assert_accessible(page)
    page.get_by_role("link", name="Change history").click()
    expect(page.get_by_role("heading", level=2, name="Change history")).to_be_visible()
    assert_accessible(page)

    # And Find a patient is in the menu: by NHS number, typed with spaces.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Find a patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a patient")
    assert_accessible(page)
    page.get_by_label("NHS number").fill("943 476 5870")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("JOAN STEVENS")  # the superseded number's record
    expect(page.locator("main")).to_contain_text("merged into this record")


def test_reprocessing_a_case_that_still_fails_keeps_it_with_the_new_result(open_browser, live_server, people, casework):
    case = casework.open(nhs_number="9434765919", gp_code="4826949,299")  # a GP code reference data lacks
    assert case.kind == "UNKNOWN_GP"
    page = open_browser("asha")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.get_by_role("button", name="Claim this case").click()
    page.get_by_label("Add a note").fill("Asked the practice for its GP code.")
    page.get_by_role("button", name="Add note").click()

    # Reference data is fixed for the GP, but PDS has no record with the NHS number.
    GPFactory(practice=casework.practice, national_code="4826949", local_code="299")
    page.get_by_role("link", name="Reprocess").click()
    page.get_by_label("Reference data corrected").check()
    assert_accessible(page)
    page.get_by_role("button", name="Reprocess").click()

    # The same case, still hers, with the new result and the note kept.
    expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/")
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text("still needs a person")
    expect(page.locator("#case-assignee")).to_have_text("Asha Patel")
    timeline = page.locator(".pcrm-timeline")
    expect(timeline).to_contain_text("Asked the practice for its GP code.")
    expect(timeline).to_contain_text("Processed again: still needs a person")
    assert ExceptionCase.objects.filter(transaction=case.transaction).count() == 1
    assert ExceptionCase.objects.get(pk=case.pk).kind != "UNKNOWN_GP"
    assert_accessible(page)

    # The case links to its interchange, which links back.
    page.locator("#case-interchange").click()
    expect(page.locator("#cases")).to_be_visible()
    expect(page.locator("main").get_by_role("link", name=re.compile(".+"))).not_to_have_count(0)
    assert_accessible(page)


def test_a_restricted_record_reads_restricted_to_an_agent(open_browser, live_server, people, two_janes):
    Patient.objects.filter(nhs_number="9434765919").update(sensitive=True)
    page = open_browser("asha")
    page.goto(f"{live_server.url}/cases/{two_janes.case.pk}/?compare=9434765919")
    pds = page.locator("#compare-pds")
    expect(pds).to_contain_text("Restricted")
    expect(pds).not_to_contain_text("LS1 4AP")
    expect(page.locator("#registration-history")).to_contain_text("Restricted")
    assert_accessible(page)


def test_a_team_leader_reads_reasons_in_words_and_exports_the_audit_search(
    open_browser, live_server, people, two_janes
):
    from exceptions.services import resolution

    resolution.apply_with_patient(
        two_janes.case, by=people["asha"], nhs_number="9434765919", reason_code="SAME_PERSON_CONFIRMED"
    )
    page = open_browser("terry")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Audit").click()
    page.get_by_label("NHS number").fill("943 476 5919")
    page.get_by_role("button", name="Search the audit log").click()
    decision = page.locator("#audit-table tbody tr", has_text="Case action: Apply with this patient")
    expect(decision).to_contain_text("Reason: Demographics checked: the same person")
    expect(page.locator("#audit-table")).not_to_contain_text("SAME_PERSON_CONFIRMED")
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these entries (CSV)").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows[0][0] == "When"
    assert ["Case action: Apply with this patient", "Demographics checked: the same person"] in [r[5:7] for r in rows]
    # The number links to the patient's record from the log too.
    page.locator("#audit-table").get_by_role("link", name="943 476 5919").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("JANE STEVENS")
    assert_accessible(page)


def test_rejecting_is_counted_too(open_browser, live_server, people, two_janes, casework):
    """The other common resolution: reject (here for a wrong HA, so an F3 goes), then straight on."""
    second = casework.open(nhs_number=None)
    page = open_browser("asha")
    asha = Person(page)
    asha.click(page.get_by_role("button", name="Take next case"))
    asha.click(page.get_by_role("link", name="Reject to the practice"))
    asha.check(page.get_by_label("Wrong health authority"))
    asha.check(page.get_by_label("Open my next case straight away"))
    asha.click(page.get_by_role("button", name="Continue"))
    expect(page.locator("#confirm-choices")).to_contain_text("For a wrong HA, a rejection (F3)")
    assert_accessible(page)
    asha.click(page.get_by_role("button", name="Yes, reject to the practice"))
    expect(page).to_have_url(f"{live_server.url}/cases/{second.pk}/")
    assert_accessible(page)
    assert (asha.clicks, asha.keys) == (6, 0)
    assert OutboxItem.objects.filter(tx_type="F3").count() == 1
