"""Who is this? The patient an incoming transaction is about, found the way the NBO would find them.

By NHS number first (following a number merged into another record, re-keyed automatically when the
retained record agrees with the message); otherwise by a demographic trace. Whatever is found, the
candidates and the reasons are kept as evidence for the person who may have to decide.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from pds.errors import InvalidNhsNumber, PatientNotFound
from pds.gateway import PatientRecord, get_gateway
from pds.trace import MATCH, MULTIPLE, TraceQuery, TraceResult, letters

from ..gplinks import Transaction, is_legacy_nhs_number
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


def _parts(name: str) -> list[str]:
    return [p for p in (letters(w) for w in re.split(r"[\s\-]+", name)) if p]


def surname_agrees(sent: str, patient: PatientRecord) -> bool:
    """Any surname PDS holds (a maiden or old name still identifies the person), ignoring case, hyphens
    and spaces; one part of a double-barrelled name; or within a typing slip (rapidfuzz ratio)."""
    wanted = letters(sent)
    for name in patient.names:
        held = letters(name.family)
        if not held:
            continue
        if wanted == held or wanted in _parts(name.family) or (held in _parts(sent)):
            return True
        if fuzz.ratio(wanted, held) >= NAME_MATCH_THRESHOLD:
            return True
    return False


def forename_agrees(sent: list[str], patient: PatientRecord) -> bool:
    """The first forename sent is one PDS holds: the same name whatever its case, hyphens, spaces or
    place among the forenames (order), or an initial of one; never a different name, however close
    in spelling (twins called John and Joan differ by one letter)."""
    first = _parts(sent[0]) if sent and sent[0] else []
    if not first:
        return False
    whole = letters(sent[0])
    for name in patient.names:
        held = [p for g in name.given for p in _parts(g)]
        if not held:
            continue
        if whole == "".join(held) or whole in (letters(g) for g in name.given):
            return True
        if first[0] in held:
            return True
        if len(first[0]) == 1 and any(h.startswith(first[0]) for h in held):
            return True
        if any(len(h) == 1 and first[0].startswith(h) for h in held[:1]):
            return True
    return False


def demographic_mismatch(sent: Transaction, patient) -> str:
    """The identifying items on which the message and PDS disagree, in words ('' if none).

    Identity is certain only when surname, first forename, birth date and sex all agree (issue #12:
    a mistyped NHS number landing on a twin or sibling shares surname, birth date and sex, so the
    forename is what tells them apart). An item the message or PDS lacks counts as a disagreement
    ("not known"): nothing then confirms it.
    """
    patient = record_of(patient)
    forenames = [f for f in (sent.forenames or []) if f]
    checks = {
        "surname": surname_agrees(sent.surname, patient) if sent.surname else None,
        "forename": forename_agrees(forenames, patient) if forenames else None,
        "birth date": _same_birth_date(sent.birth_date, patient),
        "sex": sent.sex == patient.gender if {sent.sex, patient.gender} <= {"1", "2"} else None,
    }
    return ", ".join(
        item if agrees is False else f"{item} (not known)" for item, agrees in checks.items() if agrees is not True
    )


def _same_birth_date(sent, patient: PatientRecord) -> bool | None:
    if not (sent and patient.birth_date):
        return None
    return sent == patient.birth_date


IDENTITY_NOTE = "Surname, first forename, birth date and sex agree with PDS."


def find_patient(sent: Transaction, trace: Trace, *, allocation_types=("2", "4"), compare: bool = True) -> Found:
    """`compare` is False for amendments, whose name items are requested changes, not identifiers."""
    number = sent.nhs_number
    if number:
        return _by_number(number, sent, trace, compare=compare)
    trace.add("NHS number", "absent", "The GP did not send an NHS number, so PCRM must find or allocate one.")
    return _by_trace(sent, trace, allocation_types=allocation_types)


def _by_number(number: str, sent: Transaction, trace: Trace, *, compare: bool = True) -> Found:
    if not (len(number) == 10 and number.isdigit()) and is_legacy_nhs_number(number):
        found = Found(case_kind=CaseKind.LEGACY_NHS_NUMBER, summary="Legacy-format NHS number")
        found.evidence["candidates"] = trace_candidates(sent, trace)
        trace.add("NHS number", "legacy", f"{number} is a pre-1996 number that PDS does not hold.")
        return found
    try:
        patient = get_gateway().get(number)
    except (PatientNotFound, InvalidNhsNumber):
        found = Found(case_kind=CaseKind.NO_TRACE, summary="NHS number not known to PDS")
        found.evidence["candidates"] = trace_candidates(sent, trace)
        trace.add("PDS lookup", "not found", f"PDS has no record with NHS number {number}.")
        return found
    if not patient.superseded_from:
        trace.add("PDS lookup", "found", "PDS holds a record with this NHS number.")
        return Found(patient)
    mismatch = demographic_mismatch(sent, patient) if compare else ""
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
                "candidates": trace_candidates(sent, Trace()),
            },
        )
    trace.add(
        "PDS lookup",
        "superseded, re-keyed",
        f"{number} was merged into {patient.nhs_number}, "
        + (
            "which agrees with the message on surname, first forename, birth date and sex: re-keyed automatically."
            if compare
            else "re-keyed; the message carries no details that identify the person, so the retained record "
            "must be on the sending practice's list in PDS before anything changes."
        ),
    )
    return Found(
        patient,
        supplied_number=True,
        checked_demographics=compare,
        demographics_note="The retained record agrees: " + IDENTITY_NOTE,
        evidence={"superseded_number": number, "retained_number": patient.nhs_number},
    )


def _by_trace(sent: Transaction, trace: Trace, *, allocation_types) -> Found:
    kind = sent.acceptance_type or None
    result = run_trace(sent)
    if result is None:
        trace.add("PDS trace", "not possible", "Too little to trace on: a name and a birth date or postcode.")
        return _untraced(kind, {}, allocation_types)
    evidence = trace_evidence(result)
    if not sent.birth_date:
        # PDS itself never matches without a birth date: every search combination it allows includes
        # one (pds-and-mesh.md 1.3). The candidates found through the postcode are shown to a person.
        trace.add(
            "PDS trace",
            "no birth date",
            "The GP sent no birth date, and PDS never matches a person without one: "
            "a person compares the candidates and chooses, or allocates a number.",
        )
        if result.candidates:
            return _not_certain(result, evidence, "no birth date to match on")
        return _untraced(kind, evidence, allocation_types)
    if result.outcome == MATCH:
        chosen = result.match
        patient = get_gateway().get(chosen.nhs_number)
        mismatch = demographic_mismatch(sent, patient)
        if mismatch:
            # The trace's best is not enough: the record itself must agree on every identifying item.
            trace.add(
                "PDS trace",
                "best not certain",
                f"{chosen.nhs_number} scored best ({result.reason}) but disagrees on {mismatch}: "
                "not certain enough to change anything automatically.",
            )
            return _not_certain(result, evidence, f"best candidate differs on {mismatch}")
        trace.add(
            "PDS trace",
            "one match",
            f"{chosen.nhs_number} matches ({result.reason}): {'; '.join(chosen.reasons)}. "
            "Surname, forename, birth date and sex agree. The approval will carry this NHS number.",
        )
        return Found(
            patient,
            supplied_number=True,
            checked_demographics=True,
            demographics_note="The trace matched the demographics the GP sent: " + IDENTITY_NOTE,
            evidence=evidence,
        )
    if result.outcome == MULTIPLE:
        trace.add(
            "PDS trace",
            "several matches" if len(result.candidates) > 1 else "not confident",
            f"{result.reason.capitalize()}: a person compares them side by side and chooses.",
        )
        return _not_certain(result, evidence)
    trace.add("PDS trace", "no match", f"No PDS record matches the demographics the GP sent ({result.reason}).")
    return _untraced(kind, evidence, allocation_types)


def _not_certain(result: TraceResult, evidence: dict, why: str = "") -> Found:
    count = len(result.candidates)
    return Found(
        case_kind=CaseKind.MULTIPLE_MATCHES,
        summary=f"{count} possible PDS record{'s' if count != 1 else ''}" + (f": {why}" if why else ""),
        evidence=evidence,
    )


def _untraced(kind: str | None, evidence: dict, allocation_types) -> Found:
    if kind in allocation_types:
        return Found(
            case_kind=CaseKind.NHS_NUMBER_ALLOCATION,
            summary=f"Type {kind} acceptance without an NHS number: one must be allocated",
            evidence=evidence,
        )
    return Found(case_kind=CaseKind.NO_TRACE, summary="No PDS record found for the patient", evidence=evidence)


def run_trace(sent: Transaction) -> TraceResult | None:
    """A PDS trace on the message's demographics, or None when there is too little to trace on."""
    birth = sent.birth_date
    query = TraceQuery(
        surname=sent.surname or "",
        forenames=tuple(f for f in (sent.forenames or []) if f),
        gender=sent.sex or "",
        # A date the wire carried that is no calendar date stays its raw text: nothing to trace on.
        birth_date=birth if isinstance(birth, dt.date) else None,
        postcode=(sent.address.postcode if sent.address else "") or "",
        place_of_birth=sent.place_of_birth or "",
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


def trace_candidates(sent: Transaction, trace: Trace) -> list[dict]:
    """For a number PDS cannot use (legacy, unknown): who the demographics point to, for the person."""
    result = run_trace(sent)
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
