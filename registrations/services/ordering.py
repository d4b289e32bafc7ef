"""Order of processing (ADR 0015): which earlier transaction, if any, a transaction must wait for.

A partner's transactions are taken one at a time in the order they were received (a partner run,
`services.partner_run`); across partners, transactions about the same patient are serialised by a
per-patient lock and by this rule: a transaction waits for every earlier transaction about the same
patient that is not yet settled. "Earlier" is stored earlier (the interchange's id, allocated in the
order MESH delivered them), then read earlier within the interchange (the transaction's id, in SMS
and TN order). While an interchange stored earlier is still unread, nothing later is processed: it
may hold an earlier transaction about the same patient.

Behind an earlier transaction that waits for a person (MANUAL), a later one goes on only when the
person's decision cannot change what the later one means (`independent`): otherwise it waits too.
"""

import datetime as dt
import hashlib

from django.db import connection
from django.utils import timezone

from ..models import Direction, Interchange, InterchangeStatus, Message, Transaction, TxStatus

S = TxStatus

# Not decided yet: anything later about the same patient waits for these, whatever their type.
UNSETTLED = frozenset({S.PARSED, S.PROCESSING, S.RETRY_WAIT, S.DEAD})
# The types processing applies (registrations.rules.RULES): only these change a patient.
APPLIED_TYPES = frozenset({"G1", "G2", "G3", "G5"})


def patient_keys(tx: Transaction) -> list[str]:
    """Who the transaction is about, as lock keys: the NHS number, and the GP's own identity of the
    patient (practice, surname, birth date) when the transaction carries one. A transaction that
    names neither is keyed on its partner, so it is at least in that partner's order."""
    keys = [f"nhs:{tx.nhs_number}"] if tx.nhs_number else []
    identity = gp_identity(tx)
    if identity:
        keys.append("gp:" + ":".join(identity))
    return keys or [f"partner:{tx.sender}"]


def gp_identity(tx: Transaction) -> tuple[str, str, str] | None:
    data = tx.data or {}
    surname, born = data.get("surname") or "", data.get("birth_date") or ""
    return (tx.sender, surname, born) if surname and born else None


def lock_patient(tx: Transaction) -> None:
    """Hold every key of the patient until the caller's database transaction ends; keys are taken in
    one order, so two transactions about the same people never deadlock. A wait longer than the
    caller's lock_timeout raises OperationalError, which processing treats as transient."""
    ids = sorted({_lock_id(key) for key in patient_keys(tx)})
    # One round trip; the select list is evaluated left to right, so the keys are taken in order.
    with connection.cursor() as cur:
        cur.execute("SELECT " + ", ".join(["pg_advisory_xact_lock(%s)"] * len(ids)), ids)


def lock_nhs_number(nhs_number: str) -> None:
    """The same per-patient lock, for work outside processing that changes a patient (deaths, held
    deductions, FP69 expiry): it waits for processing about that NHS number, and processing for it."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(f"nhs:{nhs_number}")])


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"patient:{key}".encode()).digest()[:8], "big", signed=True)


def _same_patient(tx: Transaction) -> tuple[str, list]:
    """SQL (on the transaction as `t`) and parameters for "about the same patient as `tx`". Both
    branches filter on nhs_number (indexed), so the OR stays an index lookup."""
    clauses, params = [], []
    if tx.nhs_number:
        clauses.append("t.nhs_number = %s")
        params.append(tx.nhs_number)
    identity = gp_identity(tx)
    if identity:
        clauses.append(
            "(t.nhs_number = '' AND t.sender = %s AND t.data->>'surname' = %s AND t.data->>'birth_date' = %s)"
        )
        params.extend(identity)
    if not tx.nhs_number and not identity:
        clauses.append("(t.nhs_number = '' AND t.sender = %s)")
        params.append(tx.sender)
    return " OR ".join(clauses), params


# Written as SQL: this runs once per transaction decided, and building it with the ORM cost more CPU
# than the rest of the ordering put together.
_BLOCKER_SQL = """
SELECT t.id, t.type, t.status, t.sender, t.tn, t.attempts, t.nhs_number, t.received_at, t.updated_at
FROM {transaction} t JOIN {message} m ON m.id = t.message_id
WHERE ({same_patient}) AND NOT t.is_duplicate AND t.status = ANY(%s)
  AND (m.interchange_id < %s OR (m.interchange_id = %s AND t.id < %s))
ORDER BY m.interchange_id, t.id
"""
WAITED_FOR = [*UNSETTLED, S.MANUAL]


def blocker(tx: Transaction) -> Transaction | None:
    """The earliest earlier transaction about the same patient that `tx` must wait for, if any.

    Earlier means stored earlier (the interchange's id, allocated in MESH order), then read earlier
    (the transaction's id, allocated in SMS and TN order within the interchange)."""
    ic = tx.message.interchange_id
    same_patient, params = _same_patient(tx)
    sql = _BLOCKER_SQL.format(
        transaction=Transaction._meta.db_table, message=Message._meta.db_table, same_patient=same_patient
    )
    for candidate in Transaction.objects.raw(sql, [*params, [str(s) for s in WAITED_FOR], ic, ic, tx.pk]):
        if candidate.status != S.MANUAL or not independent(candidate, tx):
            return candidate
    return None


def first_unread(*, within: dt.timedelta) -> int | None:
    """The oldest interchange stored and not read yet that processing would wait for (see unread_before)."""
    return (
        Interchange.objects.filter(
            direction=Direction.INBOUND,
            status=InterchangeStatus.RECEIVED,
            ingest_attempts=0,
            received_at__gte=timezone.now() - within,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def unread_before(tx: Transaction, *, within: dt.timedelta) -> int | None:
    """An interchange stored before this transaction's and not read yet (by another partner's run),
    if any: it may hold an earlier transaction about the same patient, so `tx` waits for it to be
    read. One that failed to read, or has waited longer than `within`, is not waited for: it has
    its own retry and case, and must not hold every partner up."""
    return (
        Interchange.objects.filter(
            direction=Direction.INBOUND,
            status=InterchangeStatus.RECEIVED,
            pk__lt=tx.message.interchange_id,
            ingest_attempts=0,
            received_at__gte=timezone.now() - within,
        )
        .values_list("pk", flat=True)
        .first()
    )


def independent(earlier: Transaction, later: Transaction) -> bool:
    """May `later` go on while `earlier`, about the same patient, waits for a person?

    - Behind an acceptance (G1): never. Whether the patient is registered, and where, decides what
      every later amendment, removal or deduction means.
    - Behind an address amendment (G2): a later G2 waits (addresses must land in the order sent);
      anything else goes on, since none of it depends on the address.
    - Behind a removal (G3) or deduction request (G5): a later transaction from the same practice
      waits (it may be about a patient the practice is still deciding to remove); one from another
      practice goes on only if it is not an acceptance, since an acceptance elsewhere would deduct
      from the practice whose removal a person is still deciding.
    - Behind anything processing never applies (an unsupported type, a waiting case of its own):
      it waits, so a person's reprocess never finds a later change already made over it.
    """
    if earlier.type == "G2":
        return later.type != "G2"
    if earlier.type in ("G3", "G5"):
        return later.sender != earlier.sender and later.type != "G1"
    return False


def describe(blocked_by: Transaction) -> str:
    """Words for what a transaction waits for (no personal data: ids and numbers only)."""
    why = {
        S.MANUAL: "which waits for a person (a case is open)",
        S.DEAD: "which failed again and again and waits to be reprocessed",
        S.RETRY_WAIT: "which failed for a passing reason and will be retried",
    }.get(blocked_by.status, "which is not processed yet")
    return (
        f"Waiting for transaction {blocked_by.pk} ({blocked_by.type} TN {blocked_by.tn} from {blocked_by.sender}), "
        f"about the same patient and received earlier, {why}."
    )
