"""The beat job: it closes the quarter that has just ended, once, and restarts work a lost task left."""

import datetime as dt
import uuid

import pytest
from capitation_population import CLOSING_DAY, Q
from django.utils import timezone

from registrations.capitation import close, snapshot, tasks
from registrations.models import OutboxItem, QuarterClose

pytestmark = [pytest.mark.django_db, pytest.mark.dates]


def test_the_hourly_job_closes_the_quarter_just_ended_once(world, settings, django_capture_on_commit_callbacks):
    due = close.closable_quarter(timezone.localdate())
    settings.CAPITATION_AUTO_CLOSE_WITHIN_DAYS = (timezone.localdate() - close.grace_end(due)).days

    with django_capture_on_commit_callbacks() as started:
        assert tasks.close_due_quarter() == f"closed {due}"
    assert tasks.close_due_quarter() == f"{due} already closed"

    quarter = QuarterClose.objects.get()
    assert (quarter.quarter_end, quarter.closed_by, quarter.f8_count) == (due, "scheduler", 4)
    assert OutboxItem.objects.filter(tx_type="F8").count() == 4
    # After commit: the snapshot task (with the id stored on the quarter) and a relay for the F8s.
    assert len(started) == 2 and quarter.task_id


def test_the_hourly_job_leaves_a_quarter_that_ended_long_ago(world, settings):
    settings.CAPITATION_AUTO_CLOSE_WITHIN_DAYS = 0  # every quarter that has ended is "long ago"
    assert tasks.close_due_quarter() == "nothing due"
    assert not QuarterClose.objects.exists()


def test_a_snapshot_whose_task_was_lost_is_started_again(world, settings, django_capture_on_commit_callbacks):
    settings.CAPITATION_STALLED_AFTER_SECONDS = 60
    stalled = close.close_quarter(quarter_end=Q, by="admin", today=CLOSING_DAY).quarter
    QuarterClose.objects.filter(pk=stalled.pk).update(
        task_id="lost", closed_at=timezone.now() - dt.timedelta(minutes=5)
    )
    recent = close.close_quarter(quarter_end=dt.date(2025, 12, 31), by="admin", today=CLOSING_DAY).quarter

    with django_capture_on_commit_callbacks() as started:
        tasks.resume_stalled()

    stalled.refresh_from_db()
    recent.refresh_from_db()
    assert str(uuid.UUID(stalled.task_id)) == stalled.task_id  # a new Celery task, which the report page now follows
    assert recent.task_id == ""  # closed a moment ago: its task is still on its way
    assert len(started) == 2  # the restarted snapshot and a relay
    # The snapshot itself is idempotent, so a late original task and the restart store it once.
    snapshot.take_snapshot(stalled.pk, today=CLOSING_DAY)
    snapshot.take_snapshot(stalled.pk, today=CLOSING_DAY)
    assert stalled.lines.filter(level="PRACTICE").count() == 5
