"""The PDS gateway: the local store and a remote FHIR endpoint answer alike.

The remote gateway is tested end to end against our own FHIR API served by a live server: real HTTP
round trips through requests, our views, the services and the database. Its retry rules are tested
against a small HTTP server on the loopback that answers with the failures we need.
"""

import datetime as dt
import http.server
import threading
import time

import pytest
from factories import ApiTokenFactory, PatientFactory, UserFactory

from pds import errors, history, selectors, services
from pds.client import PdsClient
from pds.gateway import LocalGateway, PatientRecord, RemoteGateway, get_gateway
from pds.trace import MATCH, MULTIPLE, TraceQuery

BORN = dt.date(1980, 5, 17)


def make_jane():
    return services.create_patient(
        family="Smith",
        given=["Jane"],
        gender="2",
        birth_date=BORN,
        place_of_birth="Leeds",
        address={"road": "1 High Street", "post_town": "Leeds", "postcode": "LS1 4AP"},
        practice_ods="A12345",
        registered_on=dt.date(2015, 1, 1),
        nhs_number="9434765919",
        by="test-suite",
        reason="fixture",
    )


@pytest.fixture
def remote(live_server, transactional_db):
    user = UserFactory(username="pcrm-system", roles=["Administrator"])
    token = ApiTokenFactory(user=user, name="processing")
    client = PdsClient(f"{live_server.url}/pds/FHIR/R4", token=token.raw, read_timeout=10, backoff=0.01)
    return RemoteGateway(client)


def test_get_gateway_follows_the_setting(settings, live_server):
    settings.PDS_BACKEND = "local"
    assert isinstance(get_gateway(), LocalGateway)
    settings.PDS_BACKEND = "remote"
    settings.PDS_FHIR_URL = f"{live_server.url}/pds/FHIR/R4"
    settings.PDS_API_TOKEN = "t"
    gateway = get_gateway()
    assert isinstance(gateway, RemoteGateway)
    assert gateway.client.base_url == f"{live_server.url}/pds/FHIR/R4"


def test_remote_and_local_read_the_same_record(remote):
    make_jane()
    local = LocalGateway().get("9434765919")
    far = remote.get("9434765919")
    assert far == local
    assert far.usual_name.family == "SMITH"
    assert (far.gp_practice, far.gp_since, far.version) == ("A12345", dt.date(2015, 1, 1), 1)
    assert far.current_address.postcode == "LS1 4AP"


def test_remote_read_of_a_superseded_number_answers_with_the_retained_record(remote):
    jane = make_jane()
    duplicate = PatientFactory()
    services.merge_patients(
        retained=jane, duplicate=duplicate, retained_version=1, duplicate_version=1, by="t", reason="r"
    )
    record = remote.get(duplicate.nhs_number)
    assert (record.nhs_number, record.superseded_from, record.version) == ("9434765919", duplicate.nhs_number, 2)


def test_remote_writes_change_the_store_with_who_and_why(remote):
    make_jane()
    moved = remote.register_with_practice(
        "9434765919",
        practice_ods="B82001",
        start=dt.date(2026, 3, 1),
        expected_version=1,
        by="ignored",
        reason="transaction 77",
    )
    assert (moved.gp_practice, moved.gp_since, moved.version) == ("B82001", dt.date(2026, 3, 1), 2)
    rehoused = remote.change_address(
        "9434765919",
        address={"road": "9 Park Lane", "post_town": "Leeds", "postcode": "LS2 7UE"},
        start=dt.date(2026, 3, 2),
        expected_version=2,
        by="ignored",
        reason="transaction 78",
    )
    assert rehoused.current_address.postcode == "LS2 7UE"
    died = remote.record_death(
        "9434765919", date=dt.date(2026, 3, 3), status="informal", expected_version=3, by="ignored", reason="case 5"
    )
    assert (died.death_date, died.death_status, died.version) == (dt.date(2026, 3, 3), "informal", 4)
    assert LocalGateway().get("9434765919") == died
    patient = selectors.get_patient("9434765919").patient
    entries = history.timeline(patient)
    assert [e.by for e in entries[:3]] == ["pcrm-system"] * 3
    assert entries[2].reason.endswith(": transaction 77")
    assert entries[0].reason.endswith(": case 5")


def test_ending_a_registration_remotely_and_locally(remote):
    make_jane()
    ended = remote.end_registration(
        "9434765919", end=dt.date(2026, 3, 1), removal_reason="1", expected_version=1, by="ignored", reason="tx 9"
    )
    assert (ended.gp_practice, ended.version) == (None, 2)
    with pytest.raises(errors.InvalidChange):
        remote.end_registration(
            "9434765919", end=dt.date(2026, 3, 1), removal_reason="1", expected_version=2, by="x", reason="again"
        )
    local = LocalGateway()
    local.register_with_practice(
        "9434765919", practice_ods="B82001", start=dt.date(2026, 3, 2), expected_version=2, by="t", reason="r"
    )
    with pytest.raises(errors.VersionConflict):
        remote.end_registration(
            "9434765919", end=dt.date(2026, 3, 5), removal_reason="5", expected_version=2, by="x", reason="stale"
        )
    done = local.end_registration(
        "9434765919", end=dt.date(2026, 3, 5), removal_reason="5", expected_version=3, by="t", reason="emigrated"
    )
    assert (done.gp_practice, done.version) == (None, 4)
    period = selectors.get_patient("9434765919").patient.gp_periods.get(practice_ods="B82001")
    assert (period.end, period.removal_reason) == (dt.date(2026, 3, 5), "5")


def test_remote_errors_are_typed(remote, live_server):
    make_jane()
    with pytest.raises(errors.VersionConflict):
        remote.register_with_practice(
            "9434765919", practice_ods="B82001", start=dt.date(2026, 3, 1), expected_version=7, by="x", reason="y"
        )
    with pytest.raises(errors.PatientNotFound):
        remote.get("9000000009")
    with pytest.raises(errors.InvalidNhsNumber):
        remote.get("9434765918")
    with pytest.raises(errors.InvalidChange):
        remote.record_death(
            "9434765919", date=dt.date(1900, 1, 1), status="formal", expected_version=1, by="x", reason="y"
        )
    stranger = RemoteGateway(PdsClient(f"{live_server.url}/pds/FHIR/R4", token="wrong"))
    with pytest.raises(errors.AccessDenied):
        stranger.get("9434765919")


def test_remote_trace_keeps_pds_scores_and_never_applies_pcrm_thresholds(remote):
    """Locally, a near-miss surname is a confident MATCH by PCRM's own thresholds. Remotely it is what
    PDS said: no non-fuzzy match, then a fuzzy candidate scoring below 1.0, which is not PDS's exact
    match, so the candidates go to the identity rules (MULTIPLE) with PDS's score untouched."""
    make_jane()
    query = TraceQuery(surname="Smyth", forenames=("Jane",), gender="2", birth_date=BORN)
    local, far = LocalGateway().trace(query), remote.trace(query)
    assert local.outcome == MATCH
    assert far.outcome == MULTIPLE
    assert [c.nhs_number for c in far.candidates] == ["9434765919"]
    assert far.candidates[0].score == local.candidates[0].score < 1.0  # the score our FHIR API gave
    assert "fuzzy" in far.reason
    exact = remote.trace(TraceQuery(surname="Smith", forenames=("Jane",), birth_date=BORN))
    assert exact.outcome == MATCH and exact.candidates[0].score == 1.0
    for _ in range(3):
        PatientFactory(name="KHAN ALI", birth_date=BORN)
    remote.client._trace_max_results = 2
    crowded = remote.trace(TraceQuery(surname="Khan", forenames=("Ali",), birth_date=BORN))
    assert crowded.outcome == MULTIPLE
    assert crowded.too_many


# --- retries, against a loopback server that fails on purpose ------------------------------------------------


class Script(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers, delay) from the class's script."""

    script: list[tuple[int, dict, float]] = []
    seen: list[dict] = []
    body = b'{"resourceType": "Patient", "id": "9434765919"}'

    def do_GET(self):
        type(self).seen.append(dict(self.headers))
        status, headers, delay = type(self).script.pop(0) if type(self).script else (200, {"ETag": 'W/"3"'}, 0)
        time.sleep(delay)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/fhir+json")
        self.end_headers()
        self.wfile.write(self.body if status == 200 else b'{"resourceType": "OperationOutcome", "issue": []}')

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky():
    Script.script, Script.seen = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_busy_and_unavailable_answers_are_retried_with_backoff_and_the_same_request_id(flaky):
    Script.script = [(429, {}, 0), (503, {"Retry-After": "2"}, 0)]
    waits: list[float] = []
    client = PdsClient(flaky, max_attempts=3, backoff=0.25, sleep=waits.append)
    resource, version = client.read("9434765919")
    assert (resource["id"], version) == ("9434765919", 3)
    assert waits == [0.25, 2.0]
    assert len({h["X-Request-ID"] for h in Script.seen}) == 1
    assert len(Script.seen) == 3


def test_a_pds_that_stays_busy_is_a_transient_error_after_the_last_attempt(flaky):
    Script.script = [(429, {}, 0)] * 3
    waits: list[float] = []
    with pytest.raises(errors.RateLimited):
        PdsClient(flaky, max_attempts=3, backoff=0.1, sleep=waits.append).read("9434765919")
    assert waits == [0.1, 0.2]
    Script.script = [(502, {}, 0)] * 2
    with pytest.raises(errors.Unavailable) as raised:
        PdsClient(flaky, max_attempts=2, backoff=0.1, sleep=waits.append).read("9434765919")
    assert isinstance(raised.value, errors.Transient)


def test_answers_about_the_request_are_not_retried(flaky):
    Script.script = [(400, {}, 0)]
    with pytest.raises(errors.BadResponse):
        PdsClient(flaky, max_attempts=3, sleep=lambda s: None).read("9434765919")
    assert len(Script.seen) == 1


def test_a_slow_pds_times_out_as_transient(flaky):
    Script.script = [(200, {"ETag": 'W/"1"'}, 1.0)]
    with pytest.raises(errors.Unavailable, match="timed out"):
        PdsClient(flaky, read_timeout=0.2, max_attempts=1).read("9434765919")


def test_nothing_listening_is_transient():
    with pytest.raises(errors.Unavailable, match="could not be reached"):
        PdsClient("http://127.0.0.1:9", connect_timeout=0.5, max_attempts=2, sleep=lambda s: None).read("9434765919")


def test_a_response_without_an_etag_is_a_bad_response(flaky):
    Script.script = [(200, {}, 0)]
    with pytest.raises(errors.BadResponse):
        PdsClient(flaky).read("9434765919")


def test_a_record_that_cannot_be_parsed_is_a_bad_response():
    with pytest.raises(errors.BadResponse):
        PatientRecord.from_resource({"resourceType": "Patient"}, 1)
