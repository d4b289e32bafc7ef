"""Resolution actions from the case page: the pages validate and confirm, exceptions.services.resolution decides.

Cases come from the real processing rules (tests/ui/conftest.py), so every action here runs the same
resolution service, PDS change and GP Links reply that production would.
"""

import pytest
from django.urls import reverse
from factories import UserFactory
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from exceptions.models import AuditEvent, CaseEvent, ExceptionCase
from exceptions.services import queue
from pds.models import Patient
from registrations.models import OutboxItem

pytestmark = pytest.mark.django_db


def action_url(case, action):
    return reverse("exceptions:case-action", args=[case.pk, action])


def test_the_case_page_compares_each_candidate_and_offers_to_choose_it(client, agent, two_janes):
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    response = client.get(reverse("exceptions:case-detail", args=[case.pk]))
    # No NHS number in the message: the best candidate is compared, and the other can be.
    assertContains(response, "Compared above")
    # Equal scores: the trace orders by NHS number, so 943 476 5870 is compared first.
    assertContains(response, f'href="?compare={two_janes.first.nhs_number}#compare"')
    assertContains(response, f'href="/cases/{case.pk}/actions/apply_with_patient/?patient=9434765870"')
    response = client.get(reverse("exceptions:case-detail", args=[case.pk]), {"compare": "9434765919"})
    assertContains(response, "On PDS: candidate 943 476 5919")
    # A patient the case does not name cannot be opened by editing the URL.
    other = Patient.objects.create(nhs_number="9000000009")
    response = client.get(reverse("exceptions:case-detail", args=[case.pk]), {"compare": other.nhs_number})
    assertNotContains(response, "900 000 0009")


def test_choosing_a_candidate_resolves_the_case_through_the_resolution_service(client, agent, two_janes):
    case = two_janes.case
    queue.claim(case.pk, by=agent)

    form = client.get(action_url(case, "apply_with_patient"), {"patient": "9434765919"})
    assert form.status_code == 200
    assertContains(form, '<h1 class="nhsuk-heading-l">Apply with this patient</h1>')
    assertContains(form, 'name="patient" value="9434765919" id="id_patient_1" class="nhsuk-radios__input" checked')
    assertContains(form, "943 476 5870, JANE STEVENS, born 17 May 1980, score 100%")
    assertContains(form, "Found by a manual trace")  # the action's reason codes, as radios

    answers = {"patient": "9434765919", "reason_code": "TRACED_MANUALLY", "note": "Same address as PDS."}
    # Applying an acceptance sends the practice an F4 (and the old one an F2): the answers are checked first.
    check = client.post(action_url(case, "apply_with_patient"), answers)
    assert check.status_code == 200
    assertContains(check, "Are you sure you want to apply with this patient?")
    assertContains(check, "An approval (F4) to the practice, and a deduction (F2)")
    assertContains(check, "943 476 5919, JANE STEVENS")
    assert not OutboxItem.objects.filter(caused_by=case.transaction).exists()
    response = client.post(action_url(case, "apply_with_patient"), {**answers, "confirmed": "yes"})
    assertRedirects(response, reverse("exceptions:case-detail", args=[case.pk]), fetch_redirect_response=False)
    case.refresh_from_db()
    assert case.status == "RESOLVED"
    assert case.closed_by == agent
    event = CaseEvent.objects.get(case=case, action="apply_with_patient")
    assert (event.user, event.reason_code, event.note) == (agent, "TRACED_MANUALLY", "Same address as PDS.")
    assert AuditEvent.objects.filter(action="case_apply_with_patient", user=agent, nhs_number="9434765919").exists()
    # The registration went out exactly as an automatic one would: F4 to the new practice, F2 to the old.
    assert sorted(OutboxItem.objects.filter(caused_by=case.transaction).values_list("tx_type", flat=True)) == [
        "F2",
        "F4",
    ]
    page = client.get(reverse("exceptions:case-detail", args=[case.pk]))
    assertContains(page, "This case is resolved.")
    assertContains(page, "Apply with this patient")  # on the timeline
    assertContains(page, "Reason:</strong> Found by a manual trace")


def test_missing_choices_are_an_error_summary_and_nothing_changes(client, agent, two_janes):
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    response = client.post(action_url(case, "apply_with_patient"), {"patient": "other"})
    assert response.status_code == 400
    assertContains(response, "<title>Error: Apply with this patient", status_code=400)
    assertContains(response, '<a href="#id_other_nhs_number">Enter the NHS number', status_code=400)
    assertContains(response, '<a href="#id_reason_code_0">Choose a reason</a>', status_code=400)
    assert ExceptionCase.objects.get(pk=case.pk).status == "IN_PROGRESS"


def test_a_refusal_from_the_service_is_shown_in_the_error_summary(client, agent, two_janes):
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    response = client.post(
        action_url(case, "apply_with_patient"),
        {"patient": "other", "other_nhs_number": "999 999 9999", "reason_code": "TRACED_MANUALLY", "confirmed": "yes"},
    )
    assert response.status_code == 400
    assertContains(response, "PDS has no record with that NHS number", status_code=400)
    assert ExceptionCase.objects.get(pk=case.pk).status == "IN_PROGRESS"


def test_rejecting_asks_for_confirmation_then_sends_the_f3(client, agent, two_janes):
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    data = {"reason_code": "WRONG_HA", "note": "The practice belongs to another HA."}

    confirm = client.post(action_url(case, "reject_to_practice"), data)
    assert confirm.status_code == 200
    assertContains(confirm, "Are you sure you want to reject to the practice?")
    assertContains(confirm, "Wrong health authority")
    assertContains(confirm, 'name="confirmed" value="yes"')
    assertContains(confirm, "nhsuk-button--warning")
    assert ExceptionCase.objects.get(pk=case.pk).status == "IN_PROGRESS"  # nothing done yet
    assert not OutboxItem.objects.filter(tx_type="F3").exists()

    response = client.post(action_url(case, "reject_to_practice"), {**data, "confirmed": "yes"}, follow=True)
    assertContains(response, "Rejected to the practice (F3)")
    case.refresh_from_db()
    assert case.status == "REJECTED"
    f3 = OutboxItem.objects.get(caused_by=case.transaction, tx_type="F3")
    assert f3.payload["free_text"].startswith("WRONG HA - ")
    assert CaseEvent.objects.filter(case=case, action="reject_to_practice", reason_code="WRONG_HA").exists()


def test_other_needs_the_words_the_practice_will_see(client, agent, two_janes):
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    response = client.post(action_url(case, "reject_to_practice"), {"reason_code": "OTHER"})
    assert response.status_code == 400
    assertContains(response, '<a href="#id_text">Enter the words the practice will see', status_code=400)


def test_only_the_holder_can_act(client, agent, two_janes):
    case = two_janes.case
    other = UserFactory(roles=["NBO agent"])
    queue.claim(case.pk, by=other)
    assert client.get(action_url(case, "apply_with_patient")).status_code == 403
    response = client.post(action_url(case, "reject_to_practice"), {"reason_code": "DUPLICATE", "confirmed": "yes"})
    assert response.status_code == 403
    assert ExceptionCase.objects.get(pk=case.pk).status == "IN_PROGRESS"


def test_escalating_hands_the_case_to_the_team_leaders(client, agent, two_janes):
    case = two_janes.case
    queue.claim(case.pk, by=agent)
    response = client.post(action_url(case, "escalate"), {"reason_code": "NEEDS_SENIOR"}, follow=True)
    assertContains(response, "Escalated to the team leaders")
    case.refresh_from_db()
    assert (case.status, case.assigned_to) == ("IN_PROGRESS", None)
    assertContains(response, "Escalated to the team leaders")
    # Agents no longer get it from take next; a team leader does.
    assert queue.take_next(by=agent) is None
    leader = UserFactory(roles=["Team leader"])
    assert queue.take_next(by=leader).pk == case.pk


def test_bulk_reprocess_runs_the_resolution_service_for_each_case(client, agent, casework):
    from factories import GPFactory, PatientFactory

    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="B20002")
    stuck = casework.open(nhs_number="9434765919", gp_code="4826999,289")
    assert stuck.kind == "UNKNOWN_GP"
    # Reference data is fixed: the GP joins the practice.
    GPFactory(practice=casework.practice, national_code="4826999", local_code="289")

    response = client.post(
        reverse("exceptions:bulk"),
        {"action": "reprocess", "reason_code": "REFERENCE_DATA_FIXED", "case": [stuck.pk], "next": "/cases/"},
        follow=True,
    )
    assertContains(response, "Reprocessed 1 case.")
    stuck.refresh_from_db()
    assert stuck.status == "CLOSED"
    assert stuck.transaction.status == "DONE"
    assert CaseEvent.objects.filter(case=stuck, action="reprocess", reason_code="REFERENCE_DATA_FIXED").exists()


def test_bulk_reprocess_needs_a_reason_and_skips_cases_that_cannot_be_reprocessed(client, agent, two_janes):
    response = client.post(reverse("exceptions:bulk"), {"action": "reprocess", "case": [two_janes.case.pk]})
    assert response.status_code == 400
    assertContains(response, "Choose why the cases should be reprocessed", status_code=400)

    response = client.post(
        reverse("exceptions:bulk"),
        {"action": "reprocess", "reason_code": "PDS_FIXED", "case": [two_janes.case.pk], "next": "/cases/"},
        follow=True,
    )
    assertContains(response, f"Case {two_janes.case.pk} cannot be reprocessed.")
    assert ExceptionCase.objects.get(pk=two_janes.case.pk).status == "OPEN"
