"""Shared fixtures: the real MESH sandbox, real Celery workers, Playwright on Debian's Chromium.

Tests get their own MESH sandbox process on a free port and their own Redis database, so a running
`make run` (its worker, beat and sandbox) can never take or feed messages meant for a test.
"""

import os
from pathlib import Path

import pytest
from harness import MeshSandbox, Worker
from hypothesis import settings as hypothesis_settings
from support import SHARED, moved_clock, shared_present, without_web_fonts

# Hypothesis: in CI (and in `make test`) derandomised, with no example database, so the same code
# meets the same examples every run and an unrelated change never meets a new counterexample there;
# a failure prints the blob that reproduces it (@reproduce_failure). Elsewhere it explores freely.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
)
hypothesis_settings.load_profile(HYPOTHESIS_PROFILE)

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

    def start(concurrency: int = 1, *, broker: str = TEST_REDIS_URL, mesh_url: str | None = None, env=None) -> Worker:
        """A worker; `broker` and `mesh_url` for a test that runs its own Redis or MESH, `env` for settings."""
        worker = Worker(
            database=connection.settings_dict["NAME"],
            broker=broker,
            mesh_url=mesh_url or mesh,
            concurrency=concurrency,
            queue=run_queue_name(),
            extra_env=env,
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
def browser_page(page):
    """Playwright's page at the size the screenshots use, without the NHS.UK web fonts (they come
    from assets.nhs.uk, which these machines cannot reach)."""
    without_web_fonts(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    return page


@pytest.fixture
def no_safety_net(monkeypatch):
    """Let an unexpected exception surface as itself, so a bug cannot hide inside CodecError."""
    from registrations.gplinks import errors

    monkeypatch.setattr(errors, "SAFETY_NET", False)


# --- a moved clock ----------------------------------------------------------------------------------
# PCRM_TEST_NOW=2027-01-04T09:00 runs the session with the clock moved there (UK local time unless an
# offset is given) and ticking on from it, via time-machine. It moves this process only: worker
# processes, the MESH sandbox, PostgreSQL's now() and the browser keep the real time, so only the
# in-process tests marked `dates` are meant to run shifted (`make test` runs them at several dates).

_clock_key = pytest.StashKey[object]()


def pytest_configure(config):
    moment = moved_clock()
    if moment is not None:
        import time_machine

        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        config.stash[_clock_key] = traveller


def pytest_unconfigure(config):
    traveller = config.stash.get(_clock_key, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config):
    lines = [f"hypothesis profile: {HYPOTHESIS_PROFILE} (derandomize={hypothesis_settings().derandomize})"]
    moment = moved_clock()
    if moment:
        lines.append(f"clock: moved to {moment.isoformat()} (PCRM_TEST_NOW)")
    return lines


# --- people (tests/ui/conftest.py signs them in on the test client instead) ----------------------------


@pytest.fixture
def agent(db):
    """An NBO agent: can look patients up and work cases, cannot amend a PDS record or see restricted details."""
    from factories import UserFactory

    return UserFactory(username="agent", roles=["NBO agent"])


@pytest.fixture
def leader(db):
    """A team leader: can look up and amend, but not see restricted details."""
    from factories import UserFactory

    return UserFactory(username="leader", roles=["Team leader"])


@pytest.fixture
def now():
    """The current moment, taken inside the test (never at import: the clock may have been moved)."""
    from django.utils import timezone

    return timezone.now()


# --- the external conformance suite ----------------------------------------------------------------
# Tests that read third-party material in ../shared (NHS Digital fixtures, the official PDS spec)
# live in tests/external and carry the `external` mark. A clone without ../shared deselects them and
# says so in one line of the summary; it is never a collection error and never silent.

EXTERNAL_DIR = Path(__file__).resolve().parent / "external"
_external_key = pytest.StashKey[dict]()


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if EXTERNAL_DIR in Path(item.fspath).parents:
            item.add_marker(pytest.mark.external)
    external = [item for item in items if item.get_closest_marker("external")]
    state = {"present": shared_present(), "nodeids": {item.nodeid for item in external}, "deselected": 0}
    if not state["present"] and external:
        config.hook.pytest_deselected(items=external)
        items[:] = [item for item in items if not item.get_closest_marker("external")]
        state["deselected"] = len(external)
    config.stash[_external_key] = state


def pytest_sessionfinish(session, exitstatus):
    # Only external tests selected, and no ../shared: "no tests ran" is the honest answer, not a failure.
    state = session.config.stash.get(_external_key, None)
    if state and state["deselected"] and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    moment = moved_clock()
    if moment is not None:
        terminalreporter.write_line(f"clock: moved to {moment.isoformat()} (PCRM_TEST_NOW) and ticking")
    state = config.stash.get(_external_key, None)
    if state is None:
        return
    if not state["present"]:
        terminalreporter.write_line(f"external conformance suite: NOT RUN (../shared not found at {SHARED})")
        return
    outcomes: dict[str, int] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        reports = terminalreporter.stats.get(outcome, [])
        seen = {r.nodeid for r in reports if getattr(r, "nodeid", None) in state["nodeids"]}
        if seen:
            outcomes[outcome] = len(seen)
    if not outcomes:
        terminalreporter.write_line(f"external conformance suite: none selected in this run ({SHARED} is present)")
        return
    ran = ", ".join(f"{n} {outcome}" for outcome, n in outcomes.items())
    terminalreporter.write_line(f"external conformance suite: ran from {SHARED} ({ran})")
