"""In a real browser (Debian's Chromium through Playwright): working the queue end to end.

Given/when/then in the comments, an axe accessibility check on every page, and screenshots of the main
pages (`make screenshots` refreshes the README's, in docs/screenshots/). Waits are Playwright's own
auto-waiting `expect`, never sleeps.
"""

import re

import pytest
from factories import ExceptionCaseFactory, UserFactory
from playwright.sync_api import expect
from support import assert_accessible, screenshot, sign_in, without_web_fonts

from exceptions.models import ExceptionCase
from registrations.models import OutboxItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people():
    return {
        "asha": UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=["NBO agent"]),
        "sam": UserFactory(username="sam", first_name="Sam", last_name="Second", roles=["NBO agent"]),
        "terry": UserFactory(username="terry", first_name="Terry", last_name="Leader", roles=["Team leader"]),
    }


def test_take_next_compare_choose_a_candidate_and_find_the_decision_in_the_audit(
    open_browser, live_server, people, two_janes
):
    case = two_janes.case
    page = open_browser("asha")

    # Given one unassigned case in the queue
    expect(page.locator("#case-count")).to_have_text("1 case")
    expect(page.locator(f"#case-{case.pk}")).to_contain_text("Multiple matches")
    assert_accessible(page)

    # When Asha takes the next case, then it is hers and its page explains it
    page.get_by_role("button", name="Take next case").click()
    expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Multiple matches")
    expect(page.locator("#case-assignee")).to_have_text("Asha Patel")
    expect(page.locator("#rule-trace .pcrm-decisive")).to_contain_text("PDS trace")

    # And the message sits beside the best candidate's PDS record, with both candidates scored
    expect(page.locator("#compare-message")).to_contain_text("STEVENS")
    expect(page.get_by_role("heading", name=re.compile(r"On PDS: candidate 943 476 5870"))).to_be_visible()
    expect(page.locator("#candidate-table tbody tr")).to_have_count(2)
    expect(page.locator("#candidate-table")).to_contain_text("birth date: exact")

    # When she compares the other candidate, then PDS's side shows that record
    page.locator("#compare-9434765919").click()
    expect(page.get_by_role("heading", name=re.compile(r"On PDS: candidate 943 476 5919"))).to_be_visible()
    assert_accessible(page)
    screenshot(page, "case")

    # When she chooses it, with a reason and a note
    page.locator("#choose-9434765919").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply with this patient")
    expect(page.get_by_label(re.compile(r"^943 476 5919, JANE STEVENS"))).to_be_checked()
    page.get_by_label("Found by a manual trace").check()
    page.get_by_label("Note (optional)").fill("Registered at the old practice, as the acceptance says.")
    assert_accessible(page)
    screenshot(page, "action")
    page.get_by_role("button", name="Continue").click()

    # Then, because it sends the practices an F4 and an F2, she checks her answers first
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you sure you want to apply with this patient?")
    expect(page.locator("#confirm-choices")).to_contain_text("An approval (F4)")
    assert_accessible(page)
    page.get_by_role("button", name="Yes, apply with this patient").click()

    # Then the case is resolved, says what was sent, and its timeline has the decision
    expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/")
    expect(page.locator(".nhsuk-notification-banner--success")).to_be_visible()
    expect(page.locator(".pcrm-tags")).to_contain_text("Resolved")
    expect(page.locator(".pcrm-timeline")).to_contain_text("Found by a manual trace")
    assert_accessible(page)
    assert set(OutboxItem.objects.filter(caused_by=case.transaction).values_list("tx_type", flat=True)) == {
        "F4",
        "F2",
    }

    # And a team leader finds it in the audit log by the patient's NHS number, typed with spaces
    leader = open_browser("terry")
    leader.get_by_role("link", name="Audit").click()
    expect(leader.get_by_role("heading", level=1)).to_have_text("Audit log")
    leader.get_by_label("NHS number").fill("943 476 5919")
    leader.get_by_role("button", name="Search the audit log").click()
    decision = leader.locator("#audit-table tbody tr", has_text="Case action: Apply with this patient")
    expect(decision).to_have_count(1)
    expect(decision).to_contain_text("Asha Patel")
    expect(decision).to_contain_text("NBO agent")
    expect(decision).to_contain_text(f"Case {case.pk}")
    expect(leader.locator("#audit-table tbody tr", has_text="Viewed a patient record").first).to_contain_text(
        "Asha Patel"
    )
    assert_accessible(leader)
    screenshot(leader, "audit")


def test_reject_with_a_reason_goes_through_a_confirmation_page(open_browser, live_server, people, two_janes):
    case = two_janes.case
    page = open_browser("asha")
    page.goto(f"{live_server.url}/cases/{case.pk}/")

    # Given Asha has claimed the case
    page.get_by_role("button", name="Claim this case").click()
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text(f"Case {case.pk} is now yours.")

    # When she rejects it without a reason, then the error summary says what is missing
    page.get_by_role("link", name="Reject to the practice").click()
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Choose a reason")
    expect(summary).to_be_focused()
    assert_accessible(page)

    # When she gives a reason, then she is asked to confirm, and nothing has happened yet (an F3 is only
    # ever for a wrong HA: ADR 0014)
    page.get_by_label("Wrong health authority").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you sure you want to reject to the practice?")
    expect(page.locator("#confirm-choices")).to_contain_text("Wrong health authority")
    assert ExceptionCase.objects.get(pk=case.pk).status == "IN_PROGRESS"
    assert_accessible(page)
    screenshot(page, "confirm")

    # When she confirms, then the case is rejected and the F3 is queued for the practice
    page.get_by_role("button", name="Yes, reject to the practice").click()
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text("Rejected to the practice (F3)")
    expect(page.locator(".pcrm-tags")).to_contain_text("Rejected")
    assert OutboxItem.objects.filter(caused_by=case.transaction, tx_type="F3").count() == 1


def test_a_team_leader_assigns_several_cases_at_once(open_browser, live_server, people):
    cases = [ExceptionCaseFactory(summary=f"Case to share out {i}") for i in range(3)]
    page = open_browser("terry")
    boxes = page.locator("input[name='case']")

    # "Select all" ticks every case on the page, and unticks them again
    page.get_by_label("Select all cases on this page").check()
    for box in boxes.all():
        expect(box).to_be_checked()
    page.get_by_label("Select all cases on this page").uncheck()
    for box in boxes.all():
        expect(box).not_to_be_checked()

    # When Terry ticks two cases and assigns them to Sam
    page.get_by_label(f"Select case {cases[0].pk}").check()
    page.get_by_label(f"Select case {cases[2].pk}").check()
    page.get_by_label("Assign selected cases to").select_option(label="Sam Second")
    assert_accessible(page)
    screenshot(page, "queue-bulk")
    page.locator("#bulk-assign").click()

    # Then he is back on the same queue, told what happened, and the two cases have left Unassigned
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text("Assigned to Sam Second: 2 cases.")
    expect(page.locator("#case-count")).to_have_text("1 case")
    page.locator("#view-team").click()
    expect(page).to_have_url(f"{live_server.url}/cases/?view=team")
    expect(page.locator("tbody tr[data-case-url]")).to_have_count(2)
    expect(page.locator(f"#case-{cases[0].pk}")).to_contain_text("Sam Second")
    assert set(ExceptionCase.objects.filter(assigned_to=people["sam"]).values_list("pk", flat=True)) == {
        cases[0].pk,
        cases[2].pk,
    }


def test_the_queue_can_be_worked_from_the_keyboard(open_browser, live_server, people):
    first, second, third = (ExceptionCaseFactory(summary=f"Keyboard case {i}") for i in range(3))
    page = open_browser("asha")

    # ? shows the shortcuts; Escape closes them
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    assert_accessible(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # j and k move through the rows, focusing each row's case link
    page.keyboard.press("j")
    expect(page.locator(f"#case-{first.pk}")).to_have_class(re.compile("pcrm-row--current"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(page.locator(f"#case-{second.pk}")).to_have_class(re.compile("pcrm-row--current"))
    expect(page.locator(f"#case-{second.pk} a.pcrm-case-link")).to_be_focused()

    # Enter opens it
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/cases/{second.pk}/")

    # Back on the queue, / jumps to the search box, and typing there is not a shortcut
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Work queue")
    page.wait_for_load_state()
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search by NHS number")
    expect(search).to_be_focused()
    page.keyboard.type("tj")
    expect(search).to_have_value("tj")
    page.keyboard.press("Escape")
    search.blur()

    # t takes the next case (the most urgent: the first)
    page.keyboard.press("t")
    expect(page).to_have_url(f"{live_server.url}/cases/{first.pk}/")
    expect(page.locator("#case-assignee")).to_have_text("Asha Patel")
    first.refresh_from_db(), third.refresh_from_db()
    assert (first.assigned_to.username, third.assigned_to) == ("asha", None), "only the most urgent was taken"


def test_a_second_person_cannot_take_a_case_someone_has_claimed(open_browser, live_server, people):
    case = ExceptionCaseFactory(summary="Only one of them may have it")
    asha = open_browser("asha")
    sam = open_browser("sam")

    # Given both have the case page open
    asha.goto(f"{live_server.url}/cases/{case.pk}/")
    sam.goto(f"{live_server.url}/cases/{case.pk}/")

    # When Asha claims it first
    asha.get_by_role("button", name="Claim this case").click()
    expect(asha.locator("#case-assignee")).to_have_text("Asha Patel")

    # Then Sam's claim is refused and the page says who has it
    sam.get_by_role("button", name="Claim this case").click()
    expect(sam.locator(".nhsuk-notification-banner")).to_contain_text(
        f"Case {case.pk} is already assigned to Asha Patel."
    )
    expect(sam.locator("#case-assignee")).to_have_text("Asha Patel")
    expect(sam.get_by_role("button", name="Claim this case")).to_have_count(0)
    assert_accessible(sam)

    # And take next has nothing for him
    sam.get_by_role("button", name="Take next case").click()
    expect(sam.locator(".nhsuk-notification-banner")).to_contain_text("There are no unassigned cases to take.")
    assert ExceptionCase.objects.get(pk=case.pk).assigned_to == people["asha"]


def test_every_other_page_passes_axe(open_browser, live_server, people, browser):
    ExceptionCaseFactory(kind="DEAD_LETTER", summary="Processing failed 5 times")
    ExceptionCaseFactory(kind="NO_TRACE", summary="NHS number not known to PDS")
    page = open_browser("terry")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator("#chart-backlog")).to_have_attribute("style", re.compile("height"))  # chart.js drew it
    assert_accessible(page)

    page.goto(f"{live_server.url}/cases/?view=all&status=any&sort=kind")
    expect(page.get_by_role("columnheader", name="Kind")).to_have_attribute("aria-sort", "ascending")
    page.get_by_text("Filter cases").click()
    assert_accessible(page)

    page.goto(f"{live_server.url}/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert_accessible(page)

    # An agent who edits the URL to reach the audit log
    agent = open_browser("asha")
    agent.goto(f"{live_server.url}/audit/")
    expect(agent.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    assert_accessible(agent)

    # A locked-out sign-in
    context = browser.new_context()
    anonymous = context.new_page()
    without_web_fonts(anonymous)
    for _ in range(5):
        anonymous.goto(f"{live_server.url}/accounts/login/")
        sign_in(anonymous, "sam", "not-the-password")
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Too many attempts to sign in")
    assert_accessible(anonymous)
    screenshot(anonymous, "lockout")
    context.close()


def test_a_busy_queue_and_its_dashboard(open_browser, live_server, people):
    """A morning's backlog: many kinds, every SLA state, some cases being worked, some closed today."""
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    kinds = [
        ("DEMOGRAPHIC_MISMATCH", "Demographics differ: surname", "C85001"),
        ("NO_TRACE", "NHS number not known to PDS", "Y02601"),
        ("MULTIPLE_MATCHES", "2 possible PDS records", "G82002"),
        ("FREE_TEXT", "Acceptance carries GP notes to review", "C85003"),
        ("UNKNOWN_GP", "Unknown GP code 4826999,281", "Y02603"),
        ("DEDUCTION_REVIEW", "GP asks to deduct: reason 1 (death) not known to PDS", "G82001"),
        ("REMOVAL_REVIEW", "GP asks to remove an out-of-area patient", "C85002"),
        ("DEAD_LETTER", "G1 TN 204 failed 5 times: PDS busy", "G82003"),
    ]
    due = [now - dt.timedelta(days=2), now + dt.timedelta(hours=3), now + dt.timedelta(days=4)]
    made = []
    for i in range(24):
        kind, summary, practice = kinds[i % len(kinds)]
        extra = {"nhs_number": ""} if kind == "DEAD_LETTER" else {}
        case = ExceptionCaseFactory(
            kind=kind,
            summary=summary,
            practice_ods=practice,
            **extra,
            due_at=due[i % 3],
            assigned_to=people["sam"] if i % 5 == 0 else None,
            status="IN_PROGRESS" if i % 5 == 0 else "OPEN",
        )
        made.append(case)
        ExceptionCase.objects.filter(pk=case.pk).update(opened_at=now - dt.timedelta(days=i % 9, hours=i))
    ExceptionCaseFactory.create_batch(6, resolved=True, kind="NO_TRACE")
    page = open_browser("terry")

    # The queue: unassigned first, most urgent at the top, overdue ones marked
    expect(page.locator("#view-unassigned")).to_contain_text("19")
    expect(page.locator("#view-team")).to_contain_text("5")
    expect(page.locator("tbody tr[data-case-url]").first.locator(".nhsuk-tag").nth(1)).to_have_text("Overdue")
    assert_accessible(page)
    screenshot(page, "queue")

    # Filtered to overdue deduction reviews
    page.get_by_text("Filter cases").click()
    page.get_by_label("Kind").select_option(label="Deduction review")
    page.get_by_label("SLA").select_option(label="Overdue")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"kind=DEDUCTION_REVIEW.*sla=overdue"))
    expect(page.locator("#case-count")).to_contain_text("matching case")
    for row in page.locator("tbody tr[data-case-url]").all():
        expect(row).to_contain_text("Deduction review")
        expect(row).to_contain_text("Overdue")
    assert_accessible(page)
    screenshot(page, "queue-filtered")

    # The dashboard counts the same backlog
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#figure-open")).to_have_text(str(len(made)))
    expect(page.locator("#figure-overdue")).to_have_text(str(sum(case.due_at < now for case in made)))
    expect(page.locator("#backlog-table tbody tr")).to_have_count(len(kinds))
    assert_accessible(page)
    screenshot(page, "dashboard")
