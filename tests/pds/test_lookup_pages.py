"""Patient lookup in the back office: search, summary, timeline; S-flag hiding and an audit of every view."""

import datetime as dt

import pytest
from django.urls import reverse
from factories import PatientFactory, PatientTelecomFactory, UserFactory
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from exceptions.models import AuditEvent
from pds import services

pytestmark = pytest.mark.django_db

SEARCH = reverse("pds:patient-search")
DETAIL = reverse("pds:patient-detail", args=["9434765919"])
HISTORY = reverse("pds:patient-history", args=["9434765919"])


@pytest.fixture
def as_agent(client, agent):
    client.force_login(agent)
    return client


@pytest.mark.parametrize("url", [SEARCH, DETAIL, HISTORY])
def test_pages_need_sign_in_and_the_view_permission(client, url):
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(roles=["PCSE viewer"]))
    assert client.get(url).status_code == 403


def test_search_by_nhs_number_goes_to_the_patient(as_agent, jane):
    response = as_agent.post(SEARCH, {"nhs_number": "943 476 5919"})
    assertRedirects(response, DETAIL)


def test_a_superseded_number_goes_to_the_retained_record(as_agent, jane):
    duplicate = PatientFactory()
    services.merge_patients(
        retained=jane, duplicate=duplicate, retained_version=1, duplicate_version=1, by="t", reason="r"
    )
    response = as_agent.post(SEARCH, {"nhs_number": duplicate.nhs_number})
    assertRedirects(response, DETAIL, fetch_redirect_response=False)
    assertRedirects(as_agent.get(reverse("pds:patient-detail", args=[duplicate.nhs_number])), DETAIL)


def test_invalid_and_unknown_numbers_are_explained(as_agent, db):
    assertContains(as_agent.post(SEARCH, {"nhs_number": "1234567890"}), "Enter a valid NHS number")
    assertContains(as_agent.post(SEARCH, {"nhs_number": "9000000009"}), "No patient has this NHS number")
    assert as_agent.get(reverse("pds:patient-detail", args=["9000000009"])).status_code == 404


def test_demographic_search_shows_scored_candidates_with_reasons_and_is_audited(as_agent, agent, jane):
    PatientFactory(name="SMITH JILL", birth_date=dt.date(1980, 5, 17))
    response = as_agent.post(SEARCH, {"surname": "Smyth", "forenames": "Jane", "birth_date": "1980-05-17"})
    assertContains(response, "One confident match")
    assertContains(response, "943 476 5919")
    assertContains(response, "SMYTH ~ SMITH")
    event = AuditEvent.objects.get(action="search_patients")
    assert event.user == agent
    assert event.detail["results"][0] == "9434765919"


def test_demographic_search_needs_enough_to_go_on(as_agent, db):
    assertContains(as_agent.post(SEARCH, {"surname": "Smith"}), "Enter a date of birth or a postcode")
    assertContains(as_agent.post(SEARCH, {"surname": "Smith", "birth_date": "17/05/1980"}), "YYYY-MM-DD")


def test_summary_shows_demographics_addresses_gp_history_and_flags(as_agent, agent, jane):
    services.register_with_practice(
        jane, practice_ods="B82001", start=dt.date(2026, 1, 1), expected_version=1, by="t", reason="r"
    )
    response = as_agent.get(DETAIL)
    assertContains(response, "JANE ANN SMITH")
    assertContains(response, "17 May 1980")
    assertContains(response, "1 HIGH STREET, LEEDS, LS1 4AP")
    assertContains(response, "B82001")
    assertContains(response, "A12345")
    # The one date format on every page (#16 item 15), not "1 Jan 2026".
    assertContains(response, "1 January 2026")
    assertNotContains(response, "1 Jan 2026")
    event = AuditEvent.objects.get(action="view_patient")
    assert (event.user, event.nhs_number) == (agent, "9434765919")


def test_a_restricted_record_hides_address_contact_and_gp_from_an_agent(as_agent, jane):
    PatientTelecomFactory(patient=jane, value="07700 900999")
    services.update_demographics(jane, sensitive=True, expected_version=1, by="t", reason="r")
    response = as_agent.get(DETAIL)
    assertContains(response, "Restricted (S flag)")
    assertNotContains(response, "LS1 4AP")
    assertNotContains(response, "07700 900999")
    assertNotContains(response, "A12345")
    assertContains(response, "hidden from your role")
    timeline = as_agent.get(HISTORY)
    assertNotContains(timeline, "LS1 4AP")
    assertNotContains(timeline, "HIGH STREET")
    assertContains(timeline, "Restricted")
    assertNotContains(timeline, "Not held")
    results = as_agent.post(SEARCH, {"surname": "Smith", "forenames": "Jane", "birth_date": "1980-05-17"})
    assertNotContains(results, "LS1 4AP")


def test_an_administrator_may_see_a_restricted_address(client, admin_user, jane):
    services.update_demographics(jane, sensitive=True, expected_version=1, by="t", reason="r")
    client.force_login(admin_user)
    assertContains(client.get(DETAIL), "LS1 4AP")
    assert AuditEvent.objects.get(action="view_patient").detail == {"restricted_shown": True}


def test_the_timeline_says_who_why_and_what_and_is_audited(as_agent, agent, jane):
    services.change_address(
        jane,
        address={"road": "9 Park Lane", "post_town": "Leeds", "postcode": "LS2 7UE"},
        start=dt.date(2026, 2, 1),
        expected_version=1,
        by="pcrm-processing",
        reason="transaction 12",
    )
    response = as_agent.get(HISTORY)
    assertContains(response, "Change address")
    assertContains(response, "Address changed: 1 HIGH STREET, LS1 4AP")
    assertContains(response, "pcrm-processing")
    assertContains(response, "transaction 12")
    assertContains(response, "LS2 7UE")
    assertContains(response, "version 2")
    assert AuditEvent.objects.filter(action="view_patient_history", user=agent, nhs_number="9434765919").exists()
