"""What a rule returns, and the trace that explains it to a person."""

from dataclasses import dataclass, field
from typing import Any

from ..models import TxStatus
from ..ports import CaseKind


@dataclass
class Trace:
    """The checks a rule ran, in order, each with its result and the reason in plain words."""

    steps: list[dict[str, str]] = field(default_factory=list)

    def add(self, check: str, result: str, why: str) -> None:
        self.steps.append({"check": check, "result": result, "why": why})


@dataclass(frozen=True)
class Outcome:
    """DONE (processed automatically), REJECTED (answered with a rejection) or MANUAL (a case)."""

    status: str
    summary: str
    case_kind: CaseKind | None = None
    practice_ods: str = ""
    nhs_number: str = ""  # the patient the case is about when it is not the number the GP sent
    evidence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def done(cls, summary: str, **kw) -> "Outcome":
        return cls(TxStatus.DONE, summary, **kw)

    @classmethod
    def rejected(cls, summary: str, **kw) -> "Outcome":
        return cls(TxStatus.REJECTED, summary, **kw)

    @classmethod
    def manual(cls, kind: CaseKind, summary: str, **kw) -> "Outcome":
        return cls(TxStatus.MANUAL, summary, case_kind=kind, **kw)
