"""Helpers shared by test modules. (conftest.py holds fixtures only: several folders have their own
conftest.py, so importing names from "conftest" would pick whichever was loaded first.)"""

import datetime as dt
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "nhais-fixtures"


def wait_for(predicate, timeout: float = 120.0, interval: float = 0.2, message: str = "condition"):
    """Poll until `predicate()` is truthy; a bounded wait for work done by other processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def drain():
    """One MESH poll, ingesting and processing in-process what it stored (the workers' job)."""
    from registrations.services import inbound, processing

    stored = []
    result = inbound.poll_inbox(on_stored=stored.append)
    for pk in stored:
        for tx_id in inbound.ingest_interchange(pk).new_transaction_ids:
            processing.process_transaction(tx_id)
    return result


def g1_interchange(sis: int = 1, tn: int = 7, nhs_number: str = "9434765919") -> bytes:
    """A type 1 acceptance from TES5 to XX11 (GP 4826940,281) for a patient called JANE STEVENS."""
    return g1_batch(sis, [nhs_number], first_tn=tn)


def g1_batch(sis: int, nhs_numbers: list[str], first_tn: int) -> bytes:
    """One interchange, one message, one type 1 acceptance per NHS number (TNs from `first_tn`)."""
    from registrations.gplinks import Address, Interchange, Message, Transaction, build_interchange

    transactions = [
        Transaction(
            tn=first_tn + i,
            type="G1",
            gp_code="4826940,281",
            nhs_number=number,
            surname="STEVENS",
            forenames=["JANE"],
            sex="2",
            birth_date=dt.date(1980, 5, 17),
            acceptance_code="A",
            acceptance_type="1",
            acceptance_date=dt.date(2026, 11, 2),
            address=Address("", "1 HIGH STREET", "", "LEEDS", "", "LS1 4AP"),
        )
        for i, number in enumerate(nhs_numbers)
    ]
    return build_interchange(
        Interchange(
            sender="TES5",
            recipient="XX11",
            sis=sis,
            prepared_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),
            messages=[Message(sms=sis, type="G1", ha_cipher="XX1", transactions=transactions)],
            warnings=[],
        )
    )
