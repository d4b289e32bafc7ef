"""The one owner of a transaction's status: a declared table of transitions and `move`, which refuses
anything else. Processing, resolution, replay and the sweeper all change status through here.

The table is drawn in docs/transaction-states.md. Rows are created in one of `INITIAL` (by the
inbound path); from then on only `move` changes `status`, always inside the caller's database
transaction together with the side effects of the change.
"""

from ..models import Transaction, TxStatus

S = TxStatus

# Where a new row starts: read and waiting (PARSED), handed to an HA still on NHAIS (FORWARDED), or a
# repeat of one already recorded (DUPLICATE).
INITIAL = frozenset({S.PARSED, S.FORWARDED, S.DUPLICATE})

# A decision, a transient failure, or a dead letter, from anywhere processing may still run.
_DECIDED = frozenset({S.DONE, S.MANUAL, S.REJECTED, S.RETRY_WAIT, S.DEAD})

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PARSED: _DECIDED,
    # Rows from before processing went straight from PARSED to a decision may still say PROCESSING.
    S.PROCESSING: _DECIDED,
    # Waiting to retry: the retry decides, or a person reprocesses it from the start.
    S.RETRY_WAIT: _DECIDED | {S.PARSED},
    # A case is open: a person resolves it (DONE or REJECTED), keeps it open with a new case for what is
    # left (MANUAL), or reprocesses it from the start (PARSED).
    S.MANUAL: frozenset({S.DONE, S.REJECTED, S.MANUAL, S.PARSED}),
    # A dead letter is only ever reprocessed, by a person.
    S.DEAD: frozenset({S.PARSED}),
    # Final: nothing moves these on.
    S.DONE: frozenset(),
    S.REJECTED: frozenset(),
    S.DUPLICATE: frozenset(),
    S.FORWARDED: frozenset(),
    S.INVALID: frozenset(),
    S.RECEIVED: frozenset(),
}

# Statuses processing may (still) act on; a task finding any other status does nothing.
RUNNABLE = frozenset({S.PARSED, S.RETRY_WAIT, S.PROCESSING})
# Statuses a person may send back to be processed from the start.
REPROCESSABLE = frozenset({S.DEAD, S.MANUAL, S.RETRY_WAIT})


class IllegalTransition(Exception):
    """A move the table does not allow: a bug in the caller, never a condition to handle."""


def can_move(tx: Transaction, to: str) -> bool:
    return to in TRANSITIONS.get(tx.status, frozenset())


def move(tx: Transaction, to: str, **fields) -> Transaction:
    """Move `tx` (a row the caller has locked) to status `to`, setting `fields` with it, and save.

    Refuses, with IllegalTransition, a move the table does not declare.
    """
    if not can_move(tx, to):
        raise IllegalTransition(f"transaction {tx.pk}: {tx.status} -> {to} is not an allowed transition")
    tx.status = to
    for name, value in fields.items():
        setattr(tx, name, value)
    tx.save(update_fields=["status", *fields, "updated_at"])
    return tx
