"""Shared fixtures: the real MESH sandbox, real Celery workers, Playwright on Debian's Chromium.

Tests get their own MESH sandbox process on a free port and their own Redis database, so a running
`make run` (its worker, beat and sandbox) can never take or feed messages meant for a test.
"""

import os

import pytest
from harness import MeshSandbox, Worker
from support import FIXTURES

# Playwright's sync API runs an event loop in the test thread; Django would refuse ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session", autouse=True)
def _isolated_broker():
    """Point Celery at the test Redis database, and a queue named for this run's test database, before
    any task is sent: two suites running at once (or a `make run`) never take each other's tasks."""
    from pcrm_site.celery import app

    app.conf.broker_url = TEST_REDIS_URL
    app.conf.result_backend = TEST_REDIS_URL
    app.conf.task_always_eager = False
    app.conf.task_default_queue = run_queue_name()
    return TEST_REDIS_URL


def run_queue_name() -> str:
    from django.conf import settings

    return f"test-{settings.DATABASES['default']['TEST']['NAME']}"


@pytest.fixture(scope="session")
def mesh_server():
    """A real mesh-sandbox (memory store, full HMAC auth) in its own process, warmed up once."""
    sandbox = MeshSandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def mesh(mesh_server, settings):
    """The sandbox, emptied, with PCRM's settings pointing at it."""
    mesh_server.reset()
    settings.MESH_URL = mesh_server.url
    return mesh_server.url


@pytest.fixture
def mesh_as(mesh, settings):
    """Open a MeshClient as any mailbox (a GP practice, NHAIS, PCSE) against the test sandbox."""
    from mesh_client import MeshClient

    def _open(mailbox: str) -> MeshClient:
        return MeshClient(
            mesh, mailbox, settings.MESH_PASSWORD, shared_key=settings.MESH_SHARED_KEY.encode(), timeout=10
        )

    return _open


@pytest.fixture
def celery_worker_process(mesh, transactional_db):
    """Start a real worker against the test database; purge the test queue first."""
    from django.db import connection

    from pcrm_site.celery import app

    app.control.purge()
    workers: list[Worker] = []

    def start(concurrency: int = 1) -> Worker:
        worker = Worker(
            database=connection.settings_dict["NAME"],
            broker=TEST_REDIS_URL,
            mesh_url=mesh,
            concurrency=concurrency,
            queue=run_queue_name(),
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    app.control.purge()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium: Playwright cannot download its own browser on these machines.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def fixture_bytes():
    def read(relative: str) -> bytes:
        return (FIXTURES / relative).read_bytes()

    return read
