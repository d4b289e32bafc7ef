"""A partner run (ADR 0015): the one place a trading partner's traffic is ingested and processed.

One run at a time per MESH mailbox, across every worker process and machine (a PostgreSQL advisory
lock). It reads the partner's stored interchanges in the order they arrived, then processes their
transactions in that order (ids are allocated as they are read: SIS, then SMS, then TN), each in its
own database transaction under the patient's lock (services.ordering). It stops after a time budget
so one busy partner cannot starve the others, and says when it should run again.

Every guarantee of the single-transaction path is kept: ingest and processing are the same
functions, idempotent on the rows' statuses; a run that dies leaves rows a later run (or the
sweeper) picks up; nothing is acknowledged or sent here.
"""

import datetime as dt
import logging
import random
import time
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from core.locks import advisory_lock
from pds.errors import Transient as PdsTransient
from pds.errors import VersionConflict

from ..models import Direction, Interchange, InterchangeStatus, Transaction, TxStatus
from ..selectors import reference_memo
from . import inbound, ordering, processing

log = logging.getLogger(__name__)

# A busy, slow or unreachable PDS (rate-limited, 5xx, timeout), a lock and a stale version pass.
TRANSIENT = (OperationalError, VersionConflict, PdsTransient, processing.TransientError)
BACKOFF_CAP_SECONDS = 300
# Another partner's transaction about the same patient is queued: look again this soon.
OTHER_PARTNER_WAIT_SECONDS = 1.0
# Transactions decided in one database transaction: one commit, reference data read once. Small, so
# the patients' locks are held briefly even on a busy machine.
BATCH = 10
# An interchange stored earlier by another partner is being read: look again this soon.
UNREAD_WAIT_SECONDS = 0.2
PENDING = (TxStatus.PARSED, TxStatus.PROCESSING, TxStatus.RETRY_WAIT)


@dataclass
class RunResult:
    mailbox: str
    skipped: bool = False  # another run holds the partner; it looks for new work when it ends
    ingested: int = 0
    decided: int = 0
    waiting: int = 0
    held: int = 0
    gaps: list[dict] = field(default_factory=list)  # suspected sequence gaps to confirm later
    more: bool = False  # work is left (budget spent, or it arrived as the run ended): run again now
    again_in: float | None = None  # otherwise, seconds until something waiting may go on
    last_tx: int = 0
    last_ic: int = 0

    def wake(self, seconds: float) -> None:
        self.again_in = seconds if self.again_in is None else min(self.again_in, seconds)


def backoff(attempt: int, *, salt: int = 0) -> float:
    """Capped exponential backoff with jitter, fixed per transaction so any run computes the same time."""
    return min(BACKOFF_CAP_SECONDS, 2**attempt) * random.Random(salt * 31 + attempt).uniform(0.5, 1.0)


def run(mailbox: str, *, budget_seconds: float | None = None) -> RunResult:
    result = RunResult(mailbox)
    budget = settings.PARTNER_RUN_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    with advisory_lock(f"partner-run:{mailbox}") as got:
        if not got:
            result.skipped = True
            return result
        while True:
            progress = _ingest_pending(mailbox, result, deadline)
            progress += _process_pending(mailbox, result, deadline)
            if time.monotonic() >= deadline:
                result.more = progress > 0
                break
            if not progress:
                break
    # Work stored while the lock was held may have had its own run skip: look once more, unlocked.
    result.more = result.more or _arrived_since(mailbox, result)
    return result


def _ingest_pending(mailbox: str, result: RunResult, deadline: float) -> int:
    """Read the partner's stored interchanges in arrival order; stop at one that must be retried,
    since what came after it must not overtake it."""
    pending = list(
        Interchange.objects.filter(direction=Direction.INBOUND, status=InterchangeStatus.RECEIVED, mesh_sender=mailbox)
        .order_by("pk")
        .values_list("pk", "ingest_attempts", "received_at")[:200]
    )
    count = 0
    now = timezone.now()
    for pk, attempts, received_at in pending:
        result.last_ic = max(result.last_ic, pk)
        if attempts and received_at and received_at + dt.timedelta(seconds=backoff(attempts, salt=pk)) > now:
            result.wake(backoff(attempts, salt=pk))
            break
        ingested = inbound.ingest_interchange(pk)
        if ingested.retry:
            result.wake(backoff(attempts + 1, salt=pk))
            break
        count += 1
        result.ingested += 1
        if ingested.suspected_gap:
            result.gaps.append(ingested.suspected_gap)
        if time.monotonic() >= deadline:
            break
    return count


def _process_pending(mailbox: str, result: RunResult, deadline: float) -> int:
    pending = list(
        Transaction.objects.filter(message__interchange__mesh_sender=mailbox, status__in=PENDING)
        .order_by("message__interchange_id", "pk")
        .values_list("pk", "status", "attempts", "updated_at", "message__interchange_id")[:500]
    )
    if not pending:
        return 0
    # One look, for the whole pass, for an interchange stored earlier and not read yet: ids only grow,
    # so none can appear below these transactions' interchanges later.
    unread = ordering.first_unread(within=dt.timedelta(seconds=settings.ORDERING_WAIT_SECONDS))
    check_unread = unread is not None and unread < max(row[4] for row in pending)
    now = timezone.now()
    ready = []
    for pk, status, attempts, updated_at, _ in pending:
        result.last_tx = max(result.last_tx, pk)
        if status == TxStatus.RETRY_WAIT:
            due = updated_at + dt.timedelta(seconds=backoff(attempts, salt=pk))
            if due > now:
                result.wake((due - now).total_seconds())
                continue
        ready.append(pk)
    count = 0
    for start in range(0, len(ready), BATCH):
        done, stopped = _process_batch(ready[start : start + BATCH], result, check_unread)
        count += done
        if stopped or time.monotonic() >= deadline:
            break
    return count


def _process_batch(pks: list[int], result: RunResult, check_unread: bool) -> tuple[int, bool]:
    """Several transactions in one database transaction (one commit, reference data read once). If
    any of them raises, the whole batch is undone and each is processed again on its own, so a
    failure is recorded against the transaction that caused it. Returns how many were settled, and
    whether the pass stopped at one waiting for an interchange stored earlier to be read: every later
    transaction of the partner waits for that interchange too, and one of them must not go on
    because the interchange was read in the moment between them (the soak saw it happen)."""
    try:
        with transaction.atomic(), reference_memo():
            processing.set_lock_timeout()
            rows = processing.lock_rows(pks)  # one statement for the batch's own rows
            outcomes, stopped = [], False
            for pk in pks:
                done = processing.process_transaction(
                    pk, ordered=True, batched=True, check_unread=check_unread, locked=rows.get(pk)
                )
                outcomes.append((pk, done))
                stopped = done.waiting_unread is not None
                if stopped:
                    break
            return sum(_settle(pk, done, result) for pk, done in outcomes), stopped
    except SoftTimeLimitExceeded:
        raise  # the task's time is up: the batch is undone and waits for the next run, not redone now
    except Exception as exc:  # any failure: redo one by one, where it is handled or raised
        log.info("batch of %s transactions redone one by one (%s)", len(pks), type(exc).__name__)
    count = 0
    for pk in pks:
        with reference_memo():
            settled, unread = _process_one(pk, result, check_unread)
        count += settled
        if unread:
            return count, True
    return count, False


def _process_one(pk: int, result: RunResult, check_unread: bool = True) -> tuple[int, bool]:
    """(settled, waits for an unread interchange) for one transaction on its own."""
    try:
        done = processing.process_transaction(pk, ordered=True, check_unread=check_unread)
    except TRANSIENT as exc:
        status = processing.record_retry(pk, f"{type(exc).__name__}: {exc}")
        if status == TxStatus.RETRY_WAIT:
            attempts = Transaction.objects.filter(pk=pk).values_list("attempts", flat=True).first() or 1
            result.wake(backoff(attempts, salt=pk))
        return 1, False
    return _settle(pk, done, result), done.waiting_unread is not None


def _settle(pk: int, done: processing.ProcessResult, result: RunResult) -> int:
    if done.ran:
        result.decided += 1
        return 1
    if done.waiting_for is not None:
        return _waiting(pk, done.waiting_for, result)
    if done.waiting_unread is not None:
        result.waiting += 1
        result.wake(UNREAD_WAIT_SECONDS)
    return 0


def _waiting(pk: int, earlier: Transaction, result: RunResult) -> int:
    """Behind a person (MANUAL): wait for them; the sweeper looks again. Behind a dead letter, or for
    longer than ORDERING_WAIT_SECONDS: held with a case saying what it waits for. Otherwise look
    again soon: the earlier one is another partner's and queued, or waiting to retry."""
    result.waiting += 1
    if earlier.status == TxStatus.MANUAL:
        return 0
    sender, received = Transaction.objects.filter(pk=pk).values_list("sender", "received_at").get()
    if earlier.status == TxStatus.DEAD or (timezone.now() - received).total_seconds() > settings.ORDERING_WAIT_SECONDS:
        processing.hold_behind(pk, earlier.pk)
        result.held += 1
        return 1
    if earlier.status == TxStatus.RETRY_WAIT:
        due = earlier.updated_at + dt.timedelta(seconds=backoff(earlier.attempts, salt=earlier.pk))
        result.wake(max(0.2, (due - timezone.now()).total_seconds()))
    elif earlier.sender != sender:
        result.wake(OTHER_PARTNER_WAIT_SECONDS)
    # An earlier one of this partner's own still waiting: this run already saw why, and set its wake-up.
    return 0


def _arrived_since(mailbox: str, result: RunResult) -> bool:
    received = Interchange.objects.filter(
        direction=Direction.INBOUND, status=InterchangeStatus.RECEIVED, mesh_sender=mailbox, pk__gt=result.last_ic
    )
    parsed = Transaction.objects.filter(
        message__interchange__mesh_sender=mailbox, status=TxStatus.PARSED, pk__gt=result.last_tx
    )
    return received.exists() or parsed.exists()


@dataclass
class ReadResult:
    mailboxes: set[str] = field(default_factory=set)
    gaps: list[dict] = field(default_factory=list)


def read_stored(rows: list[Interchange]) -> ReadResult:
    """The poller reads what it has just stored, in the order MESH delivered it, before any run is
    asked for: transactions then exist in arrival order across every partner, and no run waits for
    another partner's interchange to be read. A partner whose earlier interchange is still unread
    (its reading failed and waits for a retry) is left to its own run, which reads in order."""
    result = ReadResult()
    rows = sorted(rows, key=lambda r: r.pk)
    if not rows:
        return result
    result.mailboxes = {row.mesh_sender for row in rows}
    # One query for the batch: partners with an interchange from before it still unread.
    behind = set(
        Interchange.objects.filter(
            direction=Direction.INBOUND,
            status=InterchangeStatus.RECEIVED,
            mesh_sender__in=result.mailboxes,
            pk__lt=rows[0].pk,
        ).values_list("mesh_sender", flat=True)
    )
    for row in rows:
        if row.mesh_sender in behind:
            continue
        read = inbound.ingest_interchange(row.pk)
        if read.retry:
            behind.add(row.mesh_sender)
        if read.suspected_gap:
            result.gaps.append(read.suspected_gap)
    return result


def mailboxes_of(*, interchange_ids=(), transaction_ids=()) -> set[str]:
    """The partner runs that own these rows (the MESH mailbox each came from)."""
    boxes = set(Interchange.objects.filter(pk__in=list(interchange_ids)).values_list("mesh_sender", flat=True))
    boxes |= set(
        Transaction.objects.filter(pk__in=list(transaction_ids)).values_list(
            "message__interchange__mesh_sender", flat=True
        )
    )
    return boxes
