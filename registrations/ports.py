"""The port through which registrations reports work for people, without importing `exceptions`.

Processing decides *that* a case is needed and *why*; the exceptions app owns cases. It plugs its
`open_case` in at start-up (ExceptionsConfig.ready), so the dependency stays exceptions -> registrations.
The sink is called inside the caller's database transaction, so a case commits with its cause.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class CaseKind(StrEnum):
    NO_TRACE = "NO_TRACE"
    MULTIPLE_MATCHES = "MULTIPLE_MATCHES"
    DEMOGRAPHIC_MISMATCH = "DEMOGRAPHIC_MISMATCH"
    DECEASED = "DECEASED"
    SENSITIVE = "SENSITIVE"
    SUPERSEDED_NUMBER = "SUPERSEDED_NUMBER"
    LEGACY_NHS_NUMBER = "LEGACY_NHS_NUMBER"
    UNKNOWN_GP = "UNKNOWN_GP"
    INVALID_TRANSACTION = "INVALID_TRANSACTION"
    INVALID_INTERCHANGE = "INVALID_INTERCHANGE"
    FREE_TEXT = "FREE_TEXT"
    DEMOGRAPHIC_CHANGE = "DEMOGRAPHIC_CHANGE"
    REMOVAL_REVIEW = "REMOVAL_REVIEW"
    DEDUCTION_REVIEW = "DEDUCTION_REVIEW"
    FP69_RESPONSE = "FP69_RESPONSE"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    CONFLICTING_REGISTRATION = "CONFLICTING_REGISTRATION"
    ALREADY_REGISTERED = "ALREADY_REGISTERED"
    ACCEPTANCE_CHECK = "ACCEPTANCE_CHECK"
    NHS_NUMBER_ALLOCATION = "NHS_NUMBER_ALLOCATION"
    SEQUENCE_GAP = "SEQUENCE_GAP"
    MISSING_RECEP = "MISSING_RECEP"
    MESH_REPORT = "MESH_REPORT"
    DEAD_LETTER = "DEAD_LETTER"


@dataclass(frozen=True)
class CaseRequest:
    kind: CaseKind
    summary: str
    transaction_id: int | None = None
    interchange_id: int | None = None
    nhs_number: str = ""
    practice_ods: str = ""
    ha_cipher: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    rule_trace: list[dict[str, Any]] = field(default_factory=list)


CaseSink = Callable[[CaseRequest], Any]
_sink: CaseSink | None = None


def register_case_sink(sink: CaseSink) -> None:
    global _sink
    _sink = sink


def open_case(request: CaseRequest) -> Any:
    if _sink is None:
        # Losing a case silently would hide work from people: refuse loudly instead.
        raise RuntimeError("No case sink registered: is the 'exceptions' app installed?")
    return _sink(request)
