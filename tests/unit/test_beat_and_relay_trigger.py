"""Beat's schedule names tasks that exist, at the periods settings give; and relay triggers collapse.

Checked against the real Celery app and the real Redis (the test database's queue), not a mock.
"""

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from pcrm_site.celery import app
from registrations import tasks

# What must run on a timer for PCRM to work with nobody watching (docs/deployment.md).
NEEDED = {"mesh-poll", "outbox-relay", "requeue-stalled", "missing-receps", "mesh-handshake"}


def test_every_beat_entry_names_a_registered_task_and_the_needed_ones_are_there():
    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert set(schedule) >= NEEDED, f"missing from beat: {NEEDED - set(schedule)}"
    unknown = {name: entry["task"] for name, entry in schedule.items() if entry["task"] not in app.tasks}
    assert not unknown, f"beat entries naming no task: {unknown}"
    assert app.conf.beat_schedule == schedule, "the app reads the schedule from settings"


def test_the_poll_and_relay_run_at_the_configured_periods():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["mesh-poll"]["schedule"] == float(settings.MESH_POLL_SECONDS)
    assert schedule["outbox-relay"]["schedule"] == float(settings.OUTBOX_RELAY_SECONDS)


@pytest.fixture
def queue():
    """The length of this run's own task queue on the test Redis, emptied before and after."""
    client = redis.Redis.from_url(app.conf.broker_url)  # the test Redis (tests/conftest.py _isolated_broker)
    name = app.conf.task_default_queue
    app.control.purge()
    cache.delete("relay-scheduled")
    yield lambda: client.llen(name)
    app.control.purge()
    cache.delete("relay-scheduled")
    client.close()


@pytest.mark.django_db
def test_relay_triggers_within_the_window_collapse_into_one_relay(queue):
    for _ in range(5):
        tasks.trigger_relay()
    assert queue() == 1, "five triggers in the window: one relay queued"
    tasks.relay_outbox.run()  # the relay runs (here, in this process): the window closes
    tasks.trigger_relay()
    assert queue() == 2, "a trigger after the relay ran queues the next one"
