"""Helpers shared by the codec tests: where the NHAIS fixtures are, and small builders.

The fixtures live outside the repository (``<repo>/../shared/nhais-fixtures``) and are read in
place, never copied in.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from registrations.gplinks import Interchange, Message, Transaction
from registrations.gplinks.envelope import LONDON

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / ".." / "shared" / "nhais-fixtures"

# Fixtures whose envelope references or counts are wrong on purpose (MANIFEST.md caveats).
BAD_CONTROL_FIXTURES = frozenset(
    {
        "ha-to-gp/amendment/amend-all.edifact.dat",
        "ha-to-gp/close_quarter_notification/close-quarter-notification-other-transactions.edifact.dat",
        "recep/recep.dat",
    }
)
WHEN = dt.datetime(2024, 7, 1, 9, 30, tzinfo=LONDON)


def fixture_names() -> list[str]:
    return sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.dat"))


def read_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def single(tx: Transaction, *, cipher: str = "XX1", sender: str = "XX11", recipient: str = "TES5") -> Interchange:
    """An interchange holding one message with one transaction."""
    return Interchange(
        sender=sender,
        recipient=recipient,
        sis=1,
        prepared_at=WHEN,
        messages=[Message(sms=1, type=tx.type, ha_cipher=cipher, transactions=[tx], quarter_end=tx.quarter_end)],
    )


def segments_of(data: bytes) -> list[str]:
    """Wire segments of built bytes, without terminators."""
    return data.decode("latin-1").rstrip("'").split("'\n")
