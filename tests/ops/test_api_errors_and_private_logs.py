"""The FHIR API answers every error with an OperationOutcome (never HTML, never a 500, nothing personal
echoed); log lines never carry personal data, database errors included; sign-in guessing is throttled per
source address across usernames as well as per username."""

import io
import json
import logging
import uuid

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings
from factories import ApiTokenFactory, PatientFactory, UserFactory

from ops.logs import JsonFormatter
from pds.models import Patient

pytestmark = pytest.mark.django_db

FHIR = "/pds/FHIR/R4/Patient"
NHS = "9434765919"


@pytest.fixture
def api(client):
    user = UserFactory(username="amender", roles=["Administrator"])
    token = ApiTokenFactory(user=user)
    PatientFactory(nhs_number=NHS, name="STEVENS JANE")

    def call(method: str, path: str = "", **kwargs):
        kwargs.setdefault("HTTP_AUTHORIZATION", f"Bearer {token.raw}")
        kwargs.setdefault("HTTP_X_REQUEST_ID", str(uuid.uuid4()))  # mandatory: without it every call is a 400
        return getattr(client, method)(FHIR + path, **kwargs)

    return call


def nested(depth: int) -> str:
    return '{"patches": ' + "[" * depth + "]" * depth + "}"


BAD_BODIES = {
    "malformed": '{"patches": [',
    "not utf-8": b"\xff\xfe\x00",
    "nested 10,000 deep": nested(10_000),
    "nested 100 deep": nested(100),
    "a NUL in a value": json.dumps({"patches": [{"op": "replace", "path": "/name/0/family", "value": "STEV\x00ENS"}]}),
    "a control character": json.dumps({"patches": [{"op": "add", "path": "/address/0/line/0", "value": "1\x07 St"}]}),
    "a bare string": '"Jane Stevens LS1 4AP"',
    "3 MB": '{"patches": [], "x": "' + "Z" * 3_000_000 + '"}',
}


@pytest.mark.parametrize("body", list(BAD_BODIES), ids=list(BAD_BODIES))
def test_every_bad_patch_body_gets_an_operation_outcome(api, body):
    response = api(
        "patch",
        f"/{NHS}",
        data=BAD_BODIES[body],
        content_type="application/json-patch+json",
        HTTP_IF_MATCH='W/"1"',
    )
    assert response["Content-Type"] == "application/fhir+json"
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    # Refused for its body, not for a missing header or permission: too large is its own answer.
    expected = (413, "REQUEST_TOO_LARGE") if body == "3 MB" else (400, "INVALID_UPDATE")
    assert (response.status_code, outcome["issue"][0]["details"]["coding"][0]["code"]) == expected, outcome
    text = json.dumps(outcome)
    for personal in ("STEV", "Jane", "LS1", NHS):
        assert personal not in text, personal
    assert Patient.objects.get(nhs_number=NHS).version == 1  # nothing changed


BAD_QUERIES = [
    # (query, the Spine code it gets): each is 400, refused for what is wrong with it
    ({"family": "STEVENS", "birthdate": "eq1980-13-45"}, "INVALID_VALUE"),
    ({"family": "STEVENS", "birthdate": "Jane Stevens"}, "INVALID_VALUE"),
    ({"family": "STEVENS", "birthdate": "eq1980-05-17", "gender": "Stevens"}, "INVALID_VALUE"),
    ({"family": "STEVENS", "birthdate": "eq1980-05-17", "_max-results": "LS14AP"}, "INVALID_VALUE"),
    ({"family": "STEVENS", "birthdate": "eq1980-05-17", "_fuzzy-match": "Jane"}, "INVALID_VALUE"),
    ({"family": "STEVENS" * 20, "birthdate": "eq1980-05-17"}, "INVALID_VALUE"),
    ({"family": "STE\x00VENS", "birthdate": "eq1980-05-17"}, "INVALID_VALUE"),
    ({"birthdate": ["eq1980-05-17"] * 5, "family": "STEVENS"}, "INVALID_SEARCH_DATA"),
    ({"unknown": "x"}, "ADDITIONAL_PROPERTIES"),
]


@pytest.mark.parametrize(("params", "code"), BAD_QUERIES)
def test_every_bad_search_gets_an_operation_outcome_without_echoing_it(api, params, code):
    response = api("get", data=params)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert (response.status_code, outcome["issue"][0]["details"]["coding"][0]["code"]) == (400, code), outcome
    for personal in ("STEVENS", "Jane", "LS14AP", "1980-13-45"):
        assert personal not in json.dumps(outcome)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/Jane%20Stevens", 400, "INVALID_RESOURCE_ID"),
        ("/943476591", 400, "INVALID_RESOURCE_ID"),
        (f"/{NHS}/_history", 404, "NOT_FOUND"),
        ("/../admin/", 404, "NOT_FOUND"),
        ("/%00", 400, "INVALID_VALUE"),
    ],
)
def test_bad_ids_and_paths_get_an_operation_outcome(api, path, status, code):
    response = api("get", path)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert (response.status_code, outcome["issue"][0]["details"]["coding"][0]["code"]) == (status, code), outcome
    assert "Jane" not in response.content.decode() and "943476591" not in response.content.decode()


def test_an_unexpected_failure_in_the_api_is_an_operation_outcome_not_an_html_page(api, monkeypatch):
    """A fault injected into the view (the only way to make our own code fail on purpose)."""
    from pds import api as fhir_api

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom with {NHS}")

    monkeypatch.setattr(fhir_api, "parse_search", broken)
    response = api("get", data={"family": "STEVENS", "birthdate": "eq1980-05-17"})
    assert response["Content-Type"] == "application/fhir+json"
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "SERVER_ERROR"
    assert NHS not in response.content.decode()


def json_lines(logger_name: str, emit) -> list[dict]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_database_error_that_echoes_values_is_logged_without_them():
    """A real unique violation: psycopg's message says DETAIL: Key (nhs_number)=(9434765919) already exists."""
    PatientFactory(nhs_number=NHS, name="STEVENS JANE")
    with pytest.raises(IntegrityError, match=NHS) as caught, transaction.atomic():  # the driver does echo it
        Patient.objects.create(nhs_number=NHS, gender="2")

    def emit(log):
        try:
            raise caught.value
        except IntegrityError:
            log.exception("Saving the record failed")

    lines = json_lines("pcrm.test", emit)
    assert len(lines) == 1
    line = json.dumps(lines[0])
    assert NHS not in line and "DETAIL" not in line
    assert "IntegrityError" in lines[0]["exception"] and "message withheld" in lines[0]["exception"]


def test_nhs_numbers_and_postcodes_in_a_message_are_masked_as_a_last_net():
    lines = json_lines("pcrm.test", lambda log: log.warning("Patient %s at %s", "943 476 5919", "ls1 4ap"))
    assert lines[0]["message"] == "Patient [number withheld] at [postcode withheld]"


def test_djangos_own_request_lines_name_the_route_not_the_path(client):
    UserFactory(username="viewer", roles=["NBO agent"])
    client.force_login(UserFactory(username="viewer2", roles=["NBO agent"]))
    with override_settings(DEBUG=False):
        lines = json_lines("django.request", lambda log: client.get(f"/pds/patients/{NHS}/"))
    assert all(NHS not in json.dumps(line) for line in lines)


@override_settings(AXES_FAILURE_LIMIT=3)
def test_password_guessing_across_usernames_is_throttled_per_source_address(client):
    for name in ("anna", "bill", "cara", "dave"):
        UserFactory(username=name)
    # Three wrong passwords for three different people, from one address: the third locks the address...
    statuses = [
        client.post("/accounts/login/", {"username": name, "password": "wrong"}, REMOTE_ADDR="198.51.100.7").status_code
        for name in ("anna", "bill", "cara")
    ]
    assert statuses == [200, 200, 429]
    # ...even for a fourth person with the right password.
    response = client.post(
        "/accounts/login/", {"username": "dave", "password": "correct-horse-battery"}, REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 429
    # Another address is not.
    response = client.post(
        "/accounts/login/", {"username": "dave", "password": "correct-horse-battery"}, REMOTE_ADDR="203.0.113.5"
    )
    assert response.status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_password_guessing_at_one_username_is_throttled_from_any_address(client):
    UserFactory(username="erin")
    for i in range(3):
        client.post("/accounts/login/", {"username": "erin", "password": "wrong"}, REMOTE_ADDR=f"192.0.2.{i + 1}")
    response = client.post(
        "/accounts/login/", {"username": "erin", "password": "correct-horse-battery"}, REMOTE_ADDR="192.0.2.99"
    )
    assert response.status_code == 429


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_the_source_address_is_the_one_the_proxy_saw():
    from django.test import RequestFactory

    from ops.net import client_ip

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    assert client_ip(request) == "198.51.100.7"
