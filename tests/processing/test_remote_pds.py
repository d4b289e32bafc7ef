"""Processing against a remote PDS: PDS_BACKEND=remote, our own FHIR API served by a live server.

A G1 acceptance goes through the real pipeline (MESH sandbox, ingest, rules) and every PDS read and
write is an HTTP round trip through pds.client to /pds/FHIR/R4/Patient (PATCH with If-Match). The
local gateway is made to fail loudly, so a rule that still read or wrote this database directly
would show. A remote PDS that is down (5xx) or changed under us (409) is a transient failure: the
task records a retry (nothing half done) and retries with backoff; the retry completes it.
"""

import datetime as dt
import http.server
import threading

import pytest
from django.db import connection
from factories import ApiTokenFactory, UserFactory
from processing_support import ACCEPTED_ON, g1, only_reply, process, replies

from exceptions.models import ExceptionCase
from pds import errors, gateway, selectors, services
from pds.client import PdsClient
from pds.models import GPPeriod
from registrations import tasks
from registrations.models import Transaction, TxStatus
from registrations.services import inbound, processing

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
JANE = "9434765919"


def _local_must_not_be_used(*args, **kwargs):
    raise AssertionError("processing used the local PDS store while PDS_BACKEND=remote")


@pytest.fixture
def remote_pds(settings, live_server, monkeypatch):
    """Point processing at the live server's FHIR API with a system user's token."""
    user = UserFactory(username="pcrm-processing", roles=["Administrator"])
    token = ApiTokenFactory(user=user, name="processing")
    url = f"{live_server.url}/pds/FHIR/R4"
    settings.PDS_BACKEND = "remote"
    settings.PDS_FHIR_URL = url
    settings.PDS_API_TOKEN = token.raw
    settings.PDS_MAX_ATTEMPTS = 2
    settings.PDS_BACKOFF_SECONDS = 0.01
    for name in ("get", "trace", "register_with_practice", "end_registration", "change_address", "record_death"):
        monkeypatch.setattr(gateway.LocalGateway, name, _local_must_not_be_used)
    return PdsClient(url, token=token.raw, backoff=0.01)


def _ingest(gp_system, *transactions) -> list[int]:
    """Send and ingest, without deciding: the test runs the decision itself."""
    gp_system.send(*transactions)
    stored: list[int] = []
    inbound.poll_inbox(on_stored=stored.append)
    return [tx_id for pk in stored for tx_id in inbound.ingest_interchange(pk).new_transaction_ids]


def test_g1_is_processed_automatically_against_a_remote_pds(world, patient, remote_pds):
    before, _ = remote_pds.read(JANE)
    assert before["generalPractitioner"][0]["identifier"]["value"] == "B20002"

    [tx] = process(world.gp_new, g1(7, GP))

    assert tx.status == TxStatus.DONE, tx.rule_trace
    assert tx.outcome == "Registered with A10001; F4 approval sent; F2 deduction sent to B20002"
    # PDS changed over the API: the record now reads with the new practice and a new version.
    after, version = remote_pds.read(JANE)
    assert after["generalPractitioner"][0]["identifier"]["value"] == "A10001"
    assert after["generalPractitioner"][0]["identifier"]["period"]["start"] == ACCEPTED_ON.isoformat()
    assert version == patient.version + 1
    # ... and in the store behind the live server: the old period closed, the new one open.
    periods = {p.practice_ods: p for p in GPPeriod.objects.filter(patient__nhs_number=JANE)}
    assert periods["B20002"].end == ACCEPTED_ON
    assert periods["A10001"].end is None
    # The replies are queued as with the local store: F4 to the new practice, F2 to the old one.
    sent = [(r.tx_type, r.link.practice.ods_code) for r in replies()]
    assert sent == [("F4", "A10001"), ("F2", "B20002")]
    f2 = only_reply("F2")
    assert f2.payload["deduction_reason"] == "3" and f2.payload["nhs_number"] == JANE
    assert any(step["result"] == "registered" for step in tx.rule_trace)


def test_a_remote_version_conflict_is_retried_not_decided(world, patient, remote_pds, monkeypatch):
    """Someone changes the record between the rule's read and its PATCH: the API answers 409."""
    [tx_id] = _ingest(world.gp_new, g1(7, GP))
    register = gateway.RemoteGateway.register_with_practice
    meanwhile = []

    def someone_else_moves_jane(nhs_number):
        # Another process, so its own connection: committed before the PATCH arrives.
        try:
            services.change_address(
                selectors.get_patient(nhs_number).patient,
                address={"road": "2 NEW ROAD", "post_town": "LEEDS", "postcode": "LS2 7AA"},
                start=dt.date(2026, 10, 1),
                expected_version=None,
                by="someone-else",
                reason="moved",
            )
        finally:
            connection.close()

    def changed_meanwhile(self, nhs_number, **kwargs):
        if not meanwhile:
            other = threading.Thread(target=someone_else_moves_jane, args=(nhs_number,))
            other.start()
            other.join()
            meanwhile.append(nhs_number)
        return register(self, nhs_number, **kwargs)

    monkeypatch.setattr(gateway.RemoteGateway, "register_with_practice", changed_meanwhile)

    with pytest.raises(errors.VersionConflict) as raised:
        processing.process_transaction(tx_id)
    assert isinstance(raised.value, tasks.TRANSIENT)
    # Nothing half done: the transaction is still to be decided, no reply queued, PDS not moved.
    assert Transaction.objects.get(pk=tx_id).status == TxStatus.PARSED
    assert replies() == []
    record, _ = remote_pds.read(JANE)
    assert record["generalPractitioner"][0]["identifier"]["value"] == "B20002"

    # Through the task, with the same conflict forced again: the failure is recorded as a retry and
    # the task retried (eagerly here, so at once); the retry re-reads PDS and decides again.
    meanwhile.clear()
    retries = _record_retries(monkeypatch)
    result = tasks.process_transaction.apply(args=[tx_id])

    assert [status for status, _ in retries] == [TxStatus.RETRY_WAIT]
    assert "VersionConflict" in retries[0][1]
    assert result.get() == TxStatus.DONE
    record, _ = remote_pds.read(JANE)
    assert record["generalPractitioner"][0]["identifier"]["value"] == "A10001"
    assert record["address"][0]["postalCode"] == "LS2 7AA"
    assert sorted(r.tx_type for r in replies()) == ["F2", "F4"]


def _record_retries(monkeypatch, then=lambda: None) -> list[tuple[str, str]]:
    """Spy on the task's retry bookkeeping: (status, error) per transient failure; `then` runs after."""
    calls = []
    record_retry = processing.record_retry

    def spy(tx_id, error):
        status = record_retry(tx_id, error)
        calls.append((status, error))
        then()
        return status

    monkeypatch.setattr(processing, "record_retry", spy)
    return calls


class _Unavailable(http.server.BaseHTTPRequestHandler):
    """A PDS that answers every request with 503 Service Unavailable."""

    hits = 0

    def do_GET(self):
        type(self).hits += 1
        self.send_response(503)
        self.send_header("Content-Type", "application/fhir+json")
        self.end_headers()
        self.wfile.write(b'{"resourceType": "OperationOutcome", "issue": []}')

    do_PATCH = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def unavailable_pds():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    _Unavailable.hits = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pds/FHIR/R4"
    server.shutdown()
    server.server_close()


def test_an_unavailable_remote_pds_is_transient_and_retried(
    world, patient, remote_pds, settings, unavailable_pds, monkeypatch
):
    [tx_id] = _ingest(world.gp_new, g1(7, GP))
    live_url = settings.PDS_FHIR_URL
    settings.PDS_FHIR_URL = unavailable_pds

    def pds_is_back():
        settings.PDS_FHIR_URL = live_url

    retries = _record_retries(monkeypatch, then=pds_is_back)
    result = tasks.process_transaction.apply(args=[tx_id])

    assert _Unavailable.hits == settings.PDS_MAX_ATTEMPTS  # the client retried before giving up
    assert [status for status, _ in retries] == [TxStatus.RETRY_WAIT]
    assert "Unavailable" in retries[0][1] and "503" in retries[0][1]
    assert result.get() == TxStatus.DONE  # the task's retry ran once PDS answered again
    record, _ = remote_pds.read(JANE)
    assert record["generalPractitioner"][0]["identifier"]["value"] == "A10001"
    assert sorted(r.tx_type for r in replies()) == ["F2", "F4"]


def test_under_application_restricted_access_an_update_becomes_a_case(world, patient, remote_pds, settings):
    """PDS allows no updates under application-restricted access (docs/pds.md): PCRM decides as usual,
    sends nothing to PDS and nothing to the practices, and a person gets the case to apply it."""
    settings.PDS_ACCESS_MODE = "application-restricted"
    [tx] = process(world.gp_new, g1(7, GP))

    assert tx.status == TxStatus.MANUAL, tx.rule_trace
    assert tx.outcome == "PDS update needs a person (application-restricted access)"
    assert tx.rule_trace[-1]["check"] == "PDS update" and tx.rule_trace[-1]["result"] == "needs a person"
    case = ExceptionCase.objects.get(transaction=tx)
    assert case.kind == "ACCEPTANCE_CHECK"
    record, version = remote_pds.read(JANE)
    assert record["generalPractitioner"][0]["identifier"]["value"] == "B20002"  # unchanged
    assert version == patient.version
    assert replies() == []
