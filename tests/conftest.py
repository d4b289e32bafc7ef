"""Shared fixtures: the real MESH sandbox, real Celery workers, Playwright on Debian's Chromium.

Tests get their own MESH sandbox process on a free port and their own Redis database, so a running
`make run` (its worker, beat and sandbox) can never take or feed messages meant for a test.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

# Playwright's sync API runs an event loop in the test thread; Django would refuse ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "nhais-fixtures"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RUN = REPO / ".run"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_broker():
    """Point Celery at the test Redis database before any task is sent."""
    from pcrm_site.celery import app

    app.conf.broker_url = TEST_REDIS_URL
    app.conf.result_backend = TEST_REDIS_URL
    app.conf.task_always_eager = False
    return TEST_REDIS_URL


@pytest.fixture(scope="session")
def mesh_server():
    """A real mesh-sandbox (memory store, full HMAC auth) in its own process, warmed up once."""
    from django.conf import settings

    port = _free_port()
    data_dir = RUN / f"mesh-test-{port}"
    env = {
        **os.environ,
        "AUTH_MODE": "full",
        "SHARED_KEY": settings.MESH_SHARED_KEY,
        "STORE_MODE": "memory",
        "MESH_SANDBOX_DATA_DIR": str(data_dir),
        "PYTHONWARNINGS": "ignore::UserWarning",
        "MESH_MAILBOX": settings.MESH_MAILBOX,
        "MESH_PCSE_MAILBOX": settings.MESH_PCSE_MAILBOX,
        "MESH_PASSWORD": settings.MESH_PASSWORD,
    }
    RUN.mkdir(exist_ok=True)
    log = (RUN / f"mesh-test-{port}.log").open("w")
    proc = subprocess.Popen(
        [
            str(REPO / ".venv/bin/uvicorn"),
            "mesh_sandbox_app:app",
            "--app-dir",
            str(REPO / "scripts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError(f"mesh-sandbox did not start; see {log.name}")
    from mesh_client import MeshClient

    # The sandbox builds its store lazily and loses messages when the first requests race.
    with MeshClient(
        url, settings.MESH_MAILBOX, settings.MESH_PASSWORD, shared_key=settings.MESH_SHARED_KEY.encode()
    ) as client:
        client.handshake()
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def mesh(mesh_server, settings):
    """The sandbox, emptied, with PCRM's settings pointing at it."""
    requests.delete(f"{mesh_server}/admin/reset", timeout=10).raise_for_status()
    settings.MESH_URL = mesh_server
    return mesh_server


@pytest.fixture
def mesh_as(mesh, settings):
    """Open a MeshClient as any mailbox (a GP practice, NHAIS, PCSE) against the test sandbox."""
    from mesh_client import MeshClient

    def _open(mailbox: str) -> MeshClient:
        return MeshClient(
            mesh, mailbox, settings.MESH_PASSWORD, shared_key=settings.MESH_SHARED_KEY.encode(), timeout=10
        )

    return _open


class Worker:
    """A real `celery worker` process on the test database and broker."""

    def __init__(self, mesh_url: str, concurrency: int = 1, pool: str = "prefork"):
        from django.db import connection

        self.log_path = RUN / f"worker-test-{os.getpid()}-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            "POSTGRES_DB": connection.settings_dict["NAME"],
            "CELERY_BROKER_URL": TEST_REDIS_URL,
            "CELERY_RESULT_BACKEND": TEST_REDIS_URL,
            "MESH_URL": mesh_url,
            "MESH_POLLING_ENABLED": "1",
            "DJANGO_SETTINGS_MODULE": "pcrm_site.settings",
            "POSTGRES_CONN_MAX_AGE": "0",
        }
        RUN.mkdir(exist_ok=True)
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                str(REPO / ".venv/bin/celery"),
                "-A",
                "pcrm_site",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{time.monotonic_ns()}@%h",
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready: {self.log_path.read_text()[-2000:]}")

    def kill_hard(self) -> None:
        """SIGKILL the whole worker process group, as a machine crash would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


@pytest.fixture
def celery_worker_process(mesh, transactional_db):
    """Start a real worker against the test database; purge the test queue first."""
    from pcrm_site.celery import app

    app.control.purge()
    workers: list[Worker] = []

    def start(concurrency: int = 1, pool: str = "prefork") -> Worker:
        worker = Worker(mesh, concurrency=concurrency, pool=pool)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    app.control.purge()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2, message: str = "condition"):
    """Poll until `predicate()` is truthy; a bounded wait for work done by other processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


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


sys.path.insert(0, str(Path(__file__).resolve().parent))
