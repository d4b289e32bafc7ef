"""Who is this? The patient an incoming transaction is about, found the way the NBO would find them.

By NHS number first (following a number merged into another record, re-keyed automatically when the
retained record agrees with the message); otherwise by a demographic trace. Whatever is found, the
candidates and the reasons are kept as evidence for the person who may have to decide.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from pds.errors import InvalidNhsNumber, PatientNotFound
from pds.gateway import PatientRecord, get_gateway
from pds.trace import MATCH, MULTIPLE, TraceQuery, TraceResult

from ..gplinks import is_legacy_nhs_number
from ..ports import CaseKind
from .base import Trace
from .evidence import pds_snapshot, record_of

NAME_MATCH_THRESHOLD = 85  # rapidfuzz ratio; below this the surnames are "different people" territory


@dataclass
class Found:
    patient: PatientRecord | None = None
    case_kind: CaseKind | None = None
    summary: str = ""
    supplied_number: bool = False  # PCRM found or corrected the number: the reply carries it back
    checked_demographics: bool = False
    demographics_note: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


def demographic_mismatch(data: dict, patient) -> str:
    """The items on which the message and PDS disagree beyond tolerance, in words ('' if none).

    Surnames are compared with every name PDS holds (a maiden or old name still identifies the
    person); birth date exactly; sex only when both sides know it.
    """
    problems = []
    patient = record_of(patient)
    surname = (data.get("surname") or "").upper()
    families = [n.family.upper() for n in patient.names]
    if surname and families and max(fuzz.ratio(surname, f) for f in families) < NAME_MATCH_THRESHOLD:
        problems.append("surname")
    birth = data.get("birth_date")
    if birth and patient.birth_date and dt.date.fromisoformat(birth) != patient.birth_date:
        problems.append("birth date")
    if data.get("sex") in ("1", "2") and patient.gender in ("1", "2") and data["sex"] != patient.gender:
        problems.append("sex")
    return ", ".join(problems)


def find_patient(data: dict, trace: Trace, *, allocation_types=("2", "4"), compare: bool = True) -> Found:
    """`compare` is False for amendments, whose name items are requested changes, not identifiers."""
    number = data.get("nhs_number")
    if number:
        return _by_number(number, data, trace, compare=compare)
    trace.add("NHS number", "absent", "The GP did not send an NHS number, so PCRM must find or allocate one.")
    return _by_trace(data, trace, allocation_types=allocation_types)


def _by_number(number: str, data: dict, trace: Trace, *, compare: bool = True) -> Found:
    if not (len(number) == 10 and number.isdigit()) and is_legacy_nhs_number(number):
        found = Found(case_kind=CaseKind.LEGACY_NHS_NUMBER, summary="Legacy-format NHS number")
        found.evidence["candidates"] = trace_candidates(data, trace)
        trace.add("NHS number", "legacy", f"{number} is a pre-1996 number that PDS does not hold.")
        return found
    try:
        patient = get_gateway().get(number)
    except (PatientNotFound, InvalidNhsNumber):
        found = Found(case_kind=CaseKind.NO_TRACE, summary="NHS number not known to PDS")
        found.evidence["candidates"] = trace_candidates(data, trace)
        trace.add("PDS lookup", "not found", f"PDS has no record with NHS number {number}.")
        return found
    if not patient.superseded_from:
        trace.add("PDS lookup", "found", "PDS holds a record with this NHS number.")
        return Found(patient)
    mismatch = demographic_mismatch(data, patient) if compare else ""
    if mismatch:
        trace.add(
            "PDS lookup",
            "superseded, ambiguous",
            f"{number} was merged into {patient.nhs_number}, but that record disagrees on {mismatch}: "
            "a person must confirm it is the same patient.",
        )
        return Found(
            case_kind=CaseKind.SUPERSEDED_NUMBER,
            summary=f"Superseded NHS number; the retained record differs on {mismatch}",
            evidence={
                "superseded_number": number,
                "retained_number": patient.nhs_number,
                "pds": pds_snapshot(patient),
                "candidates": trace_candidates(data, Trace()),
            },
        )
    trace.add(
        "PDS lookup",
        "superseded, re-keyed",
        f"{number} was merged into {patient.nhs_number}, which agrees with the message: re-keyed automatically.",
    )
    return Found(
        patient,
        supplied_number=True,
        checked_demographics=compare,
        demographics_note="Surname, birth date and sex agree with the retained record.",
        evidence={"superseded_number": number, "retained_number": patient.nhs_number},
    )


def _by_trace(data: dict, trace: Trace, *, allocation_types) -> Found:
    kind = data.get("acceptance_type")
    result = run_trace(data)
    if result is None:
        trace.add("PDS trace", "not possible", "Too little to trace on: a name and a birth date or postcode.")
        return _untraced(kind, {}, allocation_types)
    evidence = trace_evidence(result)
    if result.outcome == MATCH:
        chosen = result.match
        patient = get_gateway().get(chosen.nhs_number)
        trace.add(
            "PDS trace",
            "one match",
            f"{chosen.nhs_number} matches ({result.reason}): {'; '.join(chosen.reasons)}. "
            "The approval will carry this NHS number.",
        )
        return Found(
            patient,
            supplied_number=True,
            checked_demographics=True,
            demographics_note="The trace matched the demographics the GP sent.",
            evidence=evidence,
        )
    if result.outcome == MULTIPLE:
        trace.add(
            "PDS trace",
            "several matches" if len(result.candidates) > 1 else "not confident",
            f"{result.reason.capitalize()}: a person compares them side by side and chooses.",
        )
        return Found(
            case_kind=CaseKind.MULTIPLE_MATCHES,
            summary=f"{len(result.candidates)} possible PDS record{'s' if len(result.candidates) > 1 else ''}",
            evidence=evidence,
        )
    trace.add("PDS trace", "no match", f"No PDS record matches the demographics the GP sent ({result.reason}).")
    return _untraced(kind, evidence, allocation_types)


def _untraced(kind: str | None, evidence: dict, allocation_types) -> Found:
    if kind in allocation_types:
        return Found(
            case_kind=CaseKind.NHS_NUMBER_ALLOCATION,
            summary=f"Type {kind} acceptance without an NHS number: one must be allocated",
            evidence=evidence,
        )
    return Found(case_kind=CaseKind.NO_TRACE, summary="No PDS record found for the patient", evidence=evidence)


def run_trace(data: dict) -> TraceResult | None:
    """A PDS trace on the message's demographics, or None when there is too little to trace on."""
    birth = data.get("birth_date")
    postcode = (data.get("address") or {}).get("postcode") or ""
    query = TraceQuery(
        surname=data.get("surname") or "",
        forenames=tuple(f for f in (data.get("forenames") or []) if f),
        gender=data.get("sex") or "",
        birth_date=dt.date.fromisoformat(birth) if birth else None,
        postcode=postcode,
        place_of_birth=data.get("place_of_birth") or "",
    )
    if not (query.surname or query.forenames) or not (query.has_birth or query.postcode):
        return None
    return get_gateway().trace(query)


def trace_evidence(result: TraceResult) -> dict[str, Any]:
    """Candidates with scores and item-by-item reasons, best first, as the case page shows them."""
    return {
        "candidates": [{**c.as_dict(), "reasons": c.reasons} for c in result.candidates],
        "trace": {"outcome": result.outcome, "reason": result.reason, "examined": result.examined},
    }


def trace_candidates(data: dict, trace: Trace) -> list[dict]:
    """For a number PDS cannot use (legacy, unknown): who the demographics point to, for the person."""
    result = run_trace(data)
    if result is None:
        return []
    if result.candidates:
        best = result.candidates[0]
        trace.add(
            "PDS trace",
            result.outcome.lower(),
            f"For the person deciding: the demographics point to {best.nhs_number} (score {best.score:.2f})"
            + (f" and {len(result.candidates) - 1} other(s)." if len(result.candidates) > 1 else "."),
        )
    return trace_evidence(result)["candidates"]
