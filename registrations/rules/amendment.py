"""G2 amendment: addresses go to PDS; name, birth date and sex are requests that a person accepts or
refuses (PDS is the master); an amendment answering an FP69 notice is reviewed before the F10.

Amendment semantics (protocol 4.2): an item not sent is unchanged, a value is the new value and
`%` (None here) erases it. When any address line changes the whole address is sent; a postcode that
is not sent is unchanged.
"""

import re

from ..models import FP69Flag, FP69Status, Transaction
from ..ports import CaseKind
from .base import ChangeAddress, KeepRegistrationDetails, Outcome, Trace
from .common import subject_of
from .evidence import record_of

ADDRESS_PARTS = ("house", "road", "locality", "post_town", "county", "postcode")
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


# Complexity exemption (C901): TODO(#11 landing 2): split into decide steps


def process_amendment(tx: Transaction, trace: Trace) -> Outcome:  # noqa: C901
    subject = subject_of(tx, trace, "Amendment")
    if isinstance(subject, Outcome):
        return subject
    data = tx.data
    patient = subject.patient
    ods = subject.practice.ods_code
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

    requested = requested_changes(data, patient)
    new_address = proposed_address(data, patient) if data.get("address") else None

    flag = FP69Flag.objects.filter(nhs_number=patient.nhs_number, status=FP69Status.OPEN).first()
    if flag is not None and flag.practice_id == subject.practice.pk:
        trace.add(
            "FP69 notice",
            "open",
            f"An FP69 notice to {ods} runs until {flag.expires_on}: this amendment is the practice's reply, "
            "so a person decides whether to remove the flag (F10) or let it run.",
        )
        return subject.manual(
            CaseKind.FP69_RESPONSE,
            "Reply to an FP69 notice",
            fp69={"reason": flag.reason, "set_on": flag.set_on.isoformat(), "expires_on": flag.expires_on.isoformat()},
            proposed_address=new_address,
            requested_changes=requested,
            gp_notes=data.get("free_text") or "",
        )

    if (requested or new_address) and patient.sensitive:
        trace.add("sensitive flag", "S", "Restricted records are never changed automatically.")
        return subject.manual(CaseKind.SENSITIVE, "Amendment for a sensitive record", requested_changes=requested)

    effects: tuple[ChangeAddress | KeepRegistrationDetails, ...] = ()
    if new_address is not None:
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
        effects = (ChangeAddress(patient, new_address, if_refused=refused),)

    if any(item in data for item in NOT_IN_PDS):
        for item, label in NOT_IN_PDS.items():
            if item in data:
                trace.add(label, "recorded", "Not held by PDS: kept on the registration record at this practice.")
        effects += (KeepRegistrationDetails(patient.nhs_number, subject.practice),)
    if data.get("free_text"):
        trace.add("GP notes", "kept", f'"{data["free_text"]}" is kept with the transaction.')

    if requested:
        items = ", ".join(r["label"] for r in requested)
        trace.add("demographic items", items, "PDS is the master: a person compares and accepts or refuses these.")
        summary = f"GP asks to change {items}"
        if new_address is not None:
            summary += " (address already updated)"
        return subject.manual(CaseKind.DEMOGRAPHIC_CHANGE, summary, effects=effects, requested_changes=requested)
    if new_address is not None:
        return Outcome.done("Address updated in PDS", practice_ods=ods, nhs_number=patient.nhs_number, effects=effects)
    if effects:
        return Outcome.done(
            "Registration details recorded; nothing to change in PDS",
            practice_ods=ods,
            nhs_number=patient.nhs_number,
            effects=effects,
        )
    trace.add("amended items", "none PDS holds", "Nothing in this amendment changes PDS.")
    return Outcome.done("Amendment recorded; nothing to change in PDS", practice_ods=ods, nhs_number=patient.nhs_number)


def requested_changes(data: dict, patient) -> list[dict]:
    """Side by side: each name/birth/sex item the GP sent, with what PDS holds now."""
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
        if item not in data:
            continue
        value = data[item]
        if item == "forenames" and isinstance(value, list):
            # Unsent parts are "" (unchanged): merge them over what PDS holds.
            held = current["forenames"] + [""] * 3
            value = [v if v != "" else held[i] for i, v in enumerate(value)]
            value = [v for v in value if v]
        if value == current[item]:
            continue
        changes.append({"item": item, "label": label, "pds": current[item], "requested": value})
    return changes


def proposed_address(data: dict, patient) -> dict:
    """The address PDS would hold after the amendment: erased parts blank, an unsent postcode kept."""
    sent = data["address"]
    held = record_of(patient).current_address
    address = {}
    for part in ADDRESS_PARTS:
        value = sent.get(part, "")
        if part == "postcode" and value == "":
            value = held.postcode if held else ""
        address[part] = "" if value is None else value.upper()
    if sent.get("postcode", "") is None:
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
