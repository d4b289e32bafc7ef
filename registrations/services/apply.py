"""Apply services: the one write path for a decision, whoever made it (a rule, or a person in the queue).

The same functions update PDS (through the gateway, local or remote), write the registration history
and queue the GP Links replies, so an approval made by a person is indistinguishable on the wire from
one made automatically. Callers run these inside their own database transaction; nothing here
commits on its own. Each returns `Applied`: what it did in words, and which F-transactions it queued
to whom.
"""

import datetime as dt
import re
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pds.errors import InvalidChange, VersionConflict
from pds.gateway import PatientRecord, get_gateway

from .. import gplinks
from ..gplinks import ABSENT
from ..gplinks.jsonio import transaction_from_json
from ..gplinks.model import ADDRESS_PARTS
from ..models import (
    FP69Flag,
    FP69Status,
    Link,
    OutboxItem,
    PendingDeduction,
    PendingDeductionStatus,
    Practice,
    Registration,
    Transaction,
)
from ..rules.base import (
    AmendGP,
    Approve,
    ChangeAddress,
    CloseOldHaList,
    Decision,
    Deduct,
    Effect,
    HoldDeduction,
    KeepRegistrationDetails,
    Outcome,
    RejectAcceptance,
    Trace,
)
from ..rules.evidence import record_of
from ..selectors import accepted_on, gp_for, home_link, registered_gp, reply_link, served_by_pcrm
from .outbound import outbound
from .outbox import queue_transaction

SYSTEM = "pcrm-processing"
FREE_TEXT_MAX = 70
_NOT_APPENDIX_K = re.compile(r"""[^A-Z0-9 .,\-()/=!"%&*;<>'+:?]""")


@dataclass(frozen=True)
class Sent:
    """One F-transaction queued: its type, the practice it goes to, and its outbox row."""

    tx_type: str
    to: str
    outbox_item_id: int

    @classmethod
    def of(cls, item: OutboxItem) -> "Sent":
        return cls(item.tx_type, item.link.practice.ods_code, item.pk)


@dataclass(frozen=True)
class Applied:
    """What applying did: a summary in words (may be empty) and the F-transactions queued."""

    summary: str = ""
    sent: tuple[Sent, ...] = ()

    def __add__(self, other: "Applied") -> "Applied":
        summary = "; ".join(s for s in (self.summary, other.summary) if s)
        return Applied(summary, self.sent + other.sent)

    @property
    def types(self) -> list[str]:
        return [s.tx_type for s in self.sent]


def _sent(item: OutboxItem | None) -> tuple[Sent, ...]:
    return (Sent.of(item),) if item is not None else ()


class NoLink(Exception):
    """There is no GP Links link PCRM may answer the practice on."""


def gp_links_text(text: str) -> str:
    """Free text as GP Links can carry it: upper case, one line, Appendix K characters, bounded."""
    flat = " ".join(text.upper().split())
    return _NOT_APPENDIX_K.sub("", flat)[:FREE_TEXT_MAX].strip()


# --- a rule's decision -----------------------------------------------------------------------------------


def apply_decision(tx: Transaction, decision: Decision, *, by: str = SYSTEM, user=None) -> tuple[Outcome, Applied]:
    """Carry out a decision's effects in order; returns the outcome that stands and what was done.

    An effect with an `if_refused` outcome that PDS refuses is undone (a savepoint) and that outcome
    stands instead; any other failure propagates and rolls the caller's transaction back.
    """
    applied = Applied()
    trace = decision.trace
    for effect in decision.effects:
        refused = getattr(effect, "if_refused", None)
        if refused is None:
            applied += apply_effect(tx, effect, trace=trace, by=by, user=user)
            continue
        try:
            with transaction.atomic():
                applied += apply_effect(tx, effect, trace=trace, by=by, user=user)
        except InvalidChange as exc:
            trace.add("address", "refused by PDS", str(exc))
            return replace(refused, summary=f"{refused.summary}: {exc}"), applied
    return decision.outcome, applied


def apply_effect(tx: Transaction, effect: Effect, *, trace: Trace, by: str = SYSTEM, user=None) -> Applied:
    match effect:
        case Approve():
            return approve_acceptance(
                tx,
                patient=effect.patient,
                gp=effect.gp,
                trace=trace,
                by=by,
                user=user,
                supplied_number=effect.supplied_number,
            )
        case CloseOldHaList():
            return close_old_ha_list(tx, patient=effect.patient, practice=effect.practice, trace=trace)
        case RejectAcceptance():
            return reject_acceptance(tx, practice=effect.practice, text=effect.text, trace=trace)
        case Deduct():
            return deduct(
                effect.patient,
                practice=effect.practice,
                reason=effect.reason,
                on=effect.on,
                caused_by=tx,
                trace=trace,
                by=by,
                user=user,
                gp=effect.gp,
                wire_number=effect.wire_number,
            )
        case HoldDeduction():
            return hold_deduction(
                effect.patient,
                practice=effect.practice,
                reason=effect.reason,
                due_on=effect.due_on,
                trace=trace,
                caused_by=tx,
                by=by,
                gp=effect.gp,
                wire_number=effect.wire_number,
            )
        case AmendGP():
            return amend_gp(
                practice=effect.practice,
                wire_number=effect.wire_number,
                items=dict(effect.items),
                why=effect.why,
                trace=trace,
                caused_by=tx,
            )
        case KeepRegistrationDetails():
            return keep_registration_details(tx, nhs_number=effect.nhs_number, practice=effect.practice, trace=trace)
        case ChangeAddress():
            change_address(effect.patient, effect.address, reason=f"transaction {tx.pk}", trace=trace, by=by, user=user)
            return Applied()
    raise TypeError(f"no apply service for {effect!r}")


# --- acceptance ------------------------------------------------------------------------------------------


def approve_acceptance(
    tx: Transaction, *, patient, gp, trace: Trace, by: str = SYSTEM, user=None, supplied_number: bool = False
) -> Applied:
    """Register the patient with the accepting practice and answer: F4 to it, F2 to the one they left.

    `patient` is the record the decision was made on: PDS is changed through the gateway at that
    record's version, so a change made meanwhile is a VersionConflict.
    """
    patient = record_of(patient)
    practice = gp.practice
    sent = tx.parsed
    on = accepted_on(tx)
    reason = f"transaction {tx.pk}"
    previous_ods = None
    if patient.gp_practice == practice.ods_code:
        trace.add("PDS update", "not needed", f"PDS already shows {practice.ods_code} as the registered practice.")
    else:
        get_gateway().register_with_practice(
            patient.nhs_number,
            practice_ods=practice.ods_code,
            start=on,
            expected_version=patient.version,
            by=by,
            reason=reason,
            user=user,
        )
        previous_ods = patient.gp_practice
        trace.add("PDS update", "registered", f"Registered GP set to {practice.ods_code} from {on}.")
    Registration.objects.create(
        nhs_number=patient.nhs_number,
        practice=practice,
        gp=gp,
        acceptance_code=sent.acceptance_code or "",
        acceptance_type=sent.acceptance_type or "",
        acceptance_date=on,
        transaction=tx,
        **registration_details(sent),
    )
    cancel_pending(
        patient.nhs_number,
        elsewhere_than=practice,
        why=f"the patient registered with {practice.ods_code} from {on}",
        trace=trace,
        by=by,
    )
    # An earlier registration of the same person at the same practice (another GP, or another HA's
    # list) is superseded by this one; at another practice it is closed by the deduction below.
    Registration.objects.filter(nhs_number=patient.nhs_number, practice=practice, deducted_on__isnull=True).exclude(
        transaction=tx
    ).update(deducted_on=on)

    link = reply_link(tx, practice)
    if link is None:
        raise NoLink(f"{practice.ods_code} has no GP Links link to PCRM to send the approval on")
    approval = outbound("F4", gp_code=sent.gp_code or gp.gp_code)
    if supplied_number or sent.nhs_number != patient.nhs_number:
        approval.nhs_number = patient.nhs_number
    f4 = queue_transaction(link=link, send=approval, quoted_tn=tx.tn, caused_by=tx)
    with_number = " with the NHS number PCRM supplied" if approval.nhs_number else ""
    trace.add("reply", "F4 approval queued", f"Approval quoting the GP's TN {tx.tn}{with_number}.")

    applied = Applied(f"Registered with {practice.ods_code}; F4 approval sent", _sent(f4))
    if previous_ods and previous_ods != practice.ods_code:
        old = Practice.objects.select_related("ha").filter(ods_code=previous_ods).first()
        if old is None:
            trace.add("previous practice", "not a GP Links partner", f"{previous_ods} gets no deduction over GP Links.")
        else:
            new_ha = practice.ha.cipher if old.ha_id != practice.ha_id else None
            reason = "2" if new_ha else "3"
            if patient.sensitive:
                reason, new_ha = settings.SENSITIVE_TRANSFER_DEDUCTION_REASON, None
                trace.add(
                    "sensitive flag",
                    "nothing that locates the patient",
                    f"The record is restricted (S flag): the F2 to {old.ods_code} says only that the patient left "
                    f"(reason {reason}), with no new HA (NAD+NFH) and no reason that tells which area they moved to.",
                )
            deducted = deduct(
                patient,
                practice=old,
                reason=reason,
                on=on,
                caused_by=tx,
                trace=trace,
                by=by,
                user=user,
                new_ha=new_ha,
                end_pds=False,
            )
            if deducted.sent:
                applied = Applied(
                    f"{applied.summary}; F2 deduction sent to {old.ods_code}", applied.sent + deducted.sent
                )
    return applied


def registration_details(sent: gplinks.Transaction) -> dict:
    """DM and RIC as the G1/G2 carries them: an item not sent is unchanged, `%` (None) erases it."""
    details = {}
    if sent.drugs_dispensed is not ABSENT:
        details["dispensing"] = sent.drugs_dispensed == "Y"
    if sent.residential_institute is not ABSENT:
        details["residential_institute"] = sent.residential_institute or ""
    return details


def keep_registration_details(tx: Transaction, *, nhs_number: str, practice: Practice, trace: Trace) -> Applied:
    """A G2's DM and RIC go on the open registration at the practice (PDS holds neither)."""
    details = registration_details(tx.parsed)
    if not details:
        return Applied()
    updated = Registration.objects.filter(nhs_number=nhs_number, practice=practice, deducted_on__isnull=True).update(
        **details
    )
    words = ", ".join(
        f"dispensing {'yes' if v else 'no'}" if k == "dispensing" else f"residential institute {v or 'none'}"
        for k, v in details.items()
    )
    if updated:
        trace.add("registration details", "recorded", f"Kept on the registration at {practice.ods_code}: {words}.")
    else:
        trace.add("registration details", "no registration", f"PCRM holds no open registration at {practice.ods_code}.")
    return Applied()


def close_old_ha_list(tx: Transaction, *, patient: PatientRecord, practice: Practice, trace: Trace) -> Applied:
    """Code S: the patient stays with the GP, whose list moves to the new HA; the old HA's list is closed."""
    old_cipher = tx.parsed.previous_ha
    if not old_cipher or old_cipher == tx.message.ha_cipher:
        trace.add("previous HA", "not given", "No earlier HA list to close.")
        return Applied()
    link = Link.objects.select_related("practice", "ha").filter(practice=practice, ha__cipher=old_cipher).first()
    if link is None or not link.ha.is_served_by_pcrm(timezone.localdate()):
        trace.add(
            "previous HA",
            old_cipher,
            f"{practice.ods_code} has no PCRM link with {old_cipher}; nothing to close over GP Links.",
        )
        return Applied()
    closing = outbound(
        "F2",
        gp_code=tx.parsed.gp_code,
        deduction_reason="6",
        deduction_date=accepted_on(tx),
        nhs_number=patient.nhs_number,
    )
    item = queue_transaction(link=link, send=closing, caused_by=tx)
    trace.add(
        "previous HA", "F2 reason 6 queued", f"{old_cipher}'s list at {practice.ods_code} is closed: new HA, same GP."
    )
    return Applied(f"F2 (new HA, same GP) sent via {old_cipher}", _sent(item))


def reject_acceptance(tx: Transaction, *, practice: Practice, text: str, trace: Trace) -> Applied:
    """F3 to the GP quoting its TN, with the reason in free text (always sent: GP systems need it).
    Raises NoLink when the practice cannot be answered over GP Links."""
    link = reply_link(tx, practice)
    if link is None:
        trace.add("reply", "no link", f"{practice.ods_code} has no active GP Links link to answer on.")
        raise NoLink(f"{practice.ods_code} has no GP Links link to PCRM to send the rejection on")
    words = gp_links_text(text)
    rejection = outbound("F3", gp_code=tx.parsed.gp_code or "", free_text=words)
    item = queue_transaction(link=link, send=rejection, quoted_tn=tx.tn, caused_by=tx)
    trace.add("reply", "F3 rejection queued", f"Rejection quoting the GP's TN {tx.tn}: {words}.")
    return Applied(sent=_sent(item))


# --- deductions ------------------------------------------------------------------------------------------


def deduct(
    patient,
    *,
    practice: Practice,
    reason: str,
    on: dt.date,
    trace: Trace,
    caused_by: Transaction | None = None,
    by: str = SYSTEM,
    user=None,
    new_ha: str | None = None,
    gp=None,
    end_pds: bool = True,
    wire_number: str | None = None,
) -> Applied:
    """Remove the patient from `practice`'s list: F2 to it, registration history closed, PDS updated.

    `end_pds` is False when PDS has already moved the patient on (a registration elsewhere).
    `wire_number` is the NHS number the practice itself used (its G3/G5), so its system can match
    the F2 even when PDS re-keyed a superseded number; otherwise the F2 carries PDS's number.
    Nothing is sent when the practice cannot be told over GP Links.
    """
    patient = record_of(patient)
    reason_text = f"transaction {caused_by.pk}" if caused_by else f"deduction reason {reason}"
    if end_pds:
        if patient.gp_practice == practice.ods_code:
            get_gateway().end_registration(
                patient.nhs_number,
                end=on,
                removal_reason=reason,
                expected_version=patient.version,
                by=by,
                reason=reason_text,
                user=user,
            )
            trace.add("PDS update", "registration ended", f"{practice.ods_code} is no longer the registered practice.")
        else:
            trace.add("PDS update", "not needed", f"PDS does not show {practice.ods_code} as the current practice.")
    Registration.objects.filter(nhs_number=patient.nhs_number, practice=practice, deducted_on__isnull=True).update(
        deducted_on=on, deduction_reason=reason
    )
    _close_fp69(patient.nhs_number, practice, on=on, by=by)
    cancel_pending(
        patient.nhs_number, at=practice, why=f"ended by a deduction (reason {reason}) from {on}", trace=trace, by=by
    )

    link = home_link(practice)
    if link is None or not served_by_pcrm(practice):
        trace.add(
            "deduction",
            "not sent",
            f"{practice.ods_code} is not linked to PCRM for GP Links (its HA is on NHAIS or has no link).",
        )
        return Applied()
    gp = gp or registered_gp(patient.nhs_number, practice)
    deduction = outbound(
        "F2",
        gp_code=gp.gp_code if gp else "",
        deduction_reason=reason,
        deduction_date=on,
        nhs_number=wire_number or patient.nhs_number,
    )
    if new_ha:
        deduction.new_ha = new_ha
    item = queue_transaction(link=link, send=deduction, caused_by=caused_by)
    why = {
        "1": "the patient has died",
        "2": f"the patient moved to another HA ({new_ha})",
        "3": "the patient moved to another practice in the same HA",
        "5": "the patient has emigrated",
        "9": "removed at the practice's request",
        "13": "the patient has left the list (other reason)",
        "14": "mail to the patient came back undelivered (FP69 expired)",
    }.get(reason, f"deduction reason {reason}")
    trace.add("deduction", f"F2 reason {reason} queued", f"{practice.ods_code} is told: {why}, from {on}.")
    return Applied(sent=_sent(item))


def _close_fp69(nhs_number: str, practice: Practice, *, on: dt.date, by: str) -> None:
    """A deduction ends any FP69 notice at the practice: there is no list entry left to flag."""
    FP69Flag.objects.filter(nhs_number=nhs_number, practice=practice, status=FP69Status.OPEN).update(
        status=FP69Status.SUPERSEDED, closed_on=on, closed_by=by, updated_at=timezone.now()
    )


def hold_deduction(
    patient,
    *,
    practice: Practice,
    reason: str,
    due_on: dt.date,
    trace: Trace,
    caused_by: Transaction | None = None,
    case_id: int | None = None,
    by: str = SYSTEM,
    gp=None,
    wire_number: str | None = None,
) -> Applied:
    """Hold a deduction until `due_on`: nothing changes in PDS and nothing is sent until then.

    A deduction already waiting for the patient is replaced by this one (the later decision stands).
    registrations.services.pending deducts it on its date, unless the patient registered elsewhere.
    """
    patient = record_of(patient)
    cancel_pending(patient.nhs_number, why="replaced by a later decision", trace=trace, by=by)
    PendingDeduction.objects.create(
        nhs_number=patient.nhs_number,
        practice=practice,
        gp=gp,
        reason=reason,
        due_on=due_on,
        transaction=caused_by,
        case_id=case_id,
        wire_number=wire_number or "",
    )
    trace.add(
        "deduction",
        f"held until {due_on}",
        f"The deduction from {practice.ods_code} (reason {reason}) waits until {due_on}: it is cancelled if "
        "the patient registers with another practice before then, and sent (F2) on that date otherwise.",
    )
    return Applied(f"Deduction from {practice.ods_code} held until {due_on}")


def cancel_pending(
    nhs_number: str,
    *,
    why: str,
    trace: Trace,
    by: str = SYSTEM,
    at: Practice | None = None,
    elsewhere_than: Practice | None = None,
) -> int:
    """Cancel the patient's waiting deduction (at one practice, or anywhere but one); returns how many."""
    waiting = PendingDeduction.objects.filter(nhs_number=nhs_number, status=PendingDeductionStatus.PENDING)
    if at is not None:
        waiting = waiting.filter(practice=at)
    if elsewhere_than is not None:
        waiting = waiting.exclude(practice=elsewhere_than)
    rows = list(waiting.select_related("practice"))
    for row in rows:
        row.status = PendingDeductionStatus.CANCELLED
        row.note = why
        row.closed_on = timezone.localdate()
        row.closed_by = by
        row.save(update_fields=["status", "note", "closed_on", "closed_by", "updated_at"])
        trace.add(
            "pending deduction",
            "cancelled",
            f"The deduction from {row.practice.ods_code} that was waiting until {row.due_on} is cancelled: {why}.",
        )
    return len(rows)


def amend_gp(
    *,
    practice: Practice,
    wire_number: str,
    items: dict,
    why: str,
    trace: Trace,
    caused_by: Transaction | None = None,
) -> Applied:
    """F1 to the practice with what PDS now holds (`items` named and typed as the codec's Transaction:
    amended_nhs_number, surname, forenames, birth_date, sex), quoting the patient by the number the
    practice uses. Nothing is sent when the practice cannot be told over GP Links."""
    link = home_link(practice)
    if link is None or not served_by_pcrm(practice):
        trace.add("amendment to the GP", "not sent", f"{practice.ods_code} is not linked to PCRM for GP Links.")
        return Applied()
    gp = registered_gp(items.get("amended_nhs_number") or wire_number, practice)
    amendment = outbound("F1", gp_code=gp.gp_code if gp else "", nhs_number=wire_number, **items)
    item = queue_transaction(link=link, send=amendment, caused_by=caused_by)
    trace.add("amendment to the GP", "F1 queued", f"{practice.ods_code} is told {why}.")
    return Applied(f"F1 amendment sent to {practice.ods_code}", _sent(item))


F1_ITEMS = ("surname", "forenames", "title", "birth_date", "sex", "previous_surname")


def tell_practice_of_correction(patient, changes: list[dict], *, trace: Trace, caused_by=None) -> Applied:
    """A person changed name, birth date or sex in PDS on a case: the practice the patient is registered
    with gets an F1 with what PDS now holds (PROCESSING_F1_ON_CORRECTION)."""
    patient = record_of(patient)
    items = {c["item"]: c["requested"] for c in changes if c["item"] in F1_ITEMS}
    if not items or not settings.PROCESSING_F1_ON_CORRECTION:
        return Applied()
    # The requested values are kept on the case as JSON: read them back as the codec types them.
    requested = transaction_from_json({"tn": 0, "type": "F1", **items})
    items = {name: getattr(requested, name) for name in items}
    practice = Practice.objects.select_related("ha").filter(ods_code=patient.gp_practice or "").first()
    if practice is None:
        trace.add("amendment to the GP", "not sent", "PDS shows no GP Links practice for the patient.")
        return Applied()
    labels = ", ".join(c["label"] for c in changes if c["item"] in items)
    return amend_gp(
        practice=practice,
        wire_number=patient.nhs_number,
        items=items,
        why=f"the {labels} PDS now holds",
        trace=trace,
        caused_by=caused_by,
    )


def reject_deduction_request(tx: Transaction, *, text: str, trace: Trace) -> Applied:
    """F11 to the GP: its deduction request is refused, with the reason in free text.
    Raises NoLink when the practice cannot be answered over GP Links."""
    gp = gp_for(tx)
    if gp is None:
        trace.add("reply", "no link", "The GP code is unknown, so there is no link to answer on.")
        raise NoLink("the GP code is unknown, so there is no link to answer on")
    link = reply_link(tx, gp.practice)
    if link is None:
        trace.add("reply", "no link", f"{gp.practice.ods_code} has no GP Links link to PCRM to answer on.")
        raise NoLink(f"{gp.practice.ods_code} has no GP Links link to PCRM to answer on")
    words = gp_links_text(text)
    refusal = outbound("F11", gp_code=tx.parsed.gp_code or gp.gp_code, free_text=words, nhs_number=tx.nhs_number)
    item = queue_transaction(link=link, send=refusal, caused_by=tx)
    trace.add("reply", "F11 rejection queued", f"The GP is told the request is refused: {words}.")
    return Applied(sent=_sent(item))


# --- addresses -------------------------------------------------------------------------------------------


def change_address(patient, address: dict, *, reason: str, trace: Trace, by: str = SYSTEM, user=None) -> PatientRecord:
    """Replace the PDS address, re-reading and trying again when someone changed the record meanwhile.

    Returns the record as it is after the change. A conflict that keeps recurring is raised, and the
    task retries the whole transaction later (transient, not a case).
    """
    record = record_of(patient)
    gateway = get_gateway()
    values = {p: address.get(p) or "" for p in ADDRESS_PARTS}
    attempts = max(1, settings.PROCESSING_ADDRESS_RETRIES)
    for attempt in range(1, attempts + 1):
        try:
            changed = gateway.change_address(
                record.nhs_number,
                address=values,
                start=timezone.localdate(),
                expected_version=record.version,
                by=by,
                reason=reason,
                user=user,
            )
        except VersionConflict:
            if attempt == attempts:
                raise
            trace.add("PDS update", "version conflict", "PDS changed since it was read: re-read and applied again.")
            fresh = gateway.get(record.nhs_number)
            if fresh.sensitive != record.sensitive or fresh.death_date != record.death_date:
                raise  # the record changed in a way that affects the decision: decide again from the start
            record = fresh
            continue
        trace.add("PDS update", "address changed", "The whole address was replaced, as GP Links requires.")
        return changed
    raise AssertionError("unreachable")  # pragma: no cover
