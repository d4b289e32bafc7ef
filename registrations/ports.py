"""The port through which registrations reports work for people, without importing `exceptions`.

Processing decides *that* a case is needed and *why*; the exceptions app owns cases. It plugs its
`open_case` in at start-up (ExceptionsConfig.ready), so the dependency stays exceptions -> registrations.
The sink is called inside the caller's database transaction, so a case commits with its cause.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .safe_text import pg_json, pg_text


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
    QUARANTINED_MESSAGE = "QUARANTINED_MESSAGE"
    UNKNOWN_WORKFLOW = "UNKNOWN_WORKFLOW"
    UNAUTHENTICATED_PARTNER = "UNAUTHENTICATED_PARTNER"
    REUSED_NUMBER = "REUSED_NUMBER"
    NEGATIVE_RECEP = "NEGATIVE_RECEP"
    UNMATCHED_RECEP = "UNMATCHED_RECEP"
    OUTBOUND_REFUSED = "OUTBOUND_REFUSED"
    WAITING_BEHIND = "WAITING_BEHIND"
    # Raised by the migration toolkit (#19), not by processing: an NHAIS extract row PDS disagrees with.
    MIGRATION_DIFFERENCE = "MIGRATION_DIFFERENCE"


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
# (kind, interchange id, note) -> number of open cases closed
CaseCloser = Callable[[CaseKind, int, str], int]
_sink: CaseSink | None = None
_closer: CaseCloser | None = None


def register_case_sink(sink: CaseSink, closer: CaseCloser | None = None) -> None:
    global _sink, _closer
    _sink = sink
    _closer = closer


def open_case(request: CaseRequest) -> Any:
    if _sink is None:
        # Losing a case silently would hide work from people: refuse loudly instead.
        raise RuntimeError("No case sink registered: is the 'exceptions' app installed?")
    # Cases are often about input that could not be read: whatever came from outside must still
    # fit the database (no NUL, bounded columns), or the case that reports it would fail too.
    return _sink(
        replace(
            request,
            summary=pg_text(request.summary, 200),
            nhs_number=pg_text(request.nhs_number, 15),
            practice_ods=pg_text(request.practice_ods, 10),
            ha_cipher=pg_text(request.ha_cipher, 3),
            evidence=pg_json(request.evidence),
            rule_trace=pg_json(request.rule_trace),
        )
    )


def close_cases(kind: CaseKind, *, interchange_id: int, note: str) -> int:
    """Close the open cases of `kind` on an interchange because the system saw them answered."""
    if _closer is None:
        raise RuntimeError("No case closer registered: is the 'exceptions' app installed?")
    return _closer(kind, interchange_id, note)
