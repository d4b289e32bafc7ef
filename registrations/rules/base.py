"""What a rule returns: a typed decision (the outcome, the trace that explains it, the effects to carry
out). Rules only decide; registrations.services.apply carries the effects out."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pds.gateway import PatientRecord

from ..models import GP, Practice, TxStatus
from ..ports import CaseKind


@dataclass
class Trace:
    """The checks a rule ran, in order, each with its result and the reason in plain words."""

    steps: list[dict[str, str]] = field(default_factory=list)

    def add(self, check: str, result: str, why: str) -> None:
        self.steps.append({"check": check, "result": result, "why": why})


# --- effects: what a decision asks the apply services to do -------------------------------------------


@dataclass(frozen=True)
class Approve:
    """Register the patient with the GP's practice in PDS and answer F4 (and F2 to the practice left).

    `supplied_number`: PCRM found or corrected the NHS number, so the F4 carries it back."""

    patient: PatientRecord
    gp: GP
    supplied_number: bool = False


@dataclass(frozen=True)
class CloseOldHaList:
    """Code S: the GP's list moved to a new HA, so the old HA's list at the practice is closed (F2 reason 6)."""

    patient: PatientRecord
    practice: Practice


@dataclass(frozen=True)
class RejectAcceptance:
    """F3 to the practice quoting its TN, with the reason in free text."""

    practice: Practice
    text: str


@dataclass(frozen=True)
class Deduct:
    """Remove the patient from the practice's list: PDS, registration history, F2."""

    patient: PatientRecord
    practice: Practice
    reason: str
    on: dt.date
    gp: GP | None = None
    wire_number: str | None = None


@dataclass(frozen=True)
class ChangeAddress:
    """Replace the patient's address in PDS. `if_refused` is the outcome the rule chose in advance for a
    PDS that refuses the address (a case, rather than a failure)."""

    patient: PatientRecord
    address: dict[str, str]
    if_refused: "Outcome | None" = None


@dataclass(frozen=True)
class HoldDeduction:
    """A deduction that waits: held as a PendingDeduction until `due_on`, when a beat job deducts
    (F2 with `reason`) unless the patient registered elsewhere meanwhile."""

    patient: PatientRecord
    practice: Practice
    reason: str
    due_on: dt.date
    gp: GP | None = None
    wire_number: str | None = None


@dataclass(frozen=True)
class AmendGP:
    """F1 to the practice: what PDS now holds that the practice's system does not (a re-keyed NHS number,
    a corrected name, birth date or sex). `wire_number` is the number the practice knows the patient by."""

    practice: Practice
    wire_number: str
    items: tuple[tuple[str, Any], ...]
    why: str


@dataclass(frozen=True)
class KeepRegistrationDetails:
    """A G2's dispensing marker and residential institute code, kept on the practice's registration."""

    nhs_number: str
    practice: Practice


Effect = (
    Approve
    | CloseOldHaList
    | RejectAcceptance
    | Deduct
    | HoldDeduction
    | ChangeAddress
    | KeepRegistrationDetails
    | AmendGP
)


@dataclass(frozen=True)
class Outcome:
    """DONE (processed automatically), REJECTED (answered with a rejection) or MANUAL (a case), with the
    effects that carry it out. `summary` is the rule's words; the apply step adds what it did."""

    status: str
    summary: str
    case_kind: CaseKind | None = None
    practice_ods: str = ""
    nhs_number: str = ""  # the patient the case is about when it is not the number the GP sent
    evidence: dict[str, Any] = field(default_factory=dict)
    effects: tuple[Effect, ...] = ()

    @classmethod
    def done(cls, summary: str, **kw) -> "Outcome":
        return cls(TxStatus.DONE, summary, **kw)

    @classmethod
    def rejected(cls, summary: str, **kw) -> "Outcome":
        return cls(TxStatus.REJECTED, summary, **kw)

    @classmethod
    def manual(cls, kind: CaseKind, summary: str, **kw) -> "Outcome":
        return cls(TxStatus.MANUAL, summary, case_kind=kind, **kw)


@dataclass(frozen=True)
class Decision:
    """A rule's whole answer for one transaction: the outcome (with its effects) and why."""

    outcome: Outcome
    trace: Trace

    @property
    def effects(self) -> tuple[Effect, ...]:
        return self.outcome.effects
