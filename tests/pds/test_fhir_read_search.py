"""FHIR R4 Patient read and search, answered as PDS does (shape, ETag, superseded ids, errors, scores)."""

import datetime as dt

import pytest
from factories import PatientFactory, UserFactory

from exceptions.models import AuditEvent
from pds import services
from pds.fhir import BIRTH_PLACE_URL, SPINE_ERROR_SYSTEM

pytestmark = pytest.mark.django_db


def spine_code(response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    coding = body["issue"][0]["details"]["coding"][0]
    assert coding["system"] == SPINE_ERROR_SYSTEM
    return coding["code"]


# --- read ---------------------------------------------------------------------------------------------


def test_read_returns_the_patient_shaped_like_pds_with_a_weak_etag(api, reader_token, jane):
    response = api(reader_token).get("/9434765919")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert response["ETag"] == 'W/"1"'
    body = response.json()
    assert body["resourceType"] == "Patient"
    assert body["id"] == "9434765919"
    assert body["identifier"][0]["system"] == "https://fhir.nhs.uk/Id/nhs-number"
    assert body["identifier"][0]["value"] == "9434765919"
    assert body["meta"] == {
        "versionId": "1",
        "security": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                "code": "U",
                "display": "unrestricted",
            }
        ],
    }
    (name,) = body["name"]
    assert (name["use"], name["family"], name["given"]) == ("usual", "SMITH", ["JANE", "ANN"])
    assert name["id"] and name["period"]["start"] == "1980-05-17"
    assert body["gender"] == "female"
    assert body["birthDate"] == "1980-05-17"
    assert body["address"][0]["postalCode"] == "LS1 4AP"
    assert body["address"][0]["line"] == ["1 HIGH STREET", "LEEDS"]  # no empty lines, as PDS sends them
    gp = body["generalPractitioner"][0]
    assert gp["type"] == "Organization"
    assert gp["identifier"] == {
        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
        "value": "A12345",
        "period": {"start": "2015-01-01"},
    }
    assert {"url": BIRTH_PLACE_URL, "valueAddress": {"city": "LEEDS"}} in body["extension"]


def test_read_mirrors_request_and_correlation_ids(api, reader_token, jane):
    response = api(reader_token).get(
        "/9434765919", HTTP_X_REQUEST_ID="60E0B220-8136-4CA5-AE46-1D97EF59D068", HTTP_X_CORRELATION_ID="abc"
    )
    assert response["X-Request-ID"] == "60E0B220-8136-4CA5-AE46-1D97EF59D068"
    assert response["X-Correlation-ID"] == "abc"
    bad = api(reader_token).get("/9434765919", HTTP_X_REQUEST_ID="not-a-uuid")
    assert (bad.status_code, spine_code(bad)) == (400, "INVALID_VALUE")


def test_a_superseded_number_is_answered_with_the_retained_record(api, reader_token, jane):
    duplicate = PatientFactory()
    services.merge_patients(
        retained=jane, duplicate=duplicate, retained_version=1, duplicate_version=1, by="t", reason="r"
    )
    response = api(reader_token).get(f"/{duplicate.nhs_number}")
    assert response.status_code == 200
    assert response.json()["id"] == "9434765919"
    assert response["ETag"] == 'W/"2"'


def test_an_invalid_nhs_number_is_400_invalid_resource_id(api, reader_token):
    response = api(reader_token).get("/9434765918")
    assert (response.status_code, spine_code(response)) == (400, "INVALID_RESOURCE_ID")
    assert "not a valid NHS number" in response.json()["issue"][0]["diagnostics"]
    assert api(reader_token).get("/abc").status_code == 400


def test_an_unknown_patient_is_404_resource_not_found(api, reader_token):
    response = api(reader_token).get("/9000000009")
    assert (response.status_code, spine_code(response)) == (404, "RESOURCE_NOT_FOUND")


def test_no_credentials_is_401_and_no_permission_is_403(api, jane):
    anonymous = api(None).get("/9434765919")
    assert (anonymous.status_code, spine_code(anonymous)) == (401, "ACCESS_DENIED")

    class Forged:
        raw = "not-a-real-token"

    assert api(Forged).get("/9434765919").status_code == 401
    from factories import ApiTokenFactory

    outsider = ApiTokenFactory(user=UserFactory(roles=["PCSE viewer"]))
    refused = api(outsider).get("/9434765919")
    assert (refused.status_code, spine_code(refused)) == (403, "ACCESS_DENIED")


def test_session_authentication_works_for_back_office_users(client, agent, jane):
    client.force_login(agent)
    response = client.get("/pds/FHIR/R4/Patient/9434765919", HTTP_X_REQUEST_ID="60e0b220-8136-4ca5-ae46-1d97ef59d068")
    assert response.status_code == 200


def test_a_restricted_record_hides_address_gp_and_birthplace_unless_allowed(api, reader_token, amender_token, jane):
    services.update_demographics(jane, sensitive=True, expected_version=1, by="t", reason="r")
    hidden = api(reader_token).get("/9434765919").json()
    assert hidden["meta"]["security"][0]["code"] == "R"
    assert "address" not in hidden and "generalPractitioner" not in hidden
    assert "extension" not in hidden
    shown = api(amender_token).get("/9434765919").json()
    assert shown["address"][0]["postalCode"] == "LS1 4AP"


def test_every_read_is_audited(api, reader_token, jane):
    api(reader_token).get("/9434765919")
    event = AuditEvent.objects.get(action="api_read_patient")
    assert (event.user, event.nhs_number, event.role) == (reader_token.user, "9434765919", "NBO agent")


def test_unknown_endpoints_and_methods_answer_with_operation_outcomes(api, reader_token, client):
    missing = client.get("/pds/FHIR/R4/Observation")
    assert (missing.status_code, spine_code(missing)) == (404, "NOT_FOUND")
    wrong = client.delete("/pds/FHIR/R4/Patient/9434765919")
    assert wrong.status_code == 405


# --- search ---------------------------------------------------------------------------------------------


def test_search_by_family_and_birthdate_returns_a_scored_searchset(api, reader_token, jane):
    response = api(reader_token).get("", {"family": "smith", "birthdate": "eq1980-05-17"})
    assert response.status_code == 200
    bundle = response.json()
    assert (bundle["resourceType"], bundle["type"], bundle["total"]) == ("Bundle", "searchset", 1)
    entry = bundle["entry"][0]
    assert entry["fullUrl"] == "http://testserver/pds/FHIR/R4/Patient/9434765919"
    assert entry["search"]["score"] == 1.0
    assert entry["resource"]["id"] == "9434765919"
    assert "extension" not in entry["resource"]  # the search subset has no place of birth


def test_search_filters_by_given_gender_birthdate_range_postcode_and_gp(api, reader_token, jane):
    PatientFactory(name="SMITH JOHN", gender="1", birth_date=dt.date(1980, 5, 17), address="LS1 4AP")
    caller = api(reader_token)
    base = {"family": "SMITH", "birthdate": ["ge1980-01-01", "le1980-12-31"]}
    assert caller.get("", base).json()["total"] == 2
    assert caller.get("", {**base, "given": "Jane"}).json()["total"] == 1
    assert caller.get("", {**base, "gender": "male"}).json()["entry"][0]["resource"]["gender"] == "male"
    assert caller.get("", {**base, "address-postalcode": "ls14ap"}).json()["total"] == 2
    assert caller.get("", {**base, "address-postalcode": "LS1*"}).json()["total"] == 2
    gp = caller.get("", {**base, "general-practitioner": "A12345"}).json()
    assert [e["resource"]["id"] for e in gp["entry"]] == ["9434765919"]
    assert caller.get("", {"family": "SM*", "birthdate": "1980-05-17"}).json()["total"] == 2


def test_wildcards_never_score_one_so_exact_match_leaves_them_out(api, reader_token, jane):
    caller = api(reader_token)
    wild = caller.get("", {"family": "SMI*", "birthdate": "1980-05-17"}).json()
    assert wild["entry"][0]["search"]["score"] < 1.0
    exact = caller.get("", {"family": "SMI*", "birthdate": "1980-05-17", "_exact-match": "true"}).json()
    assert exact["total"] == 0


def test_restricted_patients_are_not_returned_for_postcode_or_gp_searches(api, reader_token, jane):
    services.update_demographics(jane, sensitive=True, expected_version=1, by="t", reason="r")
    caller = api(reader_token)
    assert caller.get("", {"family": "SMITH", "birthdate": "1980-05-17"}).json()["total"] == 1
    assert (
        caller.get("", {"family": "SMITH", "birthdate": "1980-05-17", "address-postalcode": "LS1 4AP"}).json()["total"]
        == 0
    )
    assert (
        caller.get("", {"family": "SMITH", "birthdate": "1980-05-17", "general-practitioner": "A12345"}).json()["total"]
        == 0
    )


def test_too_many_matches_is_a_200_operation_outcome_as_pds_sends_it(api, reader_token, db):
    for _ in range(3):
        PatientFactory(name="KHAN ALI", birth_date=dt.date(1990, 1, 1))
    response = api(reader_token).get("", {"family": "KHAN", "birthdate": "1990-01-01", "_max-results": "2"})
    assert response.status_code == 200
    assert spine_code(response) == "TOO_MANY_MATCHES"
    issue = response.json()["issue"][0]
    assert (issue["severity"], issue["code"]) == ("information", "multiple-matches")
    fine = api(reader_token).get("", {"family": "KHAN", "birthdate": "1990-01-01", "_max-results": "3"})
    assert fine.json()["total"] == 3


def test_fuzzy_search_finds_a_misspelling_with_a_score_below_one(api, reader_token, jane):
    caller = api(reader_token)
    strict = caller.get("", {"family": "SMYTH", "given": "JANE", "birthdate": "1980-05-17"}).json()
    assert strict["total"] == 0
    fuzzy = caller.get(
        "", {"family": "SMYTH", "given": "JANE", "birthdate": "1980-05-17", "_fuzzy-match": "true"}
    ).json()
    assert [e["resource"]["id"] for e in fuzzy["entry"]] == ["9434765919"]
    assert 0.85 < fuzzy["entry"][0]["search"]["score"] < 1.0


def test_history_search_matches_previous_names(api, reader_token, jane):
    services.change_name(
        jane, family="BROWN", given=["JANE"], start=dt.date(2020, 1, 1), expected_version=1, by="t", reason="r"
    )
    caller = api(reader_token)
    assert caller.get("", {"family": "SMITH", "birthdate": "1980-05-17"}).json()["total"] == 0
    assert caller.get("", {"family": "SMITH", "birthdate": "1980-05-17", "_history": "true"}).json()["total"] == 1


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "UNSUPPORTED_SERVICE"),
        ({"family": "SMITH", "birthdate": "1980-05-17", "colour": "blue"}, 400, "ADDITIONAL_PROPERTIES"),
        ({"family": "SMITH"}, 400, "MISSING_VALUE"),
        ({"birthdate": "1980-05-17"}, 400, "INVALID_SEARCH_DATA"),
        ({"family": "SMITH", "birthdate": "17/05/1980"}, 400, "INVALID_VALUE"),
        ({"family": "SMITH", "birthdate": "1980-05-17", "gender": "robot"}, 400, "INVALID_VALUE"),
        ({"family": "SMITH", "birthdate": "1980-05-17", "_max-results": "51"}, 400, "INVALID_VALUE"),
        ({"family": "SMITH", "birthdate": "1980-05-17", "_fuzzy-match": "maybe"}, 400, "INVALID_VALUE"),
        ({"family": "S*", "birthdate": "1980-05-17"}, 400, "INVALID_SEARCH_DATA"),
        ({"family": "SMITH", "birthdate": "1980-05-17", "_fuzzy-match": "true"}, 400, "INVALID_SEARCH_DATA"),
        (
            {"family": "SMITH", "birthdate": "1980-05-17", "address-postalcode": "LS1", "address-postcode": "LS1"},
            400,
            "INVALID_SEARCH_DATA",
        ),
    ],
)
def test_bad_searches_are_400s_with_pds_codes_and_a_diagnostic(api, reader_token, params, status, code):
    response = api(reader_token).get("", params)
    assert (response.status_code, spine_code(response)) == (status, code)
    assert response.json()["issue"][0]["diagnostics"]


def test_searches_are_audited_with_the_numbers_returned(api, reader_token, jane):
    api(reader_token).get("", {"family": "SMITH", "birthdate": "1980-05-17"})
    event = AuditEvent.objects.get(action="api_search_patients")
    assert event.detail == {"results": ["9434765919"]}
