"""Deaths PDS learns of by any route (the General Register Office, a hospital, the NBO), acted on once.

PCSE removes a patient as soon as a death is notified: a formal death recorded in PDS becomes an F2
with reason 1 and the date of death to the practice the patient was registered with, and the
registration ends. An informal death (reported, not yet registered) is not enough to deduct on: it
opens a case for a person. Each is done once per patient and notification status (DeathNotice).

Where the deaths come from: `act_on_death` is the entry point for one patient (a notification feed
calls it); the beat job `sweep` asks PDS for deceased patients still registered with a practice
PCRM serves, or, when PDS cannot list them (the FHIR API), reads the patients PCRM registered.
"""

import datetime as dt
import logging

from django.db import IntegrityError, transaction

from pds.errors import PatientNotFound, PdsError
from pds.gateway import PatientRecord, get_gateway

from ..models import DeathNotice, HealthAuthority, Practice, Registration
from ..ports import CaseKind, CaseRequest, open_case
from ..rules.base import Trace
from ..rules.evidence import pds_snapshot, practice_summary, registration_history
from ..selectors import served_by_pcrm
from .apply import SYSTEM, deduct
from .ordering import lock_nhs_number

log = logging.getLogger(__name__)

BATCH = 500
FORMAL = "formal"


def served_practices(on: dt.date) -> list[str]:
    served = [ha.pk for ha in HealthAuthority.objects.filter(migrated=True) if ha.is_served_by_pcrm(on)]
    return list(Practice.objects.filter(ha__in=served).values_list("ods_code", flat=True))


def sweep(*, today: dt.date, by: str = SYSTEM) -> list[int]:
    """Act on every death not yet acted on for patients registered with a practice PCRM serves."""
    practices = served_practices(today)
    numbers = get_gateway().deceased_still_registered(practices, limit=BATCH)
    if numbers is None:
        numbers = list(
            Registration.objects.filter(practice__ods_code__in=practices, deducted_on__isnull=True)
            .values_list("nhs_number", flat=True)
            .distinct()
        )
    acted = []
    for number in numbers:
        try:
            notice = act_on_death(number, by=by)
        except PdsError as exc:
            # PDS refused or failed for this one (its whole change rolled back): the next sweep tries
            # again, and the others go ahead. No NHS number in the log.
            log.warning("death not acted on this sweep: %s", type(exc).__name__)
            continue
        if notice is not None:
            acted.append(notice.pk)
    return acted


def act_on_death(nhs_number: str, *, by: str = SYSTEM) -> DeathNotice | None:
    """Deduct (formal) or open a case (informal) for a deceased registered patient, once; None when
    there is nothing (more) to do."""
    try:
        with transaction.atomic():
            lock_nhs_number(nhs_number)  # processing about this patient finishes first, or waits
            return _notice(nhs_number, by=by)
    except IntegrityError:
        return None  # acted on already (this notification status), or by a sweep running alongside


def _notice(nhs_number: str, *, by: str) -> DeathNotice | None:
    try:
        patient = get_gateway().get(nhs_number)
    except PatientNotFound:
        return None
    if not patient.death_date or not patient.gp_practice:
        return None
    practice = Practice.objects.select_related("ha").filter(ods_code=patient.gp_practice).first()
    if practice is None or not served_by_pcrm(practice):
        return None  # a practice under an HA still on NHAIS: NHAIS deducts its own patients
    with transaction.atomic():
        notice = DeathNotice.objects.create(
            nhs_number=patient.nhs_number,
            death_date=patient.death_date,
            death_status=patient.death_status,
            practice=practice,
            outcome=DeathNotice.Outcome.CASE,
        )
        _act(notice, patient, practice, by=by)
    return notice


def _act(notice: DeathNotice, patient: PatientRecord, practice: Practice, *, by: str) -> None:
    trace = Trace()
    ods = practice.ods_code
    if patient.death_status == FORMAL:
        trace.add(
            "death in PDS",
            "formal",
            f"PDS records a formal death on {patient.death_date}: the patient is removed from {ods}'s list "
            "as soon as the death is notified, as PCSE does.",
        )
        applied = deduct(patient, practice=practice, reason="1", on=patient.death_date, trace=trace, by=by)
        notice.outcome = DeathNotice.Outcome.DEDUCTED if applied.sent else DeathNotice.Outcome.NOT_SENT
        notice.deduction_id = applied.sent[0].outbox_item_id if applied.sent else None
    else:
        trace.add(
            "death in PDS",
            patient.death_status or "informal",
            f"PDS has an informal death on {patient.death_date} (reported, not registered): a person checks it "
            f"before {ods} is told; a formal notification later deducts on its own.",
        )
        open_case(
            CaseRequest(
                kind=CaseKind.DECEASED,
                summary="Informal death in PDS for a registered patient",
                nhs_number=patient.nhs_number,
                practice_ods=ods,
                ha_cipher=practice.ha.cipher,
                evidence={
                    "pds": pds_snapshot(patient),
                    "practice": practice_summary(practice),
                    "registrations": registration_history(patient.nhs_number),
                },
                rule_trace=trace.steps,
            )
        )
    notice.rule_trace = trace.steps
    notice.save(update_fields=["outcome", "deduction", "rule_trace"])
