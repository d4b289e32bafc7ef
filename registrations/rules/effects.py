"""The side effects of a decision, shared by the automatic rules and by people resolving cases.

Whoever decides (a rule, or an agent in the work queue), the same function updates PDS, writes the
registration history and queues the GP Links reply, so an approval made by a person is
indistinguishable on the wire from one made automatically. Callers run these inside their own
database transaction; nothing here commits on its own.
"""

import datetime as dt
import re

from django.utils import timezone

from pds.gateway import get_gateway

from ..models import GP, FP69Flag, FP69Status, Link, OutboxItem, Practice, Registration, Transaction
from ..services.outbox import queue_transaction
from .base import Trace
from .evidence import record_of

SYSTEM = "pcrm-processing"
FREE_TEXT_MAX = 70
_NOT_APPENDIX_K = re.compile(r"""[^A-Z0-9 .,\-()/=!"%&*;<>'+:?]""")


def gp_links_text(text: str) -> str:
    """Free text as GP Links can carry it: upper case, one line, Appendix K characters, bounded."""
    flat = " ".join(text.upper().split())
    return _NOT_APPENDIX_K.sub("", flat)[:FREE_TEXT_MAX].strip()


def served_by_pcrm(practice: Practice) -> bool:
    return practice.ha.is_served_by_pcrm(timezone.localdate())


def home_link(practice: Practice) -> Link | None:
    return Link.objects.select_related("practice", "ha").filter(practice=practice, ha=practice.ha, active=True).first()


def reply_link(tx: Transaction, practice: Practice) -> Link | None:
    """Answer on the link the transaction came in on, so the reply comes from the HA it was sent to.

    None when there is no link PCRM may use: sending on a link an HA still runs on NHAIS would break
    that HA's sequence numbers.
    """
    link = tx.message.interchange.link
    if link is not None and link.practice_id == practice.pk:
        link = Link.objects.select_related("practice", "ha").get(pk=link.pk)
    else:
        link = home_link(practice)
    if link is None or not link.active or not link.ha.is_served_by_pcrm(timezone.localdate()):
        return None
    return link


class NoLink(Exception):
    """There is no GP Links link PCRM may answer the practice on."""


def gp_for(tx: Transaction) -> GP | None:
    national, _, local = (tx.data.get("gp_code") or "").partition(",")
    return GP.objects.select_related("practice__ha").filter(national_code=national, local_code=local).first()


def accepted_on(tx: Transaction) -> dt.date:
    value = tx.data.get("acceptance_date")
    return dt.date.fromisoformat(value) if value else timezone.localdate()


# --- acceptance ------------------------------------------------------------------------------------


def approve_acceptance(
    tx: Transaction, *, patient, gp: GP, trace: Trace, by: str = SYSTEM, user=None, supplied_number: bool = False
) -> str:
    """Register the patient with the accepting practice and answer: F4 to it, F2 to the one they left.

    `supplied_number` says PCRM found or corrected the NHS number, so the F4 carries it back.
    Returns a one-line summary of what was done. `patient` is the record the decision was made on
    (a PatientRecord, or a local Patient from a person's resolution): PDS is changed through the
    gateway at that record's version, so a change made meanwhile is a VersionConflict.
    """
    patient = record_of(patient)
    practice = gp.practice
    data = tx.data
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
        acceptance_code=data.get("acceptance_code") or "",
        acceptance_type=data.get("acceptance_type") or "",
        acceptance_date=on,
        transaction=tx,
    )
    # An earlier registration of the same person at the same practice (another GP, or another HA's
    # list) is superseded by this one; at another practice it is closed by the deduction below.
    Registration.objects.filter(nhs_number=patient.nhs_number, practice=practice, deducted_on__isnull=True).exclude(
        transaction=tx
    ).update(deducted_on=on)

    link = reply_link(tx, practice)
    if link is None:
        raise NoLink(f"{practice.ods_code} has no GP Links link to PCRM to send the approval on")
    approval = {"gp_code": data.get("gp_code") or gp.gp_code}
    if supplied_number or data.get("nhs_number") != patient.nhs_number:
        approval["nhs_number"] = patient.nhs_number
    queue_transaction(link=link, tx_type="F4", quoted_tn=tx.tn, caused_by=tx, payload=approval)
    with_number = " with the NHS number PCRM supplied" if "nhs_number" in approval else ""
    trace.add("reply", "F4 approval queued", f"Approval quoting the GP's TN {tx.tn}{with_number}.")

    summary = f"Registered with {practice.ods_code}; F4 approval sent"
    if previous_ods and previous_ods != practice.ods_code:
        old = Practice.objects.select_related("ha").filter(ods_code=previous_ods).first()
        if old is None:
            trace.add("previous practice", "not a GP Links partner", f"{previous_ods} gets no deduction over GP Links.")
        else:
            new_ha = practice.ha.cipher if old.ha_id != practice.ha_id else None
            deduction_reason = "2" if new_ha else "3"
            item = deduct(
                patient,
                practice=old,
                reason=deduction_reason,
                on=on,
                caused_by=tx,
                trace=trace,
                by=by,
                user=user,
                new_ha=new_ha,
                end_pds=False,
            )
            if item is not None:
                summary += f"; F2 deduction sent to {old.ods_code}"
    return summary


def reject_acceptance(tx: Transaction, *, practice: Practice, text: str, trace: Trace) -> OutboxItem | None:
    """F3 to the GP quoting its TN, with the reason in free text (always sent: GP systems need it)."""
    link = reply_link(tx, practice)
    if link is None:
        trace.add("reply", "no link", f"{practice.ods_code} has no active GP Links link to answer on.")
        return None
    words = gp_links_text(text)
    item = queue_transaction(
        link=link,
        tx_type="F3",
        quoted_tn=tx.tn,
        caused_by=tx,
        payload={"gp_code": tx.data.get("gp_code") or "", "free_text": words},
    )
    trace.add("reply", "F3 rejection queued", f"Rejection quoting the GP's TN {tx.tn}: {words}.")
    return item


# --- deductions ------------------------------------------------------------------------------------


def registered_gp(nhs_number: str, practice: Practice) -> GP | None:
    """The GP the patient was last accepted by at `practice`, else the practice's first active GP."""
    reg = (
        Registration.objects.filter(nhs_number=nhs_number, practice=practice, gp__isnull=False)
        .select_related("gp")
        .order_by("-acceptance_date", "-id")
        .first()
    )
    if reg:
        return reg.gp
    return practice.gps.filter(active=True).order_by("id").first()


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
    gp: GP | None = None,
    end_pds: bool = True,
    wire_number: str | None = None,
) -> OutboxItem | None:
    """Remove the patient from `practice`'s list: F2 to it, registration history closed, PDS updated.

    `end_pds` is False when PDS has already moved the patient on (a registration elsewhere).
    `wire_number` is the NHS number the practice itself used (its G3/G5), so its system can match
    the F2 even when PDS re-keyed a superseded number; otherwise the F2 carries PDS's number.
    Returns the queued F2, or None when the practice cannot be told over GP Links.
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

    link = home_link(practice)
    if link is None or not served_by_pcrm(practice):
        trace.add(
            "deduction",
            "not sent",
            f"{practice.ods_code} is not linked to PCRM for GP Links (its HA is on NHAIS or has no link).",
        )
        return None
    gp = gp or registered_gp(patient.nhs_number, practice)
    payload = {
        "gp_code": gp.gp_code if gp else "",
        "deduction_reason": reason,
        "deduction_date": on.isoformat(),
        "nhs_number": wire_number or patient.nhs_number,
    }
    if new_ha:
        payload["new_ha"] = new_ha
    item = queue_transaction(link=link, tx_type="F2", caused_by=caused_by, payload=payload)
    why = {
        "1": "the patient has died",
        "2": f"the patient moved to another HA ({new_ha})",
        "3": "the patient moved to another practice in the same HA",
        "5": "the patient has emigrated",
    }.get(reason, f"deduction reason {reason}")
    trace.add("deduction", f"F2 reason {reason} queued", f"{practice.ods_code} is told: {why}, from {on}.")
    return item


def _close_fp69(nhs_number: str, practice: Practice, *, on: dt.date, by: str) -> None:
    """A deduction ends any FP69 notice at the practice: there is no list entry left to flag."""
    FP69Flag.objects.filter(nhs_number=nhs_number, practice=practice, status=FP69Status.OPEN).update(
        status=FP69Status.SUPERSEDED, closed_on=on, closed_by=by, updated_at=timezone.now()
    )


def reject_deduction_request(tx: Transaction, *, text: str, trace: Trace) -> OutboxItem | None:
    """F11 to the GP: its deduction request is refused, with the reason in free text."""
    gp = gp_for(tx)
    if gp is None:
        trace.add("reply", "no link", "The GP code is unknown, so there is no link to answer on.")
        return None
    link = reply_link(tx, gp.practice)
    if link is None:
        trace.add("reply", "no link", f"{gp.practice.ods_code} has no GP Links link to PCRM to answer on.")
        return None
    words = gp_links_text(text)
    item = queue_transaction(
        link=link,
        tx_type="F11",
        caused_by=tx,
        payload={"gp_code": tx.data.get("gp_code") or gp.gp_code, "free_text": words, "nhs_number": tx.nhs_number},
    )
    trace.add("reply", "F11 rejection queued", f"The GP is told the request is refused: {words}.")
    return item
