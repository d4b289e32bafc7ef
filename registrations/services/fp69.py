"""The FP69 cycle: returned mail -> F9 notice with an expiry -> F10 (cleared) or F2 at expiry.

PCRM sets a flag when mail to the patient comes back undelivered and tells the practice (F9) when it
will deduct the patient unless the address is confirmed or corrected (6 months by default). An
address confirmation or change clears the flag (F10); a flag still open at expiry becomes a
deduction (F2, reason from settings: the sources disagree between 13 and 14).
"""

import calendar
import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pds.errors import InvalidNhsNumber, PatientNotFound
from pds.gateway import get_gateway

from ..gplinks import Address
from ..models import FP69Flag, FP69Status, Practice
from ..ports import CaseKind, CaseRequest, open_case
from ..rules.base import Trace
from ..rules.evidence import address_dict, pds_snapshot, practice_summary
from ..selectors import at_practices_pcrm_serves, home_link, registered_gp, served_by_pcrm
from .apply import SYSTEM, deduct, gp_links_text
from .ordering import lock_nhs_number
from .outbound import outbound
from .outbox import queue_transaction


class FP69Error(Exception):
    """An FP69 action that cannot be done, with the reason in words a person can act on."""


class NotRegistered(FP69Error):
    pass


class AlreadyFlagged(FP69Error):
    pass


class NoOpenFlag(FP69Error):
    pass


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it has no such day (31 Aug + 6 = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@transaction.atomic
def mark_returned_mail(
    nhs_number: str,
    *,
    by: str,
    reason_code: str | None = None,
    note: str = "",
    free_text: str = "",
    on: dt.date | None = None,
    user=None,
) -> FP69Flag:
    """Flag the patient's registration and send the practice an F9 with the expiry date."""
    try:
        patient = get_gateway().get(nhs_number)
    except (PatientNotFound, InvalidNhsNumber) as exc:
        raise NotRegistered("PDS has no record with that NHS number") from exc
    if patient.death_date:
        raise NotRegistered("PDS records the patient as deceased: deduct them instead")
    current = patient.gp_practice
    practice = Practice.objects.select_related("ha").filter(ods_code=current).first() if current else None
    if practice is None or home_link(practice) is None or not served_by_pcrm(practice):
        raise NotRegistered("the patient is not registered with a practice PCRM serves over GP Links")
    if FP69Flag.objects.select_for_update().filter(nhs_number=patient.nhs_number, status=FP69Status.OPEN).exists():
        raise AlreadyFlagged("the patient already has an open FP69 notice")
    on = on or timezone.localdate()
    expires = add_months(on, settings.FP69_EXPIRY_MONTHS)
    reason = reason_code or settings.FP69_DEFAULT_REASON
    gp = registered_gp(patient.nhs_number, practice)
    name = patient.usual_name
    f9 = outbound(
        "F9",
        gp_code=gp.gp_code if gp else "",
        fp69_reason=reason,
        fp69_expiry=expires,
        nhs_number=patient.nhs_number,
        surname=name.family if name else "",
        forenames=list(name.given[:3]) if name else [],
        birth_date=patient.birth_date or None,
    )
    if name and name.prefix:
        f9.title = name.prefix
    if free_text:
        f9.free_text = gp_links_text(free_text)
    address = patient.current_address
    if address is not None and address.post_town and not patient.sensitive:
        f9.address = Address(**address_dict(address))
    notice = queue_transaction(link=home_link(practice), send=f9)
    return FP69Flag.objects.create(
        nhs_number=patient.nhs_number,
        practice=practice,
        gp=gp,
        reason=reason,
        set_on=on,
        expires_on=expires,
        set_by=by,
        note=note,
        notice=notice,
    )


@transaction.atomic
def remove_flag(nhs_number: str, *, by: str, caused_by=None, on: dt.date | None = None) -> FP69Flag:
    """The address is confirmed or corrected: clear the flag and tell the practice (F10)."""
    flag = (
        FP69Flag.objects.select_for_update()
        .filter(nhs_number=nhs_number, status__in=(FP69Status.OPEN, FP69Status.REVIEW))
        .order_by("-id")
        .first()
    )
    if flag is None:
        raise NoOpenFlag("the patient has no open FP69 notice")
    link = home_link(flag.practice)
    gp = flag.gp or registered_gp(nhs_number, flag.practice)
    flag.closing = queue_transaction(
        link=link, send=outbound("F10", gp_code=gp.gp_code if gp else "", nhs_number=nhs_number), caused_by=caused_by
    )
    flag.status = FP69Status.REMOVED
    flag.closed_on = on or timezone.localdate()
    flag.closed_by = by
    flag.save(update_fields=["closing", "status", "closed_on", "closed_by", "updated_at"])
    return flag


def _doubt_at_expiry(flag: FP69Flag, patient) -> str:
    """Why deducting at expiry would be wrong now ('' when it would not): PDS learned something since the
    notice that makes the returned mail no reason to remove the patient."""
    if patient.death_date:
        return f"PDS records a death on {patient.death_date}: a death is deducted with its own reason"
    if patient.sensitive:
        return "the record is now restricted (S flag): its address cannot be checked with the practice"
    address = patient.current_address
    if address is not None and address.start is not None and address.start > flag.set_on:
        return f"PDS has a new address from {address.start}, after the notice of {flag.set_on}"
    sent = flag.notice.outbound.address if flag.notice_id else None
    if (
        sent
        and address is not None
        and {k: (v or "").upper() for k, v in address_dict(address).items()}
        != {k: (v or "").upper() for k, v in address_dict(sent).items()}
    ):
        return "the address in PDS is not the one the notice was about"
    return ""


def _review(flag: FP69Flag, patient, doubt: str, trace: Trace) -> None:
    """The expiry becomes a case: the flag waits for a person (F10, or closing it) instead of deducting."""
    flag.status = FP69Status.REVIEW
    trace.add("FP69 notice", "expired, not deducted", f"{doubt.capitalize()}: a person decides instead.")
    open_case(
        CaseRequest(
            kind=CaseKind.FP69_RESPONSE,
            summary="FP69 notice expired, but PDS changed since: check before deducting",
            nhs_number=patient.nhs_number,
            practice_ods=flag.practice.ods_code,
            ha_cipher=flag.practice.ha.cipher,
            evidence={
                "fp69": {
                    "reason": flag.reason,
                    "set_on": flag.set_on.isoformat(),
                    "expires_on": flag.expires_on.isoformat(),
                },
                "why": doubt,
                "pds": pds_snapshot(patient),
                "practice": practice_summary(flag.practice),
            },
            rule_trace=trace.steps,
        )
    )


def expire_due(*, today: dt.date, by: str = SYSTEM) -> list[int]:
    """Deduct every patient whose FP69 notice ran out with no answer. One transaction per flag."""
    flags = at_practices_pcrm_serves(FP69Flag.objects.filter(status=FP69Status.OPEN, expires_on__lte=today), today)
    due = list(flags.values_list("id", flat=True)[:1000])
    return [pk for pk in due if _expire_one(pk, today=today, by=by)]


@transaction.atomic
def _expire_one(pk: int, *, today: dt.date, by: str) -> bool:
    flag = (
        FP69Flag.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("practice__ha", "gp")
        .filter(pk=pk, status=FP69Status.OPEN)
        .first()
    )
    if flag is None:
        return False
    lock_nhs_number(flag.nhs_number)
    trace = Trace()
    try:
        patient = get_gateway().get(flag.nhs_number)
    except PatientNotFound:
        patient = None
    doubt = _doubt_at_expiry(flag, patient) if patient is not None else ""
    if patient is None:
        flag.status = FP69Status.SUPERSEDED
    elif doubt:
        _review(flag, patient, doubt, trace)
    else:
        trace.add("FP69 notice", "expired", "No reply, no death, no restriction and no new address since the notice.")
        deducted = deduct(
            patient,
            practice=flag.practice,
            reason=settings.FP69_EXPIRY_DEDUCTION_REASON,
            on=flag.expires_on,
            trace=trace,
            by=by,
            gp=flag.gp,
        )
        flag.closing_id = deducted.sent[0].outbox_item_id if deducted.sent else None
        flag.status = FP69Status.EXPIRED
    flag.closed_on = today
    flag.closed_by = by
    flag.save(update_fields=["closing", "status", "closed_on", "closed_by", "updated_at"])
    return True
