"""Resolution services: what a person can do with a case, each one checked, explained and audited.

The work-queue UI calls these and nothing else to change a case. Each action's service is made by
`_resolution` from the action's own work (its body, which returns a `_Done`), and every one:

- is the service of one action declared in exceptions.actions (the registry the case page, the form
  and the permission checks are built from);
- takes the acting user (`by=`), a reason code from the action's list and an optional note;
- refuses, with a typed error, an action the case's kind does not allow, a case that is no longer
  open, or a transaction that has already moved on;
- does its side effects through the same apply services the automatic path uses
  (registrations.services.apply: PDS through the gateway, registration history, the GP Links
  outbox), so a person's decision goes out exactly like an automatic one, and moves the transaction
  through registrations.services.state;
- writes the case event and the audit entry in the same database transaction as those effects:
  all of it happens, or none of it.
"""

import datetime as dt
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.roles import Perm
from exceptions import actions
from exceptions.actions import ACTIONS
from exceptions.kinds import info
from exceptions.models import OPEN_STATUSES, CaseStatus, ExceptionCase
from exceptions.services import audit
from exceptions.services.cases import continuing, open_case, record_event
from pds.errors import InvalidChange, PatientNotFound, PdsError
from pds.gateway import PatientRecord, get_gateway
from registrations.gplinks.codes import DEDUCTION_REASONS
from registrations.gplinks.model import ADDRESS_PARTS
from registrations.models import FP69Flag, Interchange, InterchangeStatus, Link, OutboxItem, OutboxKind, TxStatus
from registrations.models import Transaction as Tx
from registrations.ports import CaseKind, CaseRequest
from registrations.rules.amendment import address_problem, proposed_address, requested_changes
from registrations.rules.base import Trace
from registrations.rules.evidence import address_dict
from registrations.rules.refusal import WRONG_HA, refusal_sends_f3, wrong_ha_words
from registrations.rules.removal import removal_due_on
from registrations.selectors import gp_for
from registrations.services import fp69, inbound, processing, state
from registrations.services.apply import (
    Applied,
    NoLink,
    Sent,
    approve_acceptance,
    change_address,
    deduct,
    gp_links_text,
    hold_deduction,
    reject_acceptance,
    reject_deduction_request,
    tell_practice_of_correction,
)


class ResolutionError(Exception):
    """Base of every refusal; the message is written for the person who asked."""


class ActionNotAllowed(ResolutionError):
    """The action is not one this kind of case (or this transaction type) allows."""


class CaseNotOpen(ResolutionError):
    """The case was already resolved, rejected or closed."""


class UnknownReason(ResolutionError):
    """The reason code is not one of the action's reason codes."""


class InvalidInput(ResolutionError):
    """What the person supplied (a patient, an address, a text) cannot be used."""


class NotPermitted(ResolutionError):
    """The user's role does not allow working cases."""


@dataclass
class Resolution:
    case: ExceptionCase
    action: str
    summary: str
    sent: list[str] = field(default_factory=list)  # F-transaction types queued, e.g. ["F4", "F2"]
    replies: tuple[Sent, ...] = ()  # the same, with who each goes to and its outbox row


# --- the shared frame of every action ------------------------------------------------------------


def _begin(case: ExceptionCase, action: str, by, reason_code: str) -> ExceptionCase:
    if by is None or not getattr(by, "is_authenticated", False):
        raise NotPermitted("a resolution needs a signed-in user")
    if not by.has_perm(ACTIONS[action].permission):
        raise NotPermitted("your role cannot work cases")
    locked = (
        ExceptionCase.objects.select_for_update(of=("self",))
        .select_related("transaction__message__interchange__link")
        .get(pk=case.pk)
    )
    if locked.status not in OPEN_STATUSES:
        raise CaseNotOpen(f"case {locked.pk} is already {locked.get_status_display().lower()}")
    kind = info(locked.kind)
    if action not in kind.actions:
        raise ActionNotAllowed(f"'{ACTIONS[action].label}' is not an action for a {kind.label} case")
    if reason_code not in ACTIONS[action].reasons:
        raise UnknownReason(f"{reason_code!r} is not a reason for '{ACTIONS[action].label}'")
    problem = actions.misfit(locked, action)
    if problem:
        raise ActionNotAllowed(problem)
    if locked.transaction_id:
        # The transaction is locked too, so processing cannot act on it while a person does.
        Tx.objects.select_for_update().filter(pk=locked.transaction_id).first()
    return locked


@dataclass
class _Done:
    """What an action did, handed back to the frame that finishes every resolution (_finish)."""

    summary: str
    detail: dict | None = None
    tx_status: str | None = None  # where the case's transaction moves; None: it stays where it is
    trace: Trace | None = None
    nhs_number: str = ""  # the patient the audit entry names, when not the case's own number
    applied: Applied | None = None
    keep_open: bool = False
    # A case opened once this one is finished (its transaction waits for a person again).
    follow_up: CaseRequest | None = None


def _finish(case: ExceptionCase, action: str, *, by, reason_code: str, note: str, done: _Done) -> Resolution:
    status = "" if done.keep_open else ACTIONS[action].outcome
    now = timezone.now()
    if status:
        case.status = status
        case.closed_at = now
        case.closed_by = by
        case.save(update_fields=["status", "closed_at", "closed_by"])
    elif case.status == CaseStatus.OPEN and not done.keep_open:
        # (A reprocessed case that carries on keeps its status: in progress with nobody holding it means
        # escalated, which a bulk reprocess of unclaimed cases must not make them.)
        case.status = CaseStatus.IN_PROGRESS
        case.save(update_fields=["status"])
    steps = done.trace.steps if done.trace else []
    tx = case.transaction
    if tx is not None and done.tx_status:
        tx.refresh_from_db()
        state.move(
            tx,
            done.tx_status,
            outcome=f"{done.summary} (by {by.get_username()})",
            rule_trace=[*tx.rule_trace, *[{**s, "by": by.get_username()} for s in steps]],
        )
    applied = done.applied or Applied()
    full = {**(done.detail or {}), "summary": done.summary, "steps": steps}
    record_event(case, action=action, user=by, reason_code=reason_code, note=note, detail=full)
    audit.record(
        by,
        f"case_{action}",
        case=case,
        nhs_number=done.nhs_number or case.nhs_number,
        detail={"kind": case.kind, "reason_code": reason_code, "summary": done.summary},
    )
    if done.follow_up is not None:
        open_case(done.follow_up)
    return Resolution(case=case, action=action, summary=done.summary, sent=applied.types, replies=applied.sent)


def _resolution(body: Callable[..., _Done]) -> Callable[..., Resolution]:
    """Make an action's service from its body: check and lock (_begin), do the action's own work (the
    body, named after the action's code), then finish (_finish), all in one database transaction."""
    code = body.__name__

    @functools.wraps(body)
    def service(case: ExceptionCase, *, by, reason_code: str, note: str = "", **inputs) -> Resolution:
        with transaction.atomic():
            locked = _begin(case, code, by, reason_code)
            done = body(locked, by=by, reason_code=reason_code, **inputs)
            return _finish(locked, code, by=by, reason_code=reason_code, note=note, done=done)

    # The service takes the body's inputs plus the note every action takes; the action form builds its
    # keyword arguments from this signature's names (tests/processing/test_kinds.py checks them).
    own = inspect.signature(body)
    note_param = inspect.Parameter("note", inspect.Parameter.KEYWORD_ONLY, default="", annotation=str)
    service.__signature__ = own.replace(parameters=[*own.parameters.values(), note_param], return_annotation=Resolution)
    return service


def _patient(nhs_number: str) -> PatientRecord:
    """The PDS record for a number (following a superseded one), through the gateway."""
    if nhs_number:
        try:
            return get_gateway().get(nhs_number)
        except PatientNotFound:
            pass
    raise InvalidInput("PDS has no record with that NHS number")


def _approve(tx, **kwargs) -> Applied:
    try:
        return approve_acceptance(tx, **kwargs)
    except NoLink as exc:
        raise InvalidInput(f"{exc}: fix reference data first") from exc


def _text(action: str, reason_code: str, text: str | None) -> str:
    words = gp_links_text(text or (ACTIONS[action].texts or {}).get(reason_code, ""))
    if not words:
        raise InvalidInput("say why, in words the practice will see")
    return words


# --- acting on the patient ---------------------------------------------------------------------------


@_resolution
def apply_with_patient(case: ExceptionCase, *, by, reason_code: str, nhs_number: str) -> _Done:
    """Do what the transaction asked for, on the PDS record the person chose."""
    tx = case.transaction
    patient = _patient(nhs_number)
    if patient.death_date:
        raise InvalidInput("PDS records this patient as deceased: correct PDS first, or reject")
    trace = Trace()
    trace.add("person", "chose a patient", f"{by.get_username()} chose PDS record {patient.nhs_number}.")
    if tx.type == "G1":
        gp = gp_for(tx)
        if gp is None:
            raise InvalidInput("the GP code is not in reference data: fix it, then reprocess")
        applied = _approve(
            tx,
            patient=patient,
            gp=gp,
            trace=trace,
            by=by.get_username(),
            user=by,
            supplied_number=patient.nhs_number != tx.parsed.nhs_number,
        )
    elif tx.type == "G2":
        applied = _apply_amendment(tx, patient, by, trace)
    else:  # G5
        applied = _deduct_as_requested(tx, patient, by, trace, reason=tx.parsed.deduction_reason or None)
    return _Done(
        applied.summary,
        detail={"nhs_number": patient.nhs_number},
        tx_status=TxStatus.DONE,
        trace=trace,
        nhs_number=patient.nhs_number,
        applied=applied,
    )


@_resolution
def allocate_and_apply(case: ExceptionCase, *, by, reason_code: str) -> _Done:
    """Create a PDS record with a newly allocated NHS number from the acceptance, then apply it."""
    tx = case.transaction
    sent = tx.parsed
    gp = gp_for(tx)
    if gp is None:
        raise InvalidInput("the GP code is not in reference data: fix it, then reprocess")
    if not isinstance(sent.birth_date, dt.date):
        raise InvalidInput("the acceptance has no date of birth: a new record needs one")
    forenames = [f for f in (sent.forenames or []) if f]
    address = address_dict(sent.address) if sent.address else {}
    try:
        patient = get_gateway().create_patient(
            family=sent.surname or "",
            given=forenames,
            gender=sent.sex or "0",
            birth_date=sent.birth_date,
            prefix=sent.title or "",
            place_of_birth=sent.place_of_birth or "",
            address=address or None,
            by=by.get_username(),
            reason=f"case {case.pk}: new NHS number for transaction {tx.pk}",
            user=by,
        )
    except PdsError as exc:
        raise InvalidInput(f"PDS refused the new record: {exc}") from exc
    trace = Trace()
    trace.add("NHS number", "allocated", f"{by.get_username()} allocated {patient.nhs_number} in a new PDS record.")
    applied = _approve(tx, patient=patient, gp=gp, trace=trace, by=by.get_username(), user=by, supplied_number=True)
    return _Done(
        applied.summary,
        detail={"nhs_number": patient.nhs_number},
        tx_status=TxStatus.DONE,
        trace=trace,
        nhs_number=patient.nhs_number,
        applied=applied,
    )


@_resolution
def keep_pds_and_close(case: ExceptionCase, *, by, reason_code: str) -> _Done:
    return _Done(
        "Closed: PDS kept as it is, nothing sent",
        tx_status=TxStatus.DONE if case.transaction else None,
    )


@_resolution
def reject_to_practice(case: ExceptionCase, *, by, reason_code: str, text: str | None = None) -> _Done:
    """Refuse the transaction and tell the practice why: F3 for an acceptance, F11 for a deduction request."""
    tx = case.transaction
    words = _text("reject_to_practice", reason_code, text)
    trace = Trace()
    no_link = "there is no GP Links link to this practice to send the rejection on"
    try:
        if tx.type == "G1":
            gp = gp_for(tx)
            link = tx.message.interchange.link
            practice = gp.practice if gp else (link.practice if link else None)
            if practice is None:
                raise InvalidInput(no_link)
            if refusal_sends_f3(reason_code):
                words = gp_links_text(wrong_ha_words(words)) if reason_code == WRONG_HA else words
                applied = reject_acceptance(tx, practice=practice, text=words, trace=trace)
                summary = f"Rejected to the practice (F3): {words}"
            else:
                trace.add(
                    "reply",
                    "nothing over GP Links",
                    "An F3 tells a GP system only 'wrong HA' (it re-sends with code R), so this refusal sends "
                    "nothing over GP Links: PCSE tells the practice directly (ADR 0014).",
                )
                applied = Applied()
                summary = f"Refused; nothing sent over GP Links (F3 is only for a wrong HA): {words}"
        else:
            applied = reject_deduction_request(tx, text=words, trace=trace)
            summary = f"Deduction request refused (F11): {words}"
    except NoLink as exc:
        raise InvalidInput(no_link) from exc
    return _Done(summary, detail={"text": words}, tx_status=TxStatus.REJECTED, trace=trace, applied=applied)


# --- removals and deductions -------------------------------------------------------------------------


def _check_reason(code: str) -> str:
    if code not in DEDUCTION_REASONS:
        raise InvalidInput(f"{code!r} is not a GP Links deduction reason")
    return code


def _deduct_as_requested(
    tx, patient, by, trace: Trace, *, reason: str, on: dt.date | None = None, case_id: int | None = None
) -> Applied:
    gp = gp_for(tx)
    if gp is None:
        raise InvalidInput("the GP code is not in reference data: fix it, then reprocess")
    asked = tx.parsed.deduction_date
    on = on or (asked if isinstance(asked, dt.date) else None)
    on = on or timezone.localdate()
    if on > timezone.localdate():
        # A deduction is never sent ahead of its date: it waits, visible, until then (#12).
        return hold_deduction(
            patient,
            practice=gp.practice,
            reason=_check_reason(reason),
            due_on=on,
            trace=trace,
            caused_by=tx,
            case_id=case_id,
            by=by.get_username(),
            gp=gp,
            wire_number=tx.nhs_number or None,
        )
    applied = deduct(
        patient,
        practice=gp.practice,
        reason=_check_reason(reason),
        on=on,
        caused_by=tx,
        trace=trace,
        by=by.get_username(),
        user=by,
        gp=gp,
        wire_number=tx.nhs_number or None,
    )
    sent = f"F2 reason {reason} sent to {gp.practice.ods_code}" if applied.sent else "no F2 (practice not on PCRM)"
    return Applied(f"Deducted from {gp.practice.ods_code} from {on}; {sent}", applied.sent)


@_resolution
def approve_removal(
    case: ExceptionCase,
    *,
    by,
    reason_code: str,
    deduction_reason: str | None = None,
    effective: dt.date | None = None,
) -> _Done:
    """Remove an out-of-area patient (reason from settings unless the person chooses another): after the
    notice period (a held deduction, cancelled if they register elsewhere), at once when the person
    says an immediate removal applies, or on the date the person gives."""
    tx = case.transaction
    patient = _patient(tx.nhs_number)
    trace = Trace()
    if effective is None and reason_code != "IMMEDIATE":
        effective = removal_due_on(timezone.localdate())
        trace.add(
            "removal",
            "notice period",
            f"PCSE gives out-of-area patients {settings.REMOVAL_NOTICE_DAYS} days' notice: deducted on {effective} "
            "unless they register with another practice first.",
        )
    applied = _deduct_as_requested(
        tx,
        patient,
        by,
        trace,
        reason=deduction_reason or settings.REMOVAL_DEDUCTION_REASON,
        on=effective or timezone.localdate(),
        case_id=case.pk,
    )
    return _Done(applied.summary, tx_status=TxStatus.DONE, trace=trace, nhs_number=patient.nhs_number, applied=applied)


@_resolution
def refuse_removal(case: ExceptionCase, *, by, reason_code: str) -> _Done:
    return _Done("Removal refused; the patient stays on the list", tx_status=TxStatus.REJECTED)


@_resolution
def approve_deduction(
    case: ExceptionCase,
    *,
    by,
    reason_code: str,
    deduction_reason: str | None = None,
    effective: dt.date | None = None,
) -> _Done:
    """Deduct as the practice asked (F2), with its reason and date unless the person corrects them."""
    tx = case.transaction
    patient = _patient(tx.nhs_number)
    trace = Trace()
    applied = _deduct_as_requested(
        tx,
        patient,
        by,
        trace,
        reason=deduction_reason or tx.parsed.deduction_reason or None,
        on=effective,
        case_id=case.pk,
    )
    return _Done(applied.summary, tx_status=TxStatus.DONE, trace=trace, nhs_number=patient.nhs_number, applied=applied)


@_resolution
def refuse_deduction(case: ExceptionCase, *, by, reason_code: str, text: str | None = None) -> _Done:
    """Tell the practice its deduction request is refused (F11 with the reason)."""
    tx = case.transaction
    words = _text("refuse_deduction", reason_code, text)
    trace = Trace()
    try:
        applied = reject_deduction_request(tx, text=words, trace=trace)
    except NoLink as exc:
        raise InvalidInput("there is no GP Links link to this practice to send the refusal on") from exc
    return _Done(
        f"Deduction request refused (F11): {words}",
        detail={"text": words},
        tx_status=TxStatus.REJECTED,
        trace=trace,
        applied=applied,
    )


# --- amendments ----------------------------------------------------------------------------------------


def _apply_changes(patient: PatientRecord, changes: list[dict], *, by, reason: str) -> PatientRecord:
    """Put accepted name/birth/sex changes into PDS through the gateway; returns the record after them."""
    by_item = {c["item"]: c["requested"] for c in changes}
    today = timezone.localdate()
    gateway = get_gateway()
    who = {"by": by.get_username(), "reason": reason, "user": by}
    try:
        if {"surname", "forenames", "title"} & set(by_item):
            name = patient.usual_name
            given = by_item.get("forenames", list(name.given) if name else [])
            patient = gateway.change_name(
                patient.nhs_number,
                family=by_item.get("surname") or (name.family if name else ""),
                given=given or [],
                prefix=by_item.get("title") or ("" if "title" in by_item else (name.prefix if name else "")),
                start=today,
                expected_version=patient.version,
                **who,
            )
        if by_item.get("previous_surname"):
            patient = gateway.change_name(
                patient.nhs_number,
                family=by_item["previous_surname"],
                given=[],
                use="old",
                start=today,
                expected_version=patient.version,
                **who,
            )
        birth = dt.date.fromisoformat(by_item["birth_date"]) if "birth_date" in by_item else None
        if birth is not None or "sex" in by_item:
            patient = gateway.update_demographics(
                patient.nhs_number,
                expected_version=patient.version,
                birth_date=birth,
                gender=by_item.get("sex"),
                **who,
            )
    except InvalidChange as exc:
        raise InvalidInput(f"PDS refused the change: {exc}") from exc
    return patient


def _apply_amendment(tx, patient, by, trace: Trace) -> Applied:
    done = []
    if tx.parsed.address:
        address = proposed_address(tx.parsed, patient)
        problem = address_problem(address)
        if problem:
            raise InvalidInput(f"the address cannot go to PDS: {problem}")
        patient = change_address(
            patient, address, reason=f"transaction {tx.pk}", trace=trace, by=by.get_username(), user=by
        )
        done.append("address")
    changes = requested_changes(tx.parsed, patient)
    if changes:
        _apply_changes(patient, changes, by=by, reason=f"transaction {tx.pk}")
        done.extend(c["label"] for c in changes)
        trace.add("PDS update", "changed", f"{', '.join(c['label'] for c in changes)} changed as the practice asked.")
    return Applied(f"Amendment applied to PDS: {', '.join(done) or 'nothing to change'}")


@_resolution
def accept_change(case: ExceptionCase, *, by, reason_code: str) -> _Done:
    """Apply the practice's requested name, birth-date or sex change to PDS."""
    tx = case.transaction
    patient = _patient(case.nhs_number or tx.nhs_number)
    changes = requested_changes(tx.parsed, patient)
    if not changes:
        raise InvalidInput("PDS already holds what the practice asked for")
    patient = _apply_changes(patient, changes, by=by, reason=f"case {case.pk}: transaction {tx.pk}")
    trace = Trace()
    trace.add("PDS update", "changed", f"{', '.join(c['label'] for c in changes)} changed as the practice asked.")
    told = tell_practice_of_correction(patient, changes, trace=trace, caused_by=tx)
    return _Done(
        f"Change accepted: {', '.join(c['label'] for c in changes)} updated in PDS",
        detail={"changes": changes},
        tx_status=TxStatus.DONE,
        trace=trace,
        nhs_number=patient.nhs_number,
        applied=told,
    )


@_resolution
def refuse_change(case: ExceptionCase, *, by, reason_code: str) -> _Done:
    return _Done("Change refused; PDS kept as it is", tx_status=TxStatus.REJECTED)


@_resolution
def apply_corrected_address(case: ExceptionCase, *, by, reason_code: str, address: dict) -> _Done:
    """Put a corrected address into PDS; any name/birth/sex items in the amendment become their own case."""
    tx = case.transaction
    patient = _patient(case.nhs_number or tx.nhs_number)
    values = {p: (address.get(p) or "").upper() for p in ADDRESS_PARTS}
    problem = address_problem(values)
    if problem:
        raise InvalidInput(f"the corrected address still cannot go to PDS: {problem}")
    trace = Trace()
    try:
        patient = change_address(patient, values, reason=f"case {case.pk}", trace=trace, by=by.get_username(), user=by)
    except InvalidChange as exc:
        raise InvalidInput(f"PDS refused the address: {exc}") from exc
    done = _Done(
        "Corrected address applied to PDS",
        detail={"address": values},
        tx_status=TxStatus.DONE,
        trace=trace,
        nhs_number=patient.nhs_number,
    )
    changes = requested_changes(tx.parsed, patient)
    if changes:
        items = ", ".join(c["label"] for c in changes)
        done.summary += "; the requested name/birth/sex changes are a new case"
        done.tx_status = TxStatus.MANUAL
        done.follow_up = CaseRequest(
            kind=CaseKind.DEMOGRAPHIC_CHANGE,
            summary=f"GP asks to change {items} (address already updated)",
            transaction_id=tx.pk,
            interchange_id=case.interchange_id,
            nhs_number=patient.nhs_number,
            practice_ods=case.practice_ods,
            ha_cipher=case.ha_cipher,
            evidence={**case.evidence, "requested_changes": changes},
            rule_trace=[
                *case.rule_trace,
                {
                    "check": "demographic items",
                    "result": items,
                    "why": "PDS is the master: a person accepts or refuses these.",
                },
            ],
        )
    return done


# --- FP69 ---------------------------------------------------------------------------------------------


@_resolution
def remove_fp69_flag(case: ExceptionCase, *, by, reason_code: str, address: dict | None = None) -> _Done:
    """The practice confirmed or corrected the address: apply a new address if there is one, then F10."""
    tx = case.transaction
    patient = _patient(case.nhs_number or tx.nhs_number)
    trace = Trace()
    # Without a transaction the case is an FP69 expiry PCRM stopped for review (#12): no address sent.
    new = address or (proposed_address(tx.parsed, patient) if tx is not None and tx.parsed.address else None)
    if new:
        values = {p: (new.get(p) or "").upper() for p in ADDRESS_PARTS}
        problem = address_problem(values)
        if problem:
            raise InvalidInput(f"the address cannot go to PDS: {problem}")
        patient = change_address(patient, values, reason=f"case {case.pk}", trace=trace, by=by.get_username(), user=by)
    try:
        flag = fp69.remove_flag(patient.nhs_number, by=by.get_username(), caused_by=tx)
    except fp69.FP69Error as exc:
        raise InvalidInput(str(exc)) from exc
    trace.add("FP69 notice", "F10 flag removal queued", "The practice is told the flag is removed.")
    summary = "FP69 flag removed (F10 sent)" + ("; address updated in PDS" if new else "")
    return _Done(
        summary,
        tx_status=TxStatus.DONE,
        trace=trace,
        nhs_number=patient.nhs_number,
        applied=Applied(sent=(Sent.of(flag.closing),)),
    )


@_resolution
def let_fp69_run(case: ExceptionCase, *, by, reason_code: str) -> _Done:
    flag = FP69Flag.objects.filter(nhs_number=case.nhs_number, status="OPEN").first()
    until = f" until {flag.expires_on}" if flag else ""
    return _Done(f"FP69 notice left to run{until}", tx_status=TxStatus.DONE)


def mark_returned_mail(
    nhs_number: str,
    *,
    by,
    reason_code: str = "RETURNED_MAIL",
    note: str = "",
    fp69_reason: str | None = None,
    free_text: str = "",
) -> FP69Flag:
    """Mail to the patient came back: set an FP69 flag and send the practice the F9 (audited)."""
    if by is None or not by.has_perm(Perm.RESOLVE_CASE):
        raise NotPermitted("your role cannot set FP69 flags")
    with transaction.atomic():
        try:
            flag = fp69.mark_returned_mail(
                nhs_number, by=by.get_username(), reason_code=fp69_reason, note=note, free_text=free_text, user=by
            )
        except fp69.FP69Error as exc:
            raise InvalidInput(str(exc)) from exc
        audit.record(
            by,
            "fp69_set",
            nhs_number=flag.nhs_number,
            object_type="fp69",
            object_id=flag.pk,
            detail={"reason_code": reason_code, "expires_on": flag.expires_on.isoformat(), "note": note},
        )
    return flag


# --- operations ---------------------------------------------------------------------------------------


@_resolution
def reprocess(case: ExceptionCase, *, by, reason_code: str) -> _Done:
    """Run processing again now that the cause is fixed. If the transaction (or for a case about a whole
    interchange, the interchange) still needs a person, this
    case carries on with the new result (kind, summary, evidence, rule trace) and keeps its assignee,
    notes and SLA clock: one case per transaction, never a closed one and a fresh one in the queue."""
    tx = case.transaction
    kind_before = case.kind
    # A transaction, or an interchange, that fails again carries on this case (exceptions.services.cases).
    with continuing(case) as continuation:
        summary, detail = _reprocess_interchange(case) if tx is None else _reprocess_transaction(tx)
    if continuation.carried_on:
        summary = f"Reprocessed: still needs a person: {case.summary}"
        detail["kind_before"] = kind_before
    return _Done(summary, detail=detail, keep_open=continuation.carried_on)


def _reprocess_transaction(tx: Tx) -> tuple[str, dict]:
    if tx.status not in (TxStatus.MANUAL, TxStatus.DEAD):
        raise ActionNotAllowed(f"the transaction is already {tx.get_status_display().lower()}")
    processing.reprocess(tx.pk)
    result = processing.process_transaction(tx.pk)
    tx.refresh_from_db()
    return f"Reprocessed: {tx.get_status_display().lower()}; {tx.outcome}", {"transaction_status": result.status}


def _reprocess_interchange(case: ExceptionCase) -> tuple[str, dict]:
    ic = Interchange.objects.select_for_update().filter(pk=case.interchange_id).first()
    if ic is None:
        raise ActionNotAllowed("this case has no transaction or interchange to reprocess")
    if ic.status in (InterchangeStatus.INVALID, InterchangeStatus.HELD, InterchangeStatus.QUARANTINED):
        held = ic.status == InterchangeStatus.HELD
        ic.status = InterchangeStatus.RECEIVED
        ic.error = ""
        ic.ingest_attempts = 0
        ic.save(update_fields=["status", "error", "ingest_attempts"])
        result = inbound.ingest_interchange(ic.pk)
        if held and result.status == InterchangeStatus.HELD:
            # Still not authenticated: undo (this function runs in the action's transaction) and say why.
            ic.refresh_from_db()
            raise InvalidInput(f"the partner is still not authenticated: {ic.error}")
        for tx_id in result.new_transaction_ids:
            processing.process_transaction(tx_id)
        return (
            f"Interchange read again: {result.status.lower()}, {len(result.new_transaction_ids)} transactions",
            {"interchange_status": result.status, "transactions": result.new_transaction_ids},
        )
    if ic.link_id is None and ic.direction == "in":
        link = (
            Link.objects.select_related("practice", "ha")
            .filter(practice__link_code=ic.sender, ha__link_code=ic.recipient)
            .first()
        )
        if link is None:
            raise InvalidInput(f"there is still no link between {ic.sender} and {ic.recipient} in reference data")
        ic.link = link
        ic.save(update_fields=["link"])
        OutboxItem.objects.get_or_create(
            kind=OutboxKind.RECEP,
            in_reply_to=ic,
            defaults={"link": link, "mesh_recipient": link.practice.mesh_mailbox, "ha_cipher": link.ha.cipher},
        )
        return f"Linked to {link}; RECEP queued", {"link": link.pk}
    raise ActionNotAllowed("nothing to reprocess: the interchange was read and is linked")


@_resolution
def close_no_action(case: ExceptionCase, *, by, reason_code: str) -> _Done:
    tx = case.transaction
    return _Done(
        "Closed with no action",
        tx_status=TxStatus.DONE if tx is not None and tx.status == TxStatus.MANUAL else None,
    )


@_resolution
def escalate(case: ExceptionCase, *, by, reason_code: str, to=None) -> _Done:
    """Pass the case up: to a named colleague, or unassigned for a team leader to pick up. It stays open."""
    case.assigned_to = to
    case.save(update_fields=["assigned_to"])
    who = to.get_username() if to is not None else "the team leaders"
    return _Done(f"Escalated to {who}", detail={"to": to.pk if to is not None else None})
