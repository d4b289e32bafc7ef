"""G2 amendment: addresses go to PDS; name, birth date and sex are requests that a person accepts or
refuses (PDS is the master); an amendment answering an FP69 notice is reviewed before the F10.

Amendment semantics (protocol 4.2): an item not sent is unchanged, a value is the new value and
`%` (None here) erases it. When any address line changes the whole address is sent; a postcode that
is not sent is unchanged.
"""

import datetime as dt
import re

from .. import gplinks
from ..gplinks import ABSENT
from ..gplinks.model import ADDRESS_PARTS
from ..models import FP69Flag, FP69Status, Transaction
from ..ports import CaseKind
from .base import ChangeAddress, KeepRegistrationDetails, Outcome, Trace
from .common import Subject, subject_of
from .evidence import record_of

DEMOGRAPHIC_ITEMS = {
    "surname": "surname",
    "forenames": "forenames",
    "title": "title",
    "birth_date": "date of birth",
    "sex": "sex",
    "previous_surname": "previous surname",
}
NOT_IN_PDS = {"drugs_dispensed": "drugs dispensed marker", "residential_institute": "residential institute code"}
POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}")
LINE_MAX = 35


def process_amendment(tx: Transaction, trace: Trace) -> Outcome:
    """Decide a G2. Each step below either decides (returns the Outcome that stands) or lets the next run."""
    subject = subject_of(tx, trace, "Amendment")
    if isinstance(subject, Outcome):
        return subject
    sent = tx.parsed
    stop = _not_this_list(subject, trace)
    if stop is not None:
        return stop
    patient = subject.patient
    requested = requested_changes(sent, patient)
    new_address = proposed_address(sent, patient) if sent.address else None
    stop = _fp69_reply(sent, subject, trace, requested, new_address)
    if stop is not None:
        return stop
    if (requested or new_address) and patient.sensitive:
        trace.add("sensitive flag", "S", "Restricted records are never changed automatically.")
        return subject.manual(CaseKind.SENSITIVE, "Amendment for a sensitive record", requested_changes=requested)
    effects = _address_effects(subject, trace, requested, new_address)
    if isinstance(effects, Outcome):
        return effects
    effects += _registration_effects(sent, subject, trace)
    if sent.free_text:
        trace.add("GP notes", "kept", f'"{sent.free_text}" is kept with the transaction.')
    return _settle(subject, trace, requested, new_address, effects)


def _not_this_list(subject: Subject, trace: Trace) -> Outcome | None:
    """The amendment is for a living patient PDS shows on the practice's list; else a case."""
    patient, ods = subject.patient, subject.practice.ods_code
    if patient.death_date:
        trace.add("death", "deceased", f"PDS records death on {patient.death_date}: an amendment needs checking.")
        return subject.manual(CaseKind.DECEASED, "Amendment for a patient PDS records as deceased")
    if not subject.registered_here:
        where = patient.gp_practice or "no practice"
        trace.add(
            "current registration",
            where,
            f"PDS shows the patient at {where}, not {ods}: the practice may be amending someone it no longer holds.",
        )
        return subject.manual(CaseKind.CONFLICTING_REGISTRATION, f"Amendment from {ods}, but PDS shows {where}")
    trace.add("current registration", "this practice", "PDS shows the patient on this practice's list.")
    return None


def _fp69_reply(
    sent: gplinks.Transaction, subject: Subject, trace: Trace, requested: list[dict], new_address: dict | None
) -> Outcome | None:
    """An amendment from a practice holding an open FP69 notice answers it: a person reviews it."""
    flag = FP69Flag.objects.filter(nhs_number=subject.patient.nhs_number, status=FP69Status.OPEN).first()
    if flag is None or flag.practice_id != subject.practice.pk:
        return None
    trace.add(
        "FP69 notice",
        "open",
        f"An FP69 notice to {subject.practice.ods_code} runs until {flag.expires_on}: this amendment is the "
        "practice's reply, so a person decides whether to remove the flag (F10) or let it run.",
    )
    return subject.manual(
        CaseKind.FP69_RESPONSE,
        "Reply to an FP69 notice",
        fp69={"reason": flag.reason, "set_on": flag.set_on.isoformat(), "expires_on": flag.expires_on.isoformat()},
        proposed_address=new_address,
        requested_changes=requested,
        gp_notes=sent.free_text or "",
    )


def _address_effects(
    subject: Subject, trace: Trace, requested: list[dict], new_address: dict | None
) -> tuple[ChangeAddress, ...] | Outcome:
    """The address change to make (none when none was sent), or the case for an address PDS cannot take."""
    if new_address is None:
        return ()
    problem = address_problem(new_address)
    if problem:
        trace.add("address", "invalid", f"The new address cannot go to PDS: {problem}.")
        return subject.manual(
            CaseKind.INVALID_ADDRESS,
            f"Invalid address: {problem}",
            proposed_address=new_address,
            requested_changes=requested,
        )
    # PDS may still refuse what passes these format rules: then the case below is opened instead.
    refused = subject.manual(CaseKind.INVALID_ADDRESS, "PDS refused the address", proposed_address=new_address)
    return (ChangeAddress(subject.patient, new_address, if_refused=refused),)


def _registration_effects(sent: gplinks.Transaction, subject: Subject, trace: Trace) -> tuple:
    """Items PDS does not hold (DM, RIC) are kept on the registration at the practice."""
    carried = [label for item, label in NOT_IN_PDS.items() if getattr(sent, item) is not ABSENT]
    if not carried:
        return ()
    for label in carried:
        trace.add(label, "recorded", "Not held by PDS: kept on the registration record at this practice.")
    return (KeepRegistrationDetails(subject.patient.nhs_number, subject.practice),)


def _settle(subject: Subject, trace: Trace, requested: list[dict], new_address: dict | None, effects) -> Outcome:
    """What stands once nothing stopped the amendment: name/birth/sex requests go to a person, the rest is done."""
    ods, number = subject.practice.ods_code, subject.patient.nhs_number
    if requested:
        items = ", ".join(r["label"] for r in requested)
        trace.add("demographic items", items, "PDS is the master: a person compares and accepts or refuses these.")
        summary = f"GP asks to change {items}"
        if new_address is not None:
            summary += " (address already updated)"
        return subject.manual(CaseKind.DEMOGRAPHIC_CHANGE, summary, effects=effects, requested_changes=requested)
    if new_address is not None:
        return Outcome.done("Address updated in PDS", practice_ods=ods, nhs_number=number, effects=effects)
    if effects:
        return Outcome.done(
            "Registration details recorded; nothing to change in PDS",
            practice_ods=ods,
            nhs_number=number,
            effects=effects,
        )
    trace.add("amended items", "none PDS holds", "Nothing in this amendment changes PDS.")
    return Outcome.done("Amendment recorded; nothing to change in PDS", practice_ods=ods, nhs_number=number)


def requested_changes(sent: gplinks.Transaction, patient) -> list[dict]:
    """Side by side: each name/birth/sex item the GP sent, with what PDS holds now (plain JSON: it is
    kept on the case)."""
    patient = record_of(patient)
    name = patient.usual_name
    current = {
        "surname": name.family if name else "",
        "forenames": list(name.given) if name else [],
        "title": name.prefix if name else "",
        "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
        "sex": patient.gender,
        "previous_surname": next((n.family for n in patient.names if n.use in ("old", "maiden")), ""),
    }
    changes = []
    for item, label in DEMOGRAPHIC_ITEMS.items():
        value = getattr(sent, item)
        if value is ABSENT:
            continue
        if isinstance(value, dt.date):
            value = value.isoformat()
        if item == "forenames" and isinstance(value, list):
            # Unsent parts are "" (unchanged): merge them over what PDS holds.
            held = current["forenames"] + [""] * 3
            value = [v if v != "" else held[i] for i, v in enumerate(value)]
            value = [v for v in value if v]
        if value == current[item]:
            continue
        changes.append({"item": item, "label": label, "pds": current[item], "requested": value})
    return changes


def proposed_address(sent: gplinks.Transaction, patient) -> dict:
    """The address PDS would hold after the amendment: erased parts blank, an unsent postcode kept."""
    address_sent = sent.address
    held = record_of(patient).current_address
    address = {}
    for part in ADDRESS_PARTS:
        value = getattr(address_sent, part)
        if part == "postcode" and value == "":
            value = held.postcode if held else ""
        address[part] = "" if value is None else value.upper()
    if address_sent.postcode is None:
        address["postcode_erased"] = True
    return address


def address_problem(address: dict) -> str:
    """Why PDS would not accept the address ('' when it would). No PAF here: format rules only."""
    if not address.get("post_town"):
        return "the post town is missing"
    if not address.get("house") and not address.get("road"):
        return "neither a house name nor a road is given"
    if any(len(address.get(p) or "") > LINE_MAX for p in ADDRESS_PARTS[:-1]):
        return f"an address line is longer than {LINE_MAX} characters"
    postcode = " ".join((address.get("postcode") or "").split())
    if not postcode:
        return "there is no postcode, so PDS cannot validate the address"
    if not POSTCODE.fullmatch(postcode):
        return f"{postcode} is not a UK postcode"
    return ""


__all__ = ["address_problem", "process_amendment", "proposed_address", "requested_changes"]
