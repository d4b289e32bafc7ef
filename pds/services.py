"""Writes to the demographic master. Each one bumps the version and refuses a stale one.

Callers name who is acting (`by`: a user name or a system component) and why (`reason`: a
transaction or case reference), so every change can be explained later.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from .models import GPPeriod, Patient, PatientAddress, SupersededNumber


class PdsError(Exception):
    """Base of the errors PDS services raise on purpose."""


class PatientNotFound(PdsError):
    pass


class VersionConflict(PdsError):
    """The caller's version is not the record's current one: it must re-read and decide again."""


@dataclass(frozen=True)
class Lookup:
    patient: Patient
    superseded_from: str | None = None  # the number asked for, when it was merged into this record


def get_patient(nhs_number: str) -> Lookup:
    """Find a record by NHS number, following a superseded number to the retained record."""
    related = ("names", "addresses", "gp_periods")
    patient = Patient.objects.prefetch_related(*related).filter(nhs_number=nhs_number).first()
    if patient:
        return Lookup(patient)
    superseded = SupersededNumber.objects.filter(nhs_number=nhs_number).first()
    if superseded:
        return Lookup(Patient.objects.prefetch_related(*related).get(pk=superseded.patient_id), nhs_number)
    raise PatientNotFound(nhs_number)


def _bump(patient: Patient, expected_version: int | None) -> None:
    """Increase the version only if it is still the one the caller read (compare-and-set)."""
    qs = Patient.objects.filter(pk=patient.pk)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if qs.update(version=F("version") + 1) != 1:
        raise VersionConflict(f"patient {patient.pk} is no longer at version {expected_version}")
    patient.refresh_from_db(fields=["version", "updated_at"])


@transaction.atomic
def register_with_practice(
    patient: Patient, *, practice_ods: str, start: dt.date, expected_version: int | None, by: str, reason: str
) -> GPPeriod | None:
    """Open a registered-GP period at `practice_ods` from `start`, closing the current one.

    Returns the period that was closed (the previous practice), if there was one.
    """
    _bump(patient, expected_version)
    current = GPPeriod.objects.select_for_update().filter(patient=patient, end__isnull=True).first()
    if current:
        # A period cannot end before it began; a back-dated acceptance closes the old one on its start.
        current.end = max(start, current.start)
        current.save(update_fields=["end"])
    GPPeriod.objects.create(patient=patient, practice_ods=practice_ods, start=start)
    return current


@transaction.atomic
def change_address(
    patient: Patient, *, address: dict[str, str], start: dt.date, expected_version: int | None, by: str, reason: str
) -> PatientAddress:
    _bump(patient, expected_version)
    PatientAddress.objects.filter(patient=patient, end__isnull=True).update(end=start)
    return PatientAddress.objects.create(patient=patient, start=start, **address)
