"""Celery tasks: thin. Each loads by id, calls one service and owns only its retry policy."""

import datetime as dt
import logging
import random

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.utils import timezone

from pds.errors import Transient as PdsTransient
from pds.errors import VersionConflict

from . import mesh
from .services import inbound, outbox, processing, recep

log = logging.getLogger(__name__)

# A busy, slow or unreachable PDS (rate-limited, 5xx, timeout) and a stale version are retried with backoff.
TRANSIENT = (OperationalError, VersionConflict, PdsTransient, processing.TransientError)
BACKOFF_CAP_SECONDS = 300


def backoff(attempt: int) -> float:
    """Capped exponential backoff with full jitter, so retries from many tasks do not stampede."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, 2**attempt))


@shared_task(ignore_result=True)
def poll_mesh_inbox() -> int:
    if not settings.MESH_POLLING_ENABLED:
        return 0
    result = inbound.poll_inbox(on_stored=lambda pk: transaction.on_commit(lambda: ingest_interchange.delay(pk)))
    return len(result.stored)


@shared_task(bind=True, ignore_result=True, max_retries=None)
def ingest_interchange(self, interchange_id: int) -> None:
    result = inbound.ingest_interchange(interchange_id)
    if result.retry:
        # Bounded by the service (INGEST_MAX_ATTEMPTS), which then marks it INVALID with a case.
        self.apply_async(args=[interchange_id], countdown=backoff(self.request.retries + 1))
        return
    if result.suspected_gap:
        confirm_sequence_gap.apply_async(kwargs=result.suspected_gap, countdown=settings.SEQUENCE_GAP_GRACE_SECONDS)
    for tx_id in result.new_transaction_ids:
        process_transaction.delay(tx_id)
    # The RECEP (or forward) is queued: relay now rather than waiting for beat's next tick.
    trigger_relay()


@shared_task(ignore_result=True)
def confirm_sequence_gap(**gap) -> bool:
    return inbound.confirm_sequence_gap(**gap)


@shared_task(bind=True, ignore_result=True, max_retries=None)
def process_transaction(self, tx_id: int) -> str:
    try:
        result = processing.process_transaction(tx_id)
        if result.ran:
            trigger_relay()
        return result.status
    except TRANSIENT as exc:
        status = processing.record_retry(tx_id, f"{type(exc).__name__}: {exc}")
        if status == "RETRY_WAIT":
            raise self.retry(countdown=backoff(self.request.retries), exc=exc) from exc
        return status


RELAY_DEBOUNCE_SECONDS = 0.2


def trigger_relay() -> None:
    """Ask for a relay soon; many triggers within the window collapse into one run, so a burst of
    decisions is sent as a few batched interchanges rather than one relay per transaction."""
    if cache.add("relay-scheduled", 1, timeout=5):
        relay_outbox.apply_async(countdown=RELAY_DEBOUNCE_SECONDS)


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    cache.delete("relay-scheduled")
    return len(outbox.relay().sent)


@shared_task(ignore_result=True)
def requeue_stalled() -> int:
    cutoff = timezone.now() - dt.timedelta(seconds=settings.STALLED_AFTER_SECONDS)
    interchanges, transactions = inbound.stalled_work(
        older_than=cutoff, retry_grace=dt.timedelta(seconds=BACKOFF_CAP_SECONDS)
    )
    for pk in interchanges:
        ingest_interchange.delay(pk)
    for pk in transactions:
        process_transaction.delay(pk)
    return len(interchanges) + len(transactions)


@shared_task(ignore_result=True)
def report_missing_receps() -> int:
    after = dt.timedelta(hours=settings.RECEP_MISSING_AFTER_HOURS)
    return len(recep.report_missing_receps(now=timezone.now(), after=after))


@shared_task(ignore_result=True)
def validate_mailbox() -> None:
    with mesh.mesh_client() as client:
        client.handshake()


@shared_task(ignore_result=True)
def deduct_held() -> int:
    """Beat, hourly: deductions held until today (a removal's notice period, a future date) go out."""
    from .services import pending

    deducted = pending.deduct_due(today=timezone.localdate())
    if deducted:
        trigger_relay()
    return len(deducted)


@shared_task(ignore_result=True)
def act_on_deaths() -> int:
    """Beat: deaths recorded in PDS for registered patients deduct (formal) or become cases (informal)."""
    from .services import deaths

    acted = deaths.sweep(today=timezone.localdate())
    if acted:
        trigger_relay()
    return len(acted)


@shared_task(ignore_result=True)
def expire_fp69_flags() -> int:
    from .services import fp69

    expired = fp69.expire_due(today=timezone.localdate())
    if expired:
        trigger_relay()
    return len(expired)
