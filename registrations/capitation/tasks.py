"""Celery tasks for close of quarter: thin, each calls one service and owns only its retry policy.

Loaded by the worker through CELERY_IMPORTS (settings), next to registrations.tasks.
"""

import datetime as dt
import uuid

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import QuarterClose, QuarterStatus
from ..tasks import backoff, trigger_relay
from . import close, delivery, snapshot


def schedule_generation(quarter: QuarterClose) -> None:
    """Start (or restart) the snapshot task once the caller's transaction commits.

    The task id is chosen here and stored on the quarter, so the report page can follow the task's
    progress from the moment the page is shown.
    """
    task_id = str(uuid.uuid4())
    QuarterClose.objects.filter(pk=quarter.pk).update(task_id=task_id)
    quarter.task_id = task_id
    quarter_id = quarter.pk
    transaction.on_commit(lambda: generate_capitation.apply_async(args=[quarter_id], task_id=task_id))
    # The F8s were queued in the same transaction: send them now rather than on beat's next tick.
    transaction.on_commit(trigger_relay)


def close_quarter(*, quarter_end: dt.date, by: str) -> close.CloseResult:
    """Close a quarter and, if this call closed it, start its snapshot after commit."""
    return close.close_quarter(quarter_end=quarter_end, by=by, on_closed=schedule_generation)


# A national snapshot (tens of millions of periods) takes minutes, not seconds: more than the default
# limits allow, still well inside the broker's visibility timeout.
@shared_task(bind=True, soft_time_limit=1500, time_limit=1800)
def generate_capitation(self, quarter_id: int) -> dict:
    def progress(step: int, total: int, text: str) -> None:
        if self.request.id:
            self.update_state(state="PROGRESS", meta={"step": step, "steps": total, "text": text})

    quarter = snapshot.take_snapshot(quarter_id, progress=progress)
    if quarter.status == QuarterStatus.GENERATED:
        deliver_capitation.delay(quarter_id)
    return {"step": snapshot.STEPS, "steps": snapshot.STEPS, "text": "Stored", "patients": quarter.patients}


@shared_task(bind=True, ignore_result=True, max_retries=None)
def deliver_capitation(self, quarter_id: int) -> None:
    try:
        delivery.send_to_pcse(quarter_id)
    except delivery.TRANSPORT_ERRORS as exc:
        again = delivery.record_failure(
            quarter_id, f"{type(exc).__name__}: {exc}", max_attempts=settings.CAPITATION_SEND_MAX_ATTEMPTS
        )
        if again:
            raise self.retry(countdown=backoff(self.request.retries), exc=exc) from exc


@shared_task(ignore_result=True)
def check_capitation_acknowledgements() -> int:
    return len(delivery.check_acknowledgements())


@shared_task(ignore_result=True)
def close_due_quarter() -> str:
    """Beat, hourly: close the quarter that has just ended, and pick up work a lost task left behind."""
    today = timezone.localdate()
    due = close.quarter_due_for_closing(today, within_days=settings.CAPITATION_AUTO_CLOSE_WITHIN_DAYS)
    outcome = "nothing due"
    if due is not None:
        result = close_quarter(quarter_end=due, by=close.SCHEDULER)
        outcome = f"closed {due}" if result.created else f"{due} already closed"
    resume_stalled()
    return outcome


def resume_stalled() -> None:
    stalled_before = timezone.now() - dt.timedelta(seconds=settings.CAPITATION_STALLED_AFTER_SECONDS)
    for quarter in QuarterClose.objects.filter(status=QuarterStatus.GENERATING, closed_at__lt=stalled_before):
        with transaction.atomic():
            schedule_generation(quarter)
    for pk in QuarterClose.objects.filter(status=QuarterStatus.GENERATED, generated_at__lt=stalled_before).values_list(
        "pk", flat=True
    ):
        deliver_capitation.delay(pk)
