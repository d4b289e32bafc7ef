"""PCRM's FHIR API answers as NHS England's PDS specification says: every success and every error.

Each answer our API can give (read, search, update; each Spine error code it uses) is produced
through the whole Django stack and validated with openapi-core against ../shared/peers/pds-spec:
the status is one the operation declares, the body matches that response's schema (Patient,
PatientSearch, OperationOutcome) and the declared headers; the request ids are mirrored and the
ETag equals meta.versionId. Requests outside the specification's paths (an unknown endpoint, an
unsupported method) have no operation there, so their OperationOutcome is checked against the
specification's OperationOutcome schema alone.
"""

import datetime as dt
import json
import uuid

import pytest
from factories import ApiTokenFactory, PatientFactory, UserFactory
from pds_peers import check_outcome, check_response

from pds import fhir, selectors, services

pytestmark = [pytest.mark.external, pytest.mark.django_db]

FHIR = "/pds/FHIR/R4"
JANE = "9434765919"
JANE_PATH = f"/Patient/{JANE}"
GENDER = [{"op": "replace", "path": "/gender", "value": "male"}]
DEATH = {
    "url": fhir.DEATH_URL,
    "extension": [{"url": "deathNotificationStatus", "valueCodeableConcept": {"coding": [{"code": "1"}]}}],
}
PREFERENCES = [
    {"url": fhir.PHARMACY_URL, "valueReference": {"identifier": {"system": fhir.ODS_SYSTEM, "value": "FA123"}}},
    {
        "url": fhir.COMMUNICATION_URL,
        "extension": [
            {"url": "language", "valueCodeableConcept": {"coding": [{"code": "fr"}]}},
            {"url": "interpreterRequired", "valueBoolean": True},
        ],
    },
    {
        "url": fhir.CONTACT_PREFERENCE_URL,
        "extension": [
            {"url": "PreferredWrittenCommunicationFormat", "valueCodeableConcept": {"coding": [{"code": "12"}]}},
            {"url": "PreferredContactMethod", "valueCodeableConcept": {"coding": [{"code": "1"}]}},
            {"url": "PreferredContactTimes", "valueString": "Not after 7pm"},
        ],
    },
]


class Caller:
    """Calls our API with the headers the specification names, and checks each answer against it."""

    def __init__(self, client, tokens: dict[str, str]):
        self.client = client
        self.tokens = tokens
        self.checked: list[tuple[str, int, str]] = []

    def __call__(self, method, path, *, who="reader", query=(), headers=None, body=None, content_type=None):
        sent = {"X-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": "pcrm-spec-check"} | (headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        if who:
            sent["Authorization"] = f"Bearer {self.tokens[who]}"
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sent.items()}
        if method == "GET":
            response = self.client.get(FHIR + path, list(query), **meta)
        else:
            payload = body if isinstance(body, str) else json.dumps(body)
            kind = content_type or "application/json-patch+json"
            response = self.client.generic(method, FHIR + path, payload, content_type=kind, **meta)
        answer = json.loads(response.content)
        code = ""
        if answer["resourceType"] == "OperationOutcome":
            code = answer["issue"][0]["details"]["coding"][0]["code"]
        check_response(
            method,
            path,
            status=response.status_code,
            body=response.content,
            query=query,
            request_headers=sent,
            response_headers=dict(response.headers.items()),
        )
        assert response.headers["Content-Type"] == "application/fhir+json"
        if "X-Request-ID" in sent:
            assert response.headers["X-Request-ID"] == sent["X-Request-ID"]
            assert response.headers["X-Correlation-ID"] == "pcrm-spec-check"
        if answer["resourceType"] == "Patient":
            assert response.headers["ETag"] == f'W/"{answer["meta"]["versionId"]}"'
        self.checked.append((f"{method} {path.split('/')[1].split('?')[0]}", response.status_code, code))
        return response.status_code, code, answer


@pytest.fixture
def call(client, db):
    services.create_patient(
        family="Smith",
        given=["Jane", "Ann"],
        prefix="Mrs",
        gender="2",
        birth_date=dt.date(1980, 5, 17),
        place_of_birth="Leeds",
        address={"house": "Rose Cottage", "road": "1 High Street", "post_town": "Leeds", "postcode": "LS1 4AP"},
        practice_ods="A12345",
        registered_on=dt.date(2015, 1, 1),
        nhs_number=JANE,
        by="t",
        reason="fixture",
    )
    for _ in range(3):
        PatientFactory(name="KHAN ALI", birth_date=dt.date(1990, 1, 1))
    tokens = {
        "reader": ApiTokenFactory(user=UserFactory(username="reader", roles=["NBO agent"])).raw,
        "amender": ApiTokenFactory(user=UserFactory(username="amender", roles=["Administrator"])).raw,
    }
    caller = Caller(client, tokens)
    yield caller
    print(f"\nspecification checks: {len(caller.checked)} answers, {sorted(set(caller.checked))}")


def _patch(call, patches, version, **kwargs):
    headers = {"If-Match": f'W/"{version}"'} | kwargs.pop("headers", {})
    return call("PATCH", JANE_PATH, who=kwargs.pop("who", "amender"), headers=headers, body=patches, **kwargs)


def test_every_update_answer_is_in_the_specification(call):
    successes = [
        [{"op": "add", "path": "/telecom/-", "value": {"system": "phone", "use": "mobile", "value": "07700900123"}}],
        [{"op": "add", "path": "/extension/-", "value": extension} for extension in PREFERENCES],
        [{"op": "add", "path": "/name/-", "value": {"use": "nickname", "family": "Smith", "given": ["Jo"]}}],
        [
            {"op": "add", "path": "/deceasedDateTime", "value": "2026-01-02T00:00:00+00:00"},
            {"op": "add", "path": "/extension/-", "value": DEATH},
        ],
    ]
    for version, patches in enumerate(successes, start=1):
        status, _, answer = _patch(call, {"patches": patches, "correction": False}, version)
        assert status == 200, answer
    refusals = [
        (_patch(call, {"patches": GENDER}, None, headers={"If-Match": None}), (412, "PRECONDITION_FAILED")),
        (_patch(call, {"patches": GENDER}, 1), (409, "RESOURCE_VERSION_MISMATCH")),
        (_patch(call, {"patches": []}, 5), (400, "INVALID_UPDATE")),
        (_patch(call, "not json", 5), (400, "INVALID_UPDATE")),
        (_patch(call, {"patches": [{"op": "remove", "path": "/name/0"}]}, 5), (400, "INVALID_UPDATE")),
        (
            _patch(call, {"patches": [{"op": "add", "path": "/pets", "value": "cat"}]}, 5),
            (400, "ADDITIONAL_PROPERTIES"),
        ),
        (_patch(call, {"patches": GENDER, "pets": 1}, 5), (400, "ADDITIONAL_PROPERTIES")),
        (
            _patch(call, {"patches": [{"op": "replace", "path": "/birthDate", "value": "20101022"}]}, 5),
            (400, "INVALID_VALUE"),
        ),
        (_patch(call, {"patches": GENDER}, 5, headers={"X-Request-ID": None}), (400, "MISSING_VALUE")),
        (_patch(call, {"patches": GENDER}, 5, headers={"X-Request-ID": "1234"}), (400, "INVALID_VALUE")),
        (_patch(call, {"patches": GENDER}, 5, content_type="text/plain"), (400, "INVALID_VALUE")),
        (_patch(call, {"patches": GENDER}, 5, who=None), (401, "ACCESS_DENIED")),
        (_patch(call, {"patches": GENDER}, 5, who="reader"), (403, "ACCESS_DENIED")),
        (
            call(
                "PATCH", "/Patient/9434765918", who="amender", headers={"If-Match": 'W/"1"'}, body={"patches": GENDER}
            ),
            (400, "INVALID_RESOURCE_ID"),
        ),
        (
            call(
                "PATCH", "/Patient/9000000009", who="amender", headers={"If-Match": 'W/"1"'}, body={"patches": GENDER}
            ),
            (404, "RESOURCE_NOT_FOUND"),
        ),
    ]
    for (status, code, _), expected in refusals:
        assert (status, code) == expected


def test_a_forbidden_update_is_in_the_specification(call):
    jane = selectors.get_patient(JANE).patient
    services.record_death(jane, date=dt.date(2026, 1, 2), status="formal", expected_version=1, by="t", reason="r")
    undo = [
        {"op": "remove", "path": "/deceasedDateTime"},
        {"op": "test", "path": "/extension/0/url", "value": fhir.DEATH_URL},
        {"op": "remove", "path": "/extension/0"},
    ]
    status, code, _ = _patch(call, {"patches": undo}, 2)
    assert (status, code) == (403, "FORBIDDEN_UPDATE")


def test_every_read_answer_is_in_the_specification(call):
    _patch(call, {"patches": [{"op": "add", "path": "/extension/-", "value": e} for e in PREFERENCES]}, 1)
    hidden = PatientFactory()
    services.update_demographics(hidden, sensitive=True, expected_version=hidden.version, by="t", reason="r")
    duplicate = PatientFactory()
    services.merge_patients(
        retained=selectors.get_patient(JANE).patient,
        duplicate=duplicate,
        retained_version=2,
        duplicate_version=duplicate.version,
        by="t",
        reason="r",
    )
    expected = {
        (JANE_PATH, "reader", None): (200, ""),
        (JANE_PATH, "amender", None): (200, ""),
        (f"/Patient/{hidden.nhs_number}", "reader", None): (200, ""),  # restricted: no address, GP, pharmacy
        (f"/Patient/{duplicate.nhs_number}", "reader", None): (200, ""),  # superseded: the retained record
        ("/Patient/9434765918", "reader", None): (400, "INVALID_RESOURCE_ID"),
        ("/Patient/9000000009", "reader", None): (404, "RESOURCE_NOT_FOUND"),
        (JANE_PATH, None, None): (401, "ACCESS_DENIED"),
        (JANE_PATH, "reader", "missing"): (400, "MISSING_VALUE"),
        (JANE_PATH, "reader", "1234"): (400, "INVALID_VALUE"),
    }
    for (path, who, request_id), outcome in expected.items():
        headers = {"X-Request-ID": None if request_id == "missing" else request_id} if request_id else {}
        status, code, answer = call("GET", path, who=who, headers=headers)
        assert (status, code) == outcome, answer
    no_rights = ApiTokenFactory(user=UserFactory(username="nobody", roles=[])).raw
    call.tokens["nobody"] = no_rights
    assert call("GET", JANE_PATH, who="nobody")[:2] == (403, "ACCESS_DENIED")
    status, _, answer = call("GET", JANE_PATH, query=[("_pretty", "1")])
    assert (status, answer["issue"][0]["details"]["coding"][0]["code"]) == (400, "ADDITIONAL_PROPERTIES")


def test_every_search_answer_is_in_the_specification(call):
    _patch(
        call,
        {"patches": [{"op": "add", "path": "/telecom/-", "value": {"system": "email", "value": "j@example.com"}}]},
        1,
    )
    smith = [("family", "Smith"), ("birthdate", "eq1980-05-17")]
    searches = [
        (smith, (200, "")),
        (smith + [("email", "j@example.com")], (200, "")),
        ([("family", "Sm*"), ("birthdate", "ge1980-01-01"), ("birthdate", "le1980-12-31")], (200, "")),
        ([("family", "Smyth"), ("given", "Jane"), ("birthdate", "eq1980-05-17"), ("_fuzzy-match", "true")], (200, "")),
        ([("family", "Nobody"), ("birthdate", "eq1980-05-17")], (200, "")),  # no entry array
        ([("family", "Khan"), ("birthdate", "eq1990-01-01"), ("_max-results", "2")], (200, "TOO_MANY_MATCHES")),
        ([], (400, "UNSUPPORTED_SERVICE")),
        ([("family", "Smith")], (400, "MISSING_VALUE")),
        ([("given", "Jane"), ("birthdate", "eq1980-05-17")], (400, "INVALID_SEARCH_DATA")),
        ([("family", "Smith"), ("birthdate", "19800517")], (400, "INVALID_VALUE")),
        (smith + [("_max-results", "51")], (400, "INVALID_VALUE")),
        (smith + [("pets", "cat")], (400, "ADDITIONAL_PROPERTIES")),
        (smith + [("address-postcode", "LS1"), ("address-postalcode", "LS1")], (400, "INVALID_SEARCH_DATA")),
    ]
    for query, outcome in searches:
        status, code, answer = call("GET", "/Patient", query=query)
        assert (status, code) == outcome, (query, answer)
    assert call("GET", "/Patient", who=None, query=smith)[:2] == (401, "ACCESS_DENIED")
    assert call("GET", "/Patient", query=smith, headers={"X-Request-ID": None})[:2] == (400, "MISSING_VALUE")


def test_answers_outside_the_specifications_paths_are_its_operation_outcomes(client, db):
    """A path the API does not serve is 404 NOT_FOUND; a method a served path does not take is 405
    METHOD_NOT_ALLOWED with the Allow header HTTP requires of a 405 (RFC 9110 15.5.6)."""

    def code(response):
        return json.loads(response.content)["issue"][0]["details"]["coding"][0]["code"]

    unknown = client.get(FHIR + "/Observation")
    check_outcome(unknown.content)
    assert (unknown.status_code, code(unknown)) == (404, "NOT_FOUND")
    assert "Allow" not in unknown
    for method, path, allowed in (("delete", JANE_PATH, "GET, PATCH"), ("put", "/Patient", "GET, POST")):
        refused = getattr(client, method)(FHIR + path)
        check_outcome(refused.content)
        assert (refused.status_code, code(refused), refused["Allow"]) == (405, "METHOD_NOT_ALLOWED", allowed)
