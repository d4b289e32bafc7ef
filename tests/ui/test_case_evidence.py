"""The case page shows the evidence that fits each kind of transaction and case (#16 items 2, 3, 12, 17):
the retained record beside a superseded number, a deduction's reason in words (and an invalid one marked),
what a MESH report reported instead of rows of "Not sent", the message's GP code resolved to its practice,
the registration history, a trace run on demand, and links from every NHS number to the (audited)
patient page and from the case to its interchange.

Cases come from the real processing rules where the rules can make them (tests/ui/conftest.py)."""

import pytest
from django.urls import reverse
from factories import ExceptionCaseFactory, InterchangeFactory, PatientFactory, UserFactory
from pytest_django.asserts import assertContains, assertNotContains

from exceptions.models import AuditEvent, CaseEvent
from exceptions.services import queue
from pds.models import Patient
from registrations.models import Registration

pytestmark = pytest.mark.django_db


def page(client, case, **params) -> str:
    response = client.get(reverse("exceptions:case-detail", args=[case.pk]), params)
    assert response.status_code == 200
    return response.text


def section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_a_superseded_number_case_sets_the_retained_record_beside_the_message(client, agent, superseded_case):
    html = page(client, superseded_case)
    pds = section(html, 'id="compare-pds"', "</dl>")
    for item in ("Surname", "Forenames", "Date of birth", "Address"):  # the retained record's, not "Not held"
        assert "Not held" not in section(pds, f">{item}<", "</div>"), item
    assert "JOAN" in pds and "943 476 5919" in pds
    number = section(pds, ">NHS number<", "</div>")
    assert "(replaced 943 476 5870)" in number and "Differs" not in number  # merged, so the same patient
    assertContains(
        client.get(reverse("exceptions:case-detail", args=[superseded_case.pk])), "retained record 943 476 5919"
    )
    # Both numbers link to their patient pages (#16 item 2).
    retained = '<a class="nhsuk-link pcrm-nowrap" href="/pds/patients/9434765919/">943 476 5919</a>'
    assert f"was merged into {retained}, which PDS keeps" in html
    # And it is a candidate, marked as the retained record, that can be chosen.
    candidates = section(html, 'id="candidate-table"', "</table>")
    assert "Retained record" in candidates and "943 476 5919" in candidates
    # Both numbers link to the patient page; the superseded one is marked.
    facts = section(html, 'id="case-patient"', "</dd>")
    assert 'href="/pds/patients/9434765870/"' in facts and "(superseded)" in facts
    assert 'href="/pds/patients/9434765919/"' in facts
    # Showing the retained record is a view of it, and is audited as one.
    assert AuditEvent.objects.filter(action="view_patient", nhs_number="9434765919", user=agent).exists()


def test_the_gp_code_is_resolved_to_its_practice_and_set_beside_pds_registered_practice(client, agent, casework):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="B20002")
    case = casework.open(nhs_number="9434765919", acceptance_code="D")  # a disputed acceptance: a person checks
    html = page(client, case)
    message = section(html, 'id="compare-message"', "</dl>")
    assert "A10001 New Surgery (GP 4826940,281)" in message
    pds = section(html, 'id="compare-pds"', "</dl>")
    assert "B20002 since 1 January 2015" in pds
    # An acceptance names the practice the patient joins: a different one on PDS is expected, not a difference.
    gp_row = section(pds, ">GP practice<", "</div>")
    assert "Differs" not in gp_row
    # What the practice sent, codes in words.
    request = section(html, 'id="request-items"', "</dl>")
    assert "D: Disputed acceptance" in request and "1: Birth" in request


def test_a_deduction_case_shows_its_reason_in_words_and_marks_one_a_gp_may_not_ask_for(client, agent):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="A10001")
    data = {
        "tn": 4,
        "type": "G5",
        "nhs_number": "9434765919",
        "gp_code": "4826940,281",
        "deduction_reason": "9",
        "deduction_date": "2026-11-20",
        "errors": ["deduction_reason: '9' is not a reason a GP may request (1, 5 or 13)"],
    }
    case = ExceptionCaseFactory(
        kind="INVALID_TRANSACTION", nhs_number="9434765919", evidence={"transaction": data}, summary="Invalid G5"
    )
    html = page(client, case)
    request = section(html, 'id="request-items"', "</dl>")
    assert "9: At the GP&#x27;s request (a GP may only ask for 1, 5 or 13)" in request
    assert "Differs" in section(request, ">Deduction reason<", "</div>")
    assert "20 November 2026" in request
    assert "is not a reason a GP may request" in section(html, 'id="problems"', "</div>")
    # A deduction carries only the NHS number and GP: no rows of "Not sent" for a name or address it never has.
    message = section(html, 'id="compare-message"', "</dl>")
    assert "Not sent" not in message
    assert ">Surname<" not in message and ">Address<" not in message


def test_a_mesh_report_case_shows_what_was_reported_and_links_to_the_interchange(client, agent):
    ic = InterchangeFactory(sender="XX11", recipient="TES5", sis=42, status="SENT", direction="out")
    case = ExceptionCaseFactory(
        kind="MESH_REPORT",
        nhs_number="",
        interchange=ic,
        summary="MESH could not deliver message M1",
        evidence={"report_interchange": ic.pk, "linked_message_id": "20261102-M1", "reported_interchange": ic.pk},
    )
    html = page(client, case)
    assert "Not sent</dd>" not in html and "Not held</dd>" not in html
    assert 'id="compare-message"' not in html
    report = section(html, 'id="report-items"', "</dl>")
    assert "MESH message not delivered" in report and "20261102-M1" in report
    assert "42" in section(html, 'id="report-interchange"', "</dl>")
    assert f'href="/registrations/interchanges/{ic.pk}/"' in section(html, 'id="case-facts"', "</dl>")


def test_a_restricted_record_reads_restricted_in_candidates_and_history_never_not_held(client, agent, two_janes):
    Patient.objects.filter(nhs_number="9434765919").update(sensitive=True)
    html = page(client, two_janes.case, compare="9434765919")
    row = section(section(html, 'id="candidate-table"', "</table>"), "943 476 5919", "</tr>")
    assert "Restricted" in row and "LS1 4AP" not in row
    history = section(html, 'id="registrations"', "Notes and history")
    assert "Restricted" in history and "B20002" not in history


def test_the_registration_history_shows_pds_periods_and_pcrm_list_entries(client, agent, casework):
    patient = PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="B20002")
    Registration.objects.create(
        nhs_number=patient.nhs_number,
        practice=casework.practice,
        acceptance_code="A",
        acceptance_type="3",
        acceptance_date="2020-01-01",
        deducted_on="2021-02-03",
        deduction_reason="5",
    )
    case = casework.open(nhs_number="9434765919", acceptance_code="D")
    html = page(client, case)
    history = section(html, 'id="registrations"', "Notes and history")
    assert "B20002" in section(history, 'id="gp-periods"', "</table>")
    entries = section(history, 'id="pcrm-registrations"', "</table>")
    assert "A10001 New Surgery" in entries and "3 February 2021" in entries and "5: Emigrated" in entries
    assert 'href="/pds/patients/9434765919/history/"' in history


def test_a_person_runs_a_trace_from_the_case_and_its_records_join_the_candidates(client, agent, casework):
    case = casework.open(nhs_number=None, surname="NOBODY")
    assert case.kind == "NO_TRACE", case.kind  # a type 1 acceptance: trace by hand, not allocate
    queue.claim(case.pk, by=agent)
    html = page(client, case)
    assert "No PDS record has been offered" in html
    # Since the message arrived, PDS has gained a record for the patient.
    PatientFactory(nhs_number="9434765919", name="NOBODY JANE")
    response = client.post(reverse("exceptions:case-trace", args=[case.pk]), follow=True)
    assertContains(response, "PDS trace:")
    candidates = section(response.text, 'id="candidate-table"', "</table>")
    assert "943 476 5919" in candidates and "NOBODY" in candidates
    event = CaseEvent.objects.get(case=case, action="traced")
    assert event.user == agent and event.detail["candidates"][0]["nhs_number"] == "9434765919"
    assert AuditEvent.objects.filter(action="trace_patient", user=agent, object_id=str(case.pk)).exists()
    assert "PDS trace run" in section(response.text, 'class="pcrm-timeline"', "</ol>")
    # The new candidate can be compared and chosen like processing's own.
    assertContains(
        client.get(reverse("exceptions:case-detail", args=[case.pk]), {"compare": "9434765919"}),
        "On PDS: candidate 943 476 5919",
    )


def test_only_roles_that_may_search_pds_can_trace_and_never_a_closed_case(client, casework):
    case = casework.open(nhs_number=None, surname="NOBODY")
    client.force_login(UserFactory(username="pcse1", roles=["PCSE viewer"]))
    assert client.post(reverse("exceptions:case-trace", args=[case.pk])).status_code == 403
    assert client.get(reverse("exceptions:case-trace", args=[case.pk])).status_code == 405  # POST only, for anyone
    client.force_login(UserFactory(username="agent9", roles=["NBO agent"]))
    case.status, case.closed_at = "CLOSED", case.opened_at
    case.save(update_fields=["status", "closed_at"])
    response = client.post(reverse("exceptions:case-trace", args=[case.pk]), follow=True)
    assertContains(response, "nothing to trace for")
    assertNotContains(response, "Run a PDS trace now")
    assert not CaseEvent.objects.filter(case=case, action="traced").exists()


def test_interchanges_are_searchable_by_nhs_number_and_the_search_is_recorded(client, agent, casework, two_janes):
    case = casework.open(nhs_number="9434765919", acceptance_code="D")
    other = two_janes.case  # a G1 without an NHS number, in another interchange
    url = reverse("registrations:interchange-list")
    response = client.get(url, {"nhs_number": "943 476 5919"})
    assert response.status_code == 200
    table = section(response.text, 'id="interchange-count"', "</table>")
    assert f'href="/registrations/interchanges/{case.interchange_id}/"' in table
    assert f'href="/registrations/interchanges/{other.interchange_id}/"' not in table
    assert AuditEvent.objects.filter(action="search_interchanges", user=agent, nhs_number="9434765919").exists()
    response = client.get(url, {"nhs_number": "123"})
    assert "Error: Interchanges" in response.text and "Enter a 10-digit NHS number" in response.text
    # The interchange page links each transaction's NHS number to the patient.
    detail = client.get(reverse("registrations:interchange-detail", args=[case.interchange_id]))
    assert 'href="/pds/patients/9434765919/">943 476 5919</a>' in detail.text
