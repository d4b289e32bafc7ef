"""Celery tasks: thin. Each loads by id, calls one service and owns only its retry policy."""

import datetime as dt
import logging
import random
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from . import mesh
from .services import inbound, outbox, partner_run, processing, recep

log = logging.getLogger(__name__)

# A busy, slow or unreachable PDS (rate-limited, 5xx, timeout) and a stale version are retried with backoff.
TRANSIENT = partner_run.TRANSIENT
BACKOFF_CAP_SECONDS = partner_run.BACKOFF_CAP_SECONDS
# A run already queued for a partner absorbs further triggers until it starts (bounded, in case it is lost).
RUN_QUEUED_SECONDS = 30
# A poll that stopped at a message MESH would not give tries again after this pause.
POLL_AFTER_FAILURE_SECONDS = 2


def backoff(attempt: int) -> float:
    """Capped exponential backoff with full jitter, so retries from many tasks do not stampede."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, 2**attempt))


@shared_task(ignore_result=True)
def poll_mesh_inbox() -> int:
    if not settings.MESH_POLLING_ENABLED:
        return 0
    result = inbound.poll_inbox(on_batch=read_and_queue)
    if result.more:
        # Budget spent or stopped at a message MESH would not give: go on now, as a new task, so other
        # work interleaves and no poll nears the time limit (a failed download is retried after a pause).
        poll_mesh_inbox.apply_async(
            countdown=POLL_AFTER_FAILURE_SECONDS if result.stopped_at_failure else 0,
            expires=settings.MESH_POLL_SECONDS * 2 + POLL_AFTER_FAILURE_SECONDS,
        )
    return len(result.stored)


def read_and_queue(rows) -> None:
    """After each stored batch: read it in arrival order, then ask for the partners' runs (ADR 0015)."""
    read = partner_run.read_stored(rows)
    for gap in read.gaps:
        confirm_sequence_gap.apply_async(kwargs=gap, countdown=settings.SEQUENCE_GAP_GRACE_SECONDS)
    queue_partner_runs(read.mailboxes)
    if read.mailboxes:
        trigger_relay()  # the RECEPs are queued


def queue_partner_runs(mailboxes) -> None:
    """Ask for one run per partner (ADR 0015); a partner with a run queued and not started needs no other.
    A few partners share a task: a poll that stored work for many partners costs a few tasks, not one
    each (a task's own overhead was as much as deciding a transaction), and the groups still spread
    over every worker process."""
    due = [m for m in sorted(mailboxes) if cache.add(_queued_key(m), 1, timeout=RUN_QUEUED_SECONDS)]
    groups = -(-len(due) // PARTNERS_PER_TASK)
    for group in range(groups):
        run_partners.delay(due[group::groups])


def _queued_key(mailbox: str) -> str:
    return f"partner-run-queued:{mailbox}"


# Partners whose runs share one task, and the least time each run gets of the task's budget.
PARTNERS_PER_TASK = 4
MIN_RUN_SECONDS = 2.0


@shared_task(ignore_result=True)
def run_partners(mailboxes: list[str]) -> int:
    """Ingest and process each partner's traffic in order, one partner after another. Thin: the run is
    services.partner_run. The task's time (PARTNER_RUN_SECONDS) is shared out as it goes, so the group
    ends well inside the time limit; one partner's run failing does not keep the others waiting."""
    deadline = time.monotonic() + settings.PARTNER_RUN_SECONDS
    decided, more = 0, []
    for index, mailbox in enumerate(mailboxes):
        cache.delete(_queued_key(mailbox))  # triggers from now on queue a new run
        share = (deadline - time.monotonic()) / (len(mailboxes) - index)
        try:
            result = partner_run.run(mailbox, budget_seconds=max(MIN_RUN_SECONDS, share))
        except SoftTimeLimitExceeded:
            # The rest run as a new task. Those not started still carry this task's "queued" mark, which
            # would make the new one skip them until it expired; it is theirs to drop, since this task ends.
            cache.delete_many([_queued_key(m) for m in mailboxes[index + 1 :]])
            queue_partner_runs([*more, *mailboxes[index:]])
            raise
        except Exception as exc:
            # Not expected (a run records its own failures); the sweeper queues this partner again.
            log.error("partner run for %s failed (%s)", mailbox, type(exc).__name__)
            continue
        for gap in result.gaps:
            confirm_sequence_gap.apply_async(kwargs=gap, countdown=settings.SEQUENCE_GAP_GRACE_SECONDS)
        if result.ingested or result.decided or result.held:
            trigger_relay()  # RECEPs and replies are queued: relay now (debounced), not after the group
        if result.more:
            more.append(mailbox)
        elif result.again_in is not None:
            run_partner.apply_async(args=[mailbox], countdown=result.again_in)
        decided += result.decided
    if more:
        queue_partner_runs(more)
    return decided


@shared_task(ignore_result=True)
def run_partner(mailbox: str) -> int:
    """One partner's run (a wake-up after a wait, and tasks queued before runs were grouped)."""
    return run_partners([mailbox])


@shared_task(ignore_result=True)
def ingest_interchange(interchange_id: int) -> None:
    """Kept for tasks queued before partner runs: the interchange's partner run reads it, in order."""
    queue_partner_runs(partner_run.mailboxes_of(interchange_ids=[interchange_id]))


@shared_task(ignore_result=True)
def confirm_sequence_gap(**gap) -> bool:
    return inbound.confirm_sequence_gap(**gap)


@shared_task(bind=True, ignore_result=True, max_retries=None)
def process_transaction(self, tx_id: int) -> str:
    """One transaction, in order (waiting for earlier ones about the patient goes to its partner's run)."""
    try:
        result = processing.process_transaction(tx_id, ordered=True)
        if result.waiting_for is not None:
            queue_partner_runs(partner_run.mailboxes_of(transaction_ids=[tx_id]))
        elif result.ran:
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
    # Their partners' runs pick them up in order (a lost task, a killed worker, or a transaction that
    # waited for a person who has now decided the earlier one).
    mailboxes = partner_run.mailboxes_of(interchange_ids=interchanges, transaction_ids=transactions)
    queue_partner_runs(mailboxes)
    return len(mailboxes)


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
