"""/healthz, /readyz and /metrics against the real services, with real parts down: a Redis port with
nothing listening, a worker that stopped, MESH and PDS addresses that refuse connections."""

import datetime as dt
import time

import pytest
import requests
from django.utils import timezone
from factories import InterchangeFactory
from harness import free_port
from support import wait_for

from ops import store
from pds import errors
from pds.client import PdsClient
from registrations import tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_figures():
    store.reset()
    yield
    store.reset()


def test_healthz_answers_without_sign_in_and_is_never_cached(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_names_redis_when_nothing_listens_on_its_port(client, settings):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CELERY_BROKER_URL = dead
    settings.REDIS_URL = dead
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert "redis" in body["failing"]
    assert body["checks"]["redis"]["why"] == "ConnectionError"
    assert body["checks"]["database"]["ok"] is True


def test_readyz_is_ready_with_a_worker_beat_and_mesh_then_names_the_worker_that_stopped(
    client, settings, mesh, celery_worker_process
):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"mesh", "worker", "beat"}

    worker = celery_worker_process()
    wait_for(lambda: store.last_beat("worker") is not None, timeout=30, message="the worker's heartbeat")
    tasks.validate_mailbox()  # a real handshake with the sandbox
    store.beat("beat")  # a real beat process ticks in tests/ops/test_production_mode.py
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["failing"] == []

    worker.stop()
    settings.WORKER_READY_MAX_AGE_SECONDS = 1
    time.sleep(1.5)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]


def test_readyz_fails_on_an_old_unprocessed_inbound_message(client, settings):
    for name in ("mesh", "worker", "beat"):
        store.beat(name)
    stuck = InterchangeFactory(status="RECEIVED")
    type(stuck).objects.filter(pk=stuck.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    body = client.get("/readyz").json()
    assert body["failing"] == ["inbound"]
    assert body["checks"]["inbound"]["waiting"] == 1
    assert body["checks"]["inbound"]["oldest_age_seconds"] >= 7200


def test_readyz_names_mesh_when_the_last_session_is_too_old(client, settings):
    for name in ("mesh", "worker", "beat"):
        store.beat(name)
    settings.MESH_READY_MAX_AGE_SECONDS = 0
    time.sleep(0.05)
    assert client.get("/readyz").json()["failing"] == ["mesh"]


def test_metrics_need_the_token_or_a_direct_local_request(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    # Loopback, but relayed by a proxy on this machine: not direct, so refused.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert client.get("/metrics").status_code == 200
    settings.METRICS_ALLOW_LOCALHOST = False
    assert client.get("/metrics").status_code == 403


def test_metrics_give_every_listed_series(client, settings, mesh):
    InterchangeFactory(status="RECEIVED")
    client.get("/healthz")
    # A real PDS call that fails (nothing listens) and a real MESH session that fails.
    pds = PdsClient(f"http://127.0.0.1:{free_port()}", max_attempts=1, connect_timeout=0.5)
    with pytest.raises(errors.Unavailable):
        pds.read("9434765919")
    settings.MESH_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(requests.ConnectionError):
        tasks.validate_mailbox()

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for series in (
        "pcrm_transactions",
        "pcrm_cases_open",
        "pcrm_inbox_backlog 1.0",
        "pcrm_inbox_oldest_age_seconds",
        "pcrm_outbox_queued",
        "pcrm_outbox_oldest_age_seconds",
        "pcrm_receps_missing",
        'pcrm_pds_call_seconds_count{method="GET",outcome="Unavailable"} 1.0',
        'pcrm_pds_errors_total{error="Unavailable",method="GET"} 1.0',
        'pcrm_mesh_errors_total{error="ConnectionError"} 1.0',
        'pcrm_http_request_seconds_bucket{le="+Inf",method="GET",route="/healthz",status="200"} 1.0',
    ):
        assert series in text, series
    assert "9434765919" not in text
