"""FHIR PATCH as PDS takes it: JSON Patch wrapped in {"patches": [...]}, If-Match required, all or nothing."""

import datetime as dt

import pytest
from django.test import Client
from factories import ApiTokenFactory

from exceptions.models import AuditEvent
from pds import history, services
from pds.fhir import DEATH_URL
from pds.models import GPPeriod, Patient, PatientAddress, PatientName, PatientTelecom

REQUEST_ID = "0f5c6b0e-3a1d-4a8e-9b57-2c1e8f3d4a60"

pytestmark = pytest.mark.django_db
NHS = "/9434765919"


def spine_code(response) -> str:
    return response.json()["issue"][0]["details"]["coding"][0]["code"]


def diagnostics(response) -> str:
    return response.json()["issue"][0]["diagnostics"]


@pytest.fixture
def amend(api, amender_token, jane):
    return api(amender_token)


def test_a_patch_without_if_match_is_412(amend):
    response = amend.patch(NHS, [{"op": "replace", "path": "/gender", "value": "male"}])
    assert (response.status_code, spine_code(response)) == (412, "PRECONDITION_FAILED")
    malformed = amend.patch(NHS, [{"op": "replace", "path": "/gender", "value": "male"}], HTTP_IF_MATCH='"1"')
    assert malformed.status_code == 412


def test_a_stale_version_is_409_and_nothing_changes(amend, jane):
    services.update_demographics(jane, place_of_birth="YORK", expected_version=1, by="t", reason="r")
    response = amend.patch(NHS, [{"op": "replace", "path": "/gender", "value": "male"}], version=1)
    assert (response.status_code, spine_code(response)) == (409, "RESOURCE_VERSION_MISMATCH")
    assert Patient.objects.get(pk=jane.pk).gender == "2"


def test_a_good_patch_returns_the_whole_patient_with_the_next_version(amend, jane):
    response = amend.patch(NHS, [{"op": "replace", "path": "/gender", "value": "male"}], version=1)
    assert response.status_code == 200
    assert response["ETag"] == 'W/"2"'
    body = response.json()
    assert (body["gender"], body["meta"]["versionId"]) == ("male", "2")
    assert Patient.objects.get(pk=jane.pk).gender == "1"


def test_the_patch_is_in_the_history_with_the_user_and_request(amend, amender_token, jane):
    amend.patch(
        NHS,
        [{"op": "replace", "path": "/birthDate", "value": "1980-05-18"}],
        version=1,
        HTTP_X_REQUEST_ID="60e0b220-8136-4ca5-ae46-1d97ef59d068",
    )
    entry = history.timeline(jane)[0]
    assert entry.action == "amend_patient"
    assert entry.by == amender_token.user.username
    assert entry.reason == "FHIR PATCH request 60e0b220-8136-4ca5-ae46-1d97ef59d068"
    assert [(f.label, f.before, f.after) for f in entry.changes[0].fields] == [
        ("Birth date", "1980-05-17", "1980-05-18")
    ]
    assert AuditEvent.objects.filter(action="api_amend_patient", nhs_number="9434765919").exists()


def test_names_are_added_at_the_end_replaced_by_id_and_removed_after_a_test(amend, jane):
    added = amend.patch(
        NHS,
        [{"op": "add", "path": "/name/-", "value": {"use": "nickname", "family": "SMITH", "given": ["JJ"]}}],
        version=1,
    )
    assert added.status_code == 200, added.json()
    nickname = next(n for n in added.json()["name"] if n["use"] == "nickname")
    assert nickname["id"] and nickname["period"]["start"]
    index = added.json()["name"].index(nickname)
    replaced = amend.patch(
        NHS,
        [{"op": "replace", "path": f"/name/{index}", "value": {**nickname, "given": ["JAY"]}}],
        version=2,
    )
    assert replaced.status_code == 200, replaced.json()
    assert PatientName.objects.get(pk=nickname["id"]).given == ["JAY"]
    removed = amend.patch(
        NHS,
        [
            {"op": "test", "path": f"/name/{index}/id", "value": nickname["id"]},
            {"op": "remove", "path": f"/name/{index}"},
        ],
        version=3,
    )
    assert removed.status_code == 200, removed.json()
    assert not PatientName.objects.filter(pk=nickname["id"]).exists()


def test_a_new_address_is_a_move_and_the_old_one_is_kept_ended(amend, jane):
    current = amend.get(NHS)
    body, version = current.json(), int(current["ETag"][3:-1])
    address = body["address"][0]
    response = amend.patch(
        NHS,
        [
            {"op": "test", "path": "/address/0/id", "value": address["id"]},
            {
                "op": "replace",
                "path": "/address/0",
                "value": {
                    "id": address["id"],
                    "use": "home",
                    "period": {"start": "2026-01-01"},
                    "line": ["", "2 NEW ROAD", "", "LEEDS"],
                    "postalCode": "LS2 7UE",
                },
            },
        ],
        version=version,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["address"][0]["postalCode"] == "LS2 7UE"
    assert list(PatientAddress.objects.filter(patient=jane).order_by("pk").values_list("postcode", "end")) == [
        ("LS1 4AP", dt.date(2026, 1, 1)),
        ("LS2 7UE", None),
    ]


def test_registering_with_a_new_practice_through_general_practitioner(amend, jane):
    response = amend.patch(
        NHS,
        [
            {
                "op": "replace",
                "path": "/generalPractitioner/0",
                "value": {
                    "id": str(jane.current_gp.pk),
                    "type": "Organization",
                    "identifier": {
                        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                        "value": "B82001",
                        "period": {"start": "2026-02-01"},
                    },
                },
            }
        ],
        version=1,
    )
    assert response.status_code == 200, response.json()
    assert list(GPPeriod.objects.filter(patient=jane).order_by("start").values_list("practice_ods", "end")) == [
        ("A12345", dt.date(2026, 2, 1)),
        ("B82001", None),
    ]


def test_death_needs_a_notification_and_a_formal_one_cannot_be_replaced(amend, jane):
    informal = {
        "url": DEATH_URL,
        "extension": [{"url": "deathNotificationStatus", "valueCodeableConcept": {"coding": [{"code": "2"}]}}],
    }
    bare = amend.patch(
        NHS, [{"op": "add", "path": "/deceasedDateTime", "value": "2026-01-02T00:00:00+00:00"}], version=1
    )
    assert (bare.status_code, spine_code(bare)) == (400, "INVALID_UPDATE")
    ok = amend.patch(
        NHS,
        [
            {"op": "add", "path": "/deceasedDateTime", "value": "2026-01-02T00:00:00+00:00"},
            {"op": "add", "path": "/extension/-", "value": informal},
        ],
        version=1,
    )
    assert ok.status_code == 200, ok.json()
    assert Patient.objects.get(pk=jane.pk).death_status == "formal"
    again = amend.patch(NHS, [{"op": "replace", "path": "/deceasedDateTime", "value": "2026-01-05"}], version=2)
    assert (again.status_code, spine_code(again)) == (403, "FORBIDDEN_UPDATE")


def test_telecom_can_be_added(amend, jane):
    response = amend.patch(
        NHS,
        [{"op": "add", "path": "/telecom", "value": [{"system": "phone", "use": "mobile", "value": "07700 900123"}]}],
        version=1,
    )
    assert response.status_code == 200, response.json()
    assert PatientTelecom.objects.get(patient=jane).value == "07700 900123"


@pytest.mark.parametrize(
    ("patches", "code", "words"),
    [
        ([{"op": "replace", "path": "/id", "value": "9000000009"}], "INVALID_UPDATE", "/id is read-only"),
        ([{"op": "replace", "path": "/identifier/0/value", "value": "9000000009"}], "INVALID_UPDATE", "read-only"),
        ([{"op": "replace", "path": "/meta/versionId", "value": "9"}], "INVALID_UPDATE", "read-only"),
        ([{"op": "add", "path": "/favouriteColour", "value": "blue"}], "ADDITIONAL_PROPERTIES", "not an element"),
        ([{"op": "move", "from": "/gender", "path": "/birthDate"}], "INVALID_UPDATE", "not supported"),
        ([{"op": "remove", "path": "/name/0"}], "INVALID_UPDATE", "directly follow a test"),
        ([{"op": "add", "path": "/name/1", "value": {"family": "X"}}], "INVALID_UPDATE", "/name/-"),
        (
            [{"op": "add", "path": "/name/-", "value": {"id": "1", "family": "X"}}],
            "INVALID_UPDATE",
            "must not carry an id",
        ),
        ([{"op": "replace", "path": "/name/0", "value": {"family": "X"}}], "INVALID_UPDATE", "needs the item's id"),
        (
            [
                {"op": "test", "path": "/gender", "value": "male"},
                {"op": "replace", "path": "/gender", "value": "female"},
            ],
            "INVALID_UPDATE",
            "the test of /gender failed",
        ),
        ([{"op": "replace", "path": "/gender", "value": "other"}], "INVALID_VALUE", "other"),
        ([{"op": "remove", "path": "/gender"}], "INVALID_UPDATE", "cannot be removed"),
        ([{"op": "remove", "path": "/birthDate"}], "INVALID_UPDATE", "cannot be removed"),
        ([{"op": "replace", "path": "/birthDate", "value": "yesterday"}], "INVALID_VALUE", "format yyyy-mm-dd"),
        ([{"op": "replace", "path": "/birthDate", "value": "2999-01-01"}], "INVALID_UPDATE", "future"),
        ([{"op": "replace", "path": "/name/0/family", "value": "X" * 36}], "INVALID_UPDATE", "35 characters"),
        (
            [{"op": "replace", "path": "/name/0/use", "value": "old"}],
            "INVALID_UPDATE",
            "use of an existing name cannot change",
        ),
        ([{"op": "replace", "path": "/address/9/line", "value": []}], "INVALID_UPDATE", "cannot be applied"),
        ([{"op": "replace", "path": "/gender"}], "INVALID_UPDATE", "needs a 'value'"),
        (["not an operation"], "INVALID_UPDATE", "must be an object"),
        ([{"op": "replace", "path": "/gender", "value": "female"}], "INVALID_UPDATE", "changes nothing"),
    ],
)
def test_malformed_or_forbidden_patches_are_400s_with_a_clear_diagnostic(amend, jane, patches, code, words):
    response = amend.patch(NHS, patches, version=1)
    assert response.status_code == 400, response.json()
    assert spine_code(response) == code
    assert words in diagnostics(response)
    assert Patient.objects.get(pk=jane.pk).version == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "not valid JSON"),
        ('[{"op": "replace", "path": "/gender", "value": "male"}]', '{"patches"'),
        ('{"patches": []}', "non-empty list"),
        ('{"patches": [], "extra": 1}', "Unexpected properties"),
    ],
)
def test_a_malformed_body_is_a_400(amend, body, words):
    response = amend.patch(NHS, None, version=1, body=body)
    assert response.status_code == 400
    assert words in diagnostics(response)


def test_the_wrong_content_type_is_a_400(amend):
    response = amend.patch(
        NHS, [{"op": "replace", "path": "/gender", "value": "male"}], version=1, content_type="application/json"
    )
    assert (response.status_code, spine_code(response)) == (400, "INVALID_VALUE")


def test_reading_is_not_amending(api, reader_token, jane):
    response = api(reader_token).patch(NHS, [{"op": "replace", "path": "/gender", "value": "male"}], version=1)
    assert (response.status_code, spine_code(response)) == (403, "ACCESS_DENIED")


def test_a_restricted_record_cannot_be_amended_by_someone_not_cleared_for_it(api, leader, jane):
    services.update_demographics(jane, sensitive=True, expected_version=1, by="t", reason="r")
    response = api(ApiTokenFactory(user=leader)).patch(
        NHS, [{"op": "replace", "path": "/gender", "value": "male"}], version=2
    )
    assert (response.status_code, spine_code(response)) == (403, "FORBIDDEN_UPDATE")


def test_an_invalid_nhs_number_on_patch_is_400(amend):
    response = amend.patch("/1234567890", [{"op": "replace", "path": "/gender", "value": "male"}], version=1)
    assert (response.status_code, spine_code(response)) == (400, "INVALID_RESOURCE_ID")


def test_a_session_patch_needs_the_csrf_token_a_bearer_one_does_not(admin_user, jane):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    response = browser.patch(
        "/pds/FHIR/R4/Patient/9434765919",
        '{"patches": [{"op": "replace", "path": "/gender", "value": "male"}]}',
        content_type="application/json-patch+json",
        HTTP_IF_MATCH='W/"1"',
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert (response.status_code, spine_code(response)) == (403, "ACCESS_DENIED")
    token = ApiTokenFactory(user=admin_user)
    api_client = Client(enforce_csrf_checks=True)
    response = api_client.patch(
        "/pds/FHIR/R4/Patient/9434765919",
        '{"patches": [{"op": "replace", "path": "/gender", "value": "male"}]}',
        content_type="application/json-patch+json",
        HTTP_IF_MATCH='W/"1"',
        HTTP_AUTHORIZATION=f"Bearer {token.raw}",
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 200
