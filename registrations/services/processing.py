"""Processing one transaction: decide (registrations.rules), apply (services.apply), move (services.state).

PARSED/RETRY_WAIT -> DONE | MANUAL | REJECTED   (one atomic block with its side effects)
DONE: processed automatically; REJECTED: answered with a rejection (F3/F11); MANUAL: a case is open.
transient failure  -> RETRY_WAIT (the task retries with backoff) -> ... -> DEAD (with a case)
Re-running on a transaction that moved on does nothing (the statuses are in services.state).
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from pds.errors import UpdateNeedsAPerson
from pds.gateway import one_decision, updates_may_need_a_person

from ..models import Transaction, TxStatus
from ..ports import CaseKind, CaseRequest, open_case
from ..rules import Decision, Outcome, Trace, decide
from . import ordering, state
from .apply import Applied, apply_decision

log = logging.getLogger(__name__)

RUNNABLE = state.RUNNABLE


class TransientError(Exception):
    """Worth retrying: a lock, a busy PDS, a version conflict that a re-read will settle."""


@dataclass(frozen=True)
class ProcessResult:
    status: str
    ran: bool
    # Set when an ordered run found an earlier transaction about the same patient to wait for, or an
    # interchange stored earlier that is not read yet (its id).
    waiting_for: Transaction | None = None
    waiting_unread: int | None = None


def lock_rows(tx_ids: list[int]) -> dict[int, Transaction]:
    """Lock several transactions' own rows in one statement (a partner run's batch), in id order, with
    what processing reads alongside; pass each to process_transaction as `locked`."""
    rows = (
        Transaction.objects.select_for_update(no_key=True, of=("self",))
        .select_related("message__interchange__link")
        .filter(pk__in=tx_ids)
        .order_by("pk")
    )
    return {tx.pk: tx for tx in rows}


def process_transaction(
    tx_id: int,
    *,
    ordered: bool = False,
    batched: bool = False,
    check_unread: bool = True,
    locked: Transaction | None = None,
) -> ProcessResult:
    """Decide and apply one transaction. Re-running on a transaction that moved on does nothing.

    The patient's lock (services.ordering) is held while deciding and applying, whoever calls: a
    pipeline run, a person's reprocess or a replay never work on the same patient at once. `ordered`
    (pipeline runs) also waits for any earlier transaction about the patient that is not settled: the
    transaction is left as it is and `waiting_for` says for what. A person's reprocess is not ordered:
    it is a decision to process this one now.

    `batched`: the caller (a partner run) holds a database transaction around several of these, with
    the lock timeout set, and redoes them one by one if any raises; `check_unread=False`: the caller
    has checked that no interchange stored before this one is unread; `locked`: the caller locked the
    row in this database transaction (lock_rows).
    """
    with transaction.atomic(savepoint=not batched):
        if not batched:
            set_lock_timeout()
        # Only the transaction's own row: locking its interchange too would stop RECEPs and replies that
        # refer to it (a key-share lock) from being written while it is decided.
        tx = locked or (
            Transaction.objects.select_for_update(no_key=True, of=("self",))
            .select_related("message__interchange__link")
            .get(pk=tx_id)
        )
        if tx.status not in RUNNABLE:
            return ProcessResult(tx.status, ran=False)
        ordering.lock_patient(tx)
        if ordered:
            if check_unread:
                unread = ordering.unread_before(tx, within=dt.timedelta(seconds=settings.ORDERING_WAIT_SECONDS))
                if unread is not None:
                    return ProcessResult(tx.status, ran=False, waiting_unread=unread)
            earlier = ordering.blocker(tx)
            if earlier is not None:
                _note_wait(tx, ordering.describe(earlier))
                return ProcessResult(tx.status, ran=False, waiting_for=earlier)
        with one_decision():
            decision = decide(tx)
            try:
                # A savepoint where PDS may refuse a change for want of a person (a remote PDS): what was
                # applied before it refused is undone. The local PDS never refuses so: no round trips for it.
                with transaction.atomic(savepoint=updates_may_need_a_person()):
                    outcome, applied = apply_decision(tx, decision)
            except UpdateNeedsAPerson as exc:
                outcome, applied = _needs_a_person(tx, decision.trace, exc), Applied()
        _record(tx, decision, outcome, applied)
        return ProcessResult(tx.status, ran=True)


def _note_wait(tx: Transaction, why: str) -> None:
    # Shown on the transaction's page; not a status change, so it does not go through services.state.
    if tx.last_error != why:
        Transaction.objects.filter(pk=tx.pk).update(last_error=why)


def hold_behind(tx_id: int, earlier_id: int) -> str:
    """A transaction has waited for an earlier one about the same patient for too long (or the
    earlier one is dead-lettered): stop waiting silently. It becomes MANUAL with a case saying what it
    waits for; a person reprocesses it once the earlier one is settled, or decides otherwise."""
    with transaction.atomic():
        tx = Transaction.objects.select_for_update(no_key=True, of=("self",)).select_related("message").get(pk=tx_id)
        earlier = Transaction.objects.filter(pk=earlier_id).first()
        if tx.status not in RUNNABLE or earlier is None:
            return tx.status
        why = ordering.describe(earlier)
        state.move(tx, TxStatus.MANUAL, last_error=why, outcome="Held: waits for an earlier transaction")
        open_case(
            CaseRequest(
                kind=CaseKind.WAITING_BEHIND,
                summary=f"{tx.type} TN {tx.tn} from {tx.sender} waits for transaction {earlier.pk} "
                f"({earlier.type} TN {earlier.tn}, {earlier.get_status_display().lower()})",
                transaction_id=tx.pk,
                interchange_id=tx.message.interchange_id,
                nhs_number=tx.nhs_number,
                ha_cipher=tx.message.ha_cipher,
                evidence={
                    "transaction": tx.data,
                    "waits_for_transaction": earlier.pk,
                    "waits_for_status": earlier.status,
                },
                rule_trace=[
                    {
                        "check": "order of transactions about the patient",
                        "result": f"waits for {earlier.pk}",
                        "why": f"{why} Nothing of this transaction was applied. Reprocess it once the earlier "
                        "one is settled (or now, if it does not depend on it).",
                    }
                ],
            )
        )
        return tx.status


def set_lock_timeout() -> None:
    # A record held by someone else is a transient condition: fail fast and retry later rather than
    # tie up a worker (and the visibility timeout) waiting for it.
    with connection.cursor() as cur:
        cur.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.PROCESSING_LOCK_TIMEOUT_MS}ms"])


# The case a person works when PCRM decided a PDS change it may not make itself (docs/pds.md: under
# application-restricted access PDS accepts no updates). The kind is the transaction's own review.
NEEDS_A_PERSON = {
    "G1": CaseKind.ACCEPTANCE_CHECK,
    "G2": CaseKind.DEMOGRAPHIC_CHANGE,
    "G3": CaseKind.REMOVAL_REVIEW,
    "G5": CaseKind.DEDUCTION_REVIEW,
}


def _needs_a_person(tx: Transaction, trace: Trace, exc: UpdateNeedsAPerson) -> Outcome:
    trace.add(
        "PDS update",
        "needs a person",
        f"{exc}. Nothing was changed or sent: a person with user-restricted access applies the decision above.",
    )
    return Outcome.manual(NEEDS_A_PERSON[tx.type], "PDS update needs a person (application-restricted access)")


def _record(tx: Transaction, decision: Decision, outcome, applied: Applied) -> None:
    trace = decision.trace
    state.move(
        tx,
        outcome.status,
        attempts=tx.attempts + 1,
        rule_trace=trace.steps,
        outcome="; ".join(s for s in (outcome.summary, applied.summary) if s),
        processed_at=timezone.now(),
        last_error="",
    )
    if outcome.case_kind:
        data = tx.data
        open_case(
            CaseRequest(
                kind=outcome.case_kind,
                summary=outcome.summary,
                transaction_id=tx.pk,
                interchange_id=tx.message.interchange_id,
                nhs_number=outcome.nhs_number or tx.nhs_number,
                practice_ods=outcome.practice_ods,
                ha_cipher=tx.message.ha_cipher,
                evidence={"transaction": data, **outcome.evidence},
                rule_trace=trace.steps,
            )
        )


def record_retry(tx_id: int, error: str) -> str:
    """After a transient failure: RETRY_WAIT, or DEAD with a case once attempts are used up."""
    with transaction.atomic():
        tx = Transaction.objects.select_for_update(no_key=True, of=("self",)).select_related("message").get(pk=tx_id)
        if tx.status not in RUNNABLE:
            return tx.status
        attempts = tx.attempts + 1
        if attempts >= settings.PROCESSING_MAX_ATTEMPTS:
            state.move(tx, TxStatus.DEAD, attempts=attempts, last_error=error[:2000])
            open_case(
                CaseRequest(
                    kind=CaseKind.DEAD_LETTER,
                    summary=f"{tx.type} TN {tx.tn} failed {tx.attempts} times: {error}"[:200],
                    transaction_id=tx.pk,
                    interchange_id=tx.message.interchange_id,
                    nhs_number=tx.nhs_number,
                    ha_cipher=tx.message.ha_cipher,
                    evidence={"transaction": tx.data, "last_error": error},
                    rule_trace=[
                        {
                            "check": "processing attempts",
                            "result": str(tx.attempts),
                            "why": "Transient failures kept recurring; a person should look, then reprocess.",
                        }
                    ],
                )
            )
        else:
            state.move(tx, TxStatus.RETRY_WAIT, attempts=attempts, last_error=error[:2000])
        return tx.status


def reprocess(tx_id: int) -> None:
    """Put a dead-lettered or manual transaction back to be processed from the start."""
    with transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=tx_id)
        if tx.status in state.REPROCESSABLE:
            state.move(tx, TxStatus.PARSED, attempts=0)
