"""Writes to the demographic master. Each one bumps the version and refuses a stale one.

Callers name who is acting (`by`: a user name or a system component) and why (`reason`: a
transaction or case reference), so every change can be explained later: each service runs in one
database transaction inside a `pghistory.context` carrying that who and why, and the history
triggers tie every row they write to it (see pds/history.py for the timeline built from them).

`expected_version` is the version the caller read. A different current version is a
`VersionConflict`, never a silent overwrite; `None` means "whatever is there now" and is only for
callers that have just read the record inside the same transaction.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pghistory
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from core import nhs_number as nhs

from .errors import (  # noqa: F401  (PdsError is re-exported: callers import the errors from here)
    ForbiddenUpdate,
    InvalidChange,
    InvalidNhsNumber,
    PatientNotFound,
    PdsError,
    VersionConflict,
)
from .models import (
    DeathStatus,
    Gender,
    GPPeriod,
    Patient,
    PatientAddress,
    PatientName,
    PatientTelecom,
    SupersededNumber,
    normalise_postcode,
)

ADDRESS_FIELDS = ("house", "road", "locality", "post_town", "county", "postcode")
NHS_NUMBER_SEQUENCE = "pds_nhs_number_serial"


@contextmanager
def changing(action: str, *, by: str, reason: str, user=None) -> Iterator[None]:
    """One audited change: a database transaction whose history events all carry who, why and what."""
    if not by:
        raise ValueError("every change to PDS names who made it (`by`)")
    if not reason:
        raise ValueError("every change to PDS says why (`reason`)")
    metadata: dict[str, Any] = {"action": action, "by": by, "reason": reason}
    if user is not None and getattr(user, "pk", None):
        metadata.update(user_id=user.pk, username=user.get_username())
    try:
        with transaction.atomic(), pghistory.context(**metadata):
            yield
    except IntegrityError as exc:
        # A database rule (one usual name, one current address, one current GP) caught a change the
        # checks above it let through: the whole change is rolled back and reported as invalid.
        raise InvalidChange(f"the change breaks a rule of the record ({_constraint_name(exc)})") from exc


def _constraint_name(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or "integrity"


def _bump(patient: Patient, expected_version: int | None, **fields: Any) -> None:
    """Increase the version only if it is still the one the caller read (compare-and-set).

    `fields` are set in the same UPDATE, so a demographic change and its new version are one event.
    """
    qs = Patient.objects.filter(pk=patient.pk)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    now = timezone.now()
    if qs.update(version=F("version") + 1, updated_at=now, **fields) != 1:
        if not Patient.objects.filter(pk=patient.pk).exists():
            raise PatientNotFound("the record no longer exists (merged or removed)")
        raise VersionConflict(f"patient {patient.pk} is no longer at version {expected_version}")
    if expected_version is None or any(hasattr(v, "resolve_expression") for v in fields.values()):
        patient.refresh_from_db(fields=["version", "updated_at", *fields])
        return
    # The compare-and-set matched: the row now holds exactly these values (no read needed, #15).
    patient.version, patient.updated_at = expected_version + 1, now
    for name, value in fields.items():
        setattr(patient, name, value)


def _check_birth_and_death(birth: dt.date | None, death: dt.date | None) -> None:
    today = timezone.localdate()
    if birth and birth > today:
        raise InvalidChange("the birth date is in the future")
    if death and death > today:
        raise InvalidChange("the date of death is in the future")
    if birth and death and death < birth:
        raise InvalidChange("the date of death is before the birth date")


# --- demographics -------------------------------------------------------------------------------


_UNSET: Any = object()


@transaction.atomic
def update_demographics(
    patient: Patient,
    *,
    expected_version: int | None,
    by: str,
    reason: str,
    user=None,
    gender: str = _UNSET,
    birth_date: dt.date | None = _UNSET,
    place_of_birth: str = _UNSET,
    sensitive: bool = _UNSET,
) -> Patient:
    """Change the person's own items (gender, birth date, place of birth, the S flag)."""
    changes = _demographic_fields(
        patient, gender=gender, birth_date=birth_date, place_of_birth=place_of_birth, sensitive=sensitive
    )
    with changing("update_demographics", by=by, reason=reason, user=user):
        _bump(patient, expected_version, **changes)
    return patient


def _demographic_fields(patient: Patient, **requested: Any) -> dict[str, Any]:
    changes = {k: v for k, v in requested.items() if v is not _UNSET}
    if "gender" in changes and changes["gender"] not in Gender.values:
        raise InvalidChange(f"{changes['gender']!r} is not a gender code")
    if "birth_date" in changes:
        if changes["birth_date"] is None:
            raise InvalidChange("the birth date cannot be removed")
        _check_birth_and_death(changes["birth_date"], patient.death_date)
    return changes


# --- names ---------------------------------------------------------------------------------------


@transaction.atomic
def change_name(
    patient: Patient,
    *,
    family: str,
    given: list[str],
    start: dt.date,
    expected_version: int | None,
    by: str,
    reason: str,
    prefix: str = "",
    use: str = PatientName.Use.USUAL,
    previous_use: str = PatientName.Use.OLD,
    user=None,
) -> PatientName:
    """Give the person a new name. A new usual name ends the current one, which becomes `previous_use`
    (old, or maiden), so there is always exactly one usual name and the earlier one stays searchable."""
    _check_name(family, given)
    with changing("change_name", by=by, reason=reason, user=user):
        _bump(patient, expected_version)
        if use == PatientName.Use.USUAL:
            current = PatientName.objects.select_for_update().filter(patient=patient, use=use, end__isnull=True).first()
            if current:
                current.use = previous_use
                current.end = max(start, current.start or start)
                current.save(update_fields=["use", "end"])
        return PatientName.objects.create(
            patient=patient,
            use=use,
            family=family.upper(),
            given=[g.upper() for g in given],
            prefix=prefix,
            start=start,
        )


def _check_name(family: str, given: list[str]) -> None:
    if not family or not family.strip():
        raise InvalidChange("a name needs a family name")
    if len(family) > 35 or any(len(g) > 35 for g in given):
        raise InvalidChange("names are at most 35 characters")
    if len(given) > 5:
        raise InvalidChange("at most 5 given names")


# --- registration --------------------------------------------------------------------------------


# Atomic through `changing` (one savepoint when nested in processing's transaction, not two).
def register_with_practice(
    patient: Patient,
    *,
    practice_ods: str,
    start: dt.date,
    expected_version: int | None,
    by: str,
    reason: str,
    user=None,
) -> GPPeriod | None:
    """Open a registered-GP period at `practice_ods` from `start`, closing the current one.

    Returns the period that was closed (the previous practice), if there was one.
    """
    with changing("register_with_practice", by=by, reason=reason, user=user):
        _bump(patient, expected_version)
        return _register(patient, practice_ods, start)


def _register(patient: Patient, practice_ods: str, start: dt.date) -> GPPeriod | None:
    if not practice_ods or not practice_ods.isalnum():
        raise InvalidChange("an ODS code is letters and digits")
    current = GPPeriod.objects.select_for_update().filter(patient=patient, end__isnull=True).first()
    if current:
        # A period cannot end before it began; a back-dated acceptance closes the old one on its start.
        current.end = max(start, current.start)
        current.save(update_fields=["end"])
    GPPeriod.objects.create(patient=patient, practice_ods=practice_ods.upper(), start=start)
    return current


def end_registration(
    patient: Patient,
    *,
    end: dt.date,
    removal_reason: str,
    expected_version: int | None,
    by: str,
    reason: str,
    user=None,
) -> GPPeriod:
    """Close the current registered-GP period without a new one (a deduction: death, embarkation, …)."""
    with changing("end_registration", by=by, reason=reason, user=user):
        _bump(patient, expected_version)
        current = GPPeriod.objects.select_for_update().filter(patient=patient, end__isnull=True).first()
        if current is None:
            raise InvalidChange("the patient has no current registration to end")
        current.end = max(end, current.start)
        current.removal_reason = removal_reason
        current.save(update_fields=["end", "removal_reason"])
        return current


# --- address -------------------------------------------------------------------------------------


def change_address(
    patient: Patient,
    *,
    address: dict[str, str],
    start: dt.date,
    expected_version: int | None,
    by: str,
    reason: str,
    user=None,
) -> PatientAddress:
    """Replace the home address from `start`: the current one is ended, the new one opened."""
    values = _address_values(address)
    with changing("change_address", by=by, reason=reason, user=user):
        _bump(patient, expected_version)
        return _move(patient, values, start)


def _address_values(address: dict[str, str]) -> dict[str, str]:
    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        raise InvalidChange(f"unknown address items: {', '.join(sorted(unknown))}")
    values = {k: (address.get(k) or "").strip().upper() for k in ADDRESS_FIELDS}
    values["postcode"] = normalise_postcode(values["postcode"])
    if any(len(v) > 35 for v in values.values()) or len(values["postcode"]) > 8:
        raise InvalidChange("address lines are at most 35 characters and a postcode at most 8")
    if not any(values[k] for k in ADDRESS_FIELDS[:-1]):
        raise InvalidChange("an address needs at least one line")
    return values


def _move(patient: Patient, values: dict[str, str], start: dt.date) -> PatientAddress:
    for current in PatientAddress.objects.select_for_update().filter(patient=patient, end__isnull=True):
        current.end = max(start, current.start or start)
        current.save(update_fields=["end"])
    return PatientAddress.objects.create(patient=patient, start=start, **values)


# --- death ---------------------------------------------------------------------------------------


@transaction.atomic
def record_death(
    patient: Patient,
    *,
    date: dt.date,
    status: str,
    expected_version: int | None,
    by: str,
    reason: str,
    user=None,
) -> Patient:
    """Record a death: informal (reported) or formal (registered). A formal death is never replaced."""
    changes = _death_fields(patient, date, status)
    with changing("record_death", by=by, reason=reason, user=user):
        _bump(patient, expected_version, **changes)
    return patient


def _death_fields(patient: Patient, date: dt.date | None, status: str) -> dict[str, Any]:
    if patient.death_status == DeathStatus.FORMAL:
        raise ForbiddenUpdate("a formal death notification cannot be replaced or removed")
    if date is None:
        return {"death_date": None, "death_status": ""}
    if status not in DeathStatus.values:
        raise InvalidChange(f"{status!r} is not a death notification status")
    _check_birth_and_death(patient.birth_date, date)
    return {"death_date": date, "death_status": status}


# --- merge ---------------------------------------------------------------------------------------


@transaction.atomic
def merge_patients(
    *,
    retained: Patient,
    duplicate: Patient,
    retained_version: int | None,
    duplicate_version: int | None,
    by: str,
    reason: str,
    user=None,
) -> Patient:
    """Merge a duplicate record into the retained one.

    The duplicate's NHS number (and any it had already absorbed) becomes a superseded number of the
    retained record, so reading it answers with the retained record. The retained record's details
    stand; the duplicate row is removed, its last state kept in the history as a delete event.
    """
    if retained.pk == duplicate.pk:
        raise ForbiddenUpdate("a record cannot be merged into itself")
    with changing("merge_patients", by=by, reason=reason, user=user):
        # Lock both rows in a fixed order so two merges of the same pair cannot deadlock.
        locked = {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=[retained.pk, duplicate.pk])}
        if duplicate.pk not in locked:
            raise PatientNotFound("the duplicate record no longer exists")
        if duplicate_version is not None and locked[duplicate.pk].version != duplicate_version:
            raise VersionConflict(f"patient {duplicate.pk} is no longer at version {duplicate_version}")
        _bump(retained, retained_version)
        SupersededNumber.objects.filter(patient=duplicate).update(patient=retained)
        SupersededNumber.objects.create(nhs_number=duplicate.nhs_number, patient=retained)
        Patient.objects.filter(pk=duplicate.pk).delete()
    retained.refresh_from_db()
    return retained


# --- new records ---------------------------------------------------------------------------------


def allocate_nhs_number() -> str:
    """A new NHS number (births, and immigrants without one), never one already held or superseded.

    Numbers come from a database sequence over the 970… test range (see the migration that makes it),
    so two workers can never allocate the same one; stems without a check digit are skipped.
    """
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT nextval(%s)", [NHS_NUMBER_SEQUENCE])
            stem = f"{cursor.fetchone()[0]:09d}"
            digit = nhs.check_digit(stem)
            if digit is None:
                continue
            number = f"{stem}{digit}"
            in_use = (
                Patient.objects.filter(nhs_number=number).exists()
                or SupersededNumber.objects.filter(nhs_number=number).exists()
            )
            if not in_use:
                return number


@transaction.atomic
def create_patient(
    *,
    family: str,
    given: list[str],
    gender: str,
    birth_date: dt.date | None,
    by: str,
    reason: str,
    nhs_number: str | None = None,
    prefix: str = "",
    place_of_birth: str = "",
    address: dict[str, str] | None = None,
    practice_ods: str | None = None,
    registered_on: dt.date | None = None,
    user=None,
) -> Patient:
    """Create a record; without an NHS number one is allocated (births and immigrants)."""
    _check_name(family, given)
    _demographic_fields(Patient(), gender=gender, **({"birth_date": birth_date} if birth_date else {}))
    if nhs_number is not None and not nhs.is_valid(nhs_number):
        raise InvalidNhsNumber("not a valid NHS number")
    values = _address_values(address) if address else None
    today = timezone.localdate()
    with changing("create_patient", by=by, reason=reason, user=user):
        number = nhs_number or allocate_nhs_number()
        if SupersededNumber.objects.filter(nhs_number=number).exists():
            raise ForbiddenUpdate("that NHS number was merged into another record")
        patient = Patient.objects.create(
            nhs_number=number, gender=gender, birth_date=birth_date, place_of_birth=place_of_birth.upper()
        )
        PatientName.objects.create(
            patient=patient,
            family=family.upper(),
            given=[g.upper() for g in given],
            prefix=prefix,
            start=birth_date or today,
        )
        if values:
            PatientAddress.objects.create(patient=patient, start=registered_on or today, **values)
        if practice_ods:
            _register(patient, practice_ods, registered_on or today)
    return patient


# --- several changes at once (FHIR PATCH) ------------------------------------------------------------


@dataclass
class NameData:
    use: str
    family: str
    given: list[str] = field(default_factory=list)
    prefix: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass
class AddressData:
    values: dict[str, str]
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass
class TelecomData:
    system: str
    use: str
    value: str
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass
class PatientChanges:
    """A set of changes applied as one new version: what a FHIR PATCH asks for, in domain terms."""

    demographics: dict[str, Any] = field(default_factory=dict)  # gender, birth_date, place_of_birth
    death: tuple[dt.date | None, str] | None = None  # (date, status); (None, "") removes an informal death
    names_added: list[NameData] = field(default_factory=list)
    names_updated: dict[int, NameData] = field(default_factory=dict)
    names_removed: list[int] = field(default_factory=list)
    addresses_added: list[AddressData] = field(default_factory=list)
    addresses_updated: dict[int, AddressData] = field(default_factory=dict)
    addresses_removed: list[int] = field(default_factory=list)
    telecoms_added: list[TelecomData] = field(default_factory=list)
    telecoms_updated: dict[int, TelecomData] = field(default_factory=dict)
    telecoms_removed: list[int] = field(default_factory=list)
    gp: tuple[str, dt.date] | None = None  # register with (practice_ods, start)
    gp_removed: bool = False

    def __bool__(self) -> bool:
        return any(bool(value) for value in vars(self).values())


@transaction.atomic
def apply_changes(
    patient: Patient, changes: PatientChanges, *, expected_version: int | None, by: str, reason: str, user=None
) -> Patient:
    """Apply a set of changes as one new version, all or nothing."""
    fields = _demographic_fields(patient, **changes.demographics)
    if changes.death is not None:
        fields.update(_death_fields(patient, *changes.death))
    birth = fields.get("birth_date", patient.birth_date)
    death = fields.get("death_date", patient.death_date)
    _check_birth_and_death(birth, death)
    today = timezone.localdate()
    with changing("amend_patient", by=by, reason=reason, user=user):
        _bump(patient, expected_version, **fields)
        _apply_names(patient, changes)
        _apply_addresses(patient, changes, today)
        _apply_telecoms(patient, changes)
        if changes.gp_removed:
            GPPeriod.objects.filter(patient=patient, end__isnull=True).update(end=today, removal_reason="ORR")
        if changes.gp:
            _register(patient, *changes.gp)
        usual = PatientName.objects.filter(patient=patient, use=PatientName.Use.USUAL, end__isnull=True).count()
        if usual != 1:
            raise InvalidChange("a record has exactly one current usual name")
    patient.refresh_from_db()
    return patient


def _apply_names(patient: Patient, changes: PatientChanges) -> None:
    names = {n.pk: n for n in PatientName.objects.select_for_update().filter(patient=patient)}
    for pk in changes.names_removed:
        if names[pk].use == PatientName.Use.USUAL and names[pk].end is None:
            raise InvalidChange("the usual name cannot be removed")
        names.pop(pk).delete()
    for pk, data in changes.names_updated.items():
        name = names[pk]
        if data.use != name.use:
            raise InvalidChange("the use of an existing name cannot change")
        _check_name(data.family, data.given)
        name.family, name.given, name.prefix = data.family.upper(), [g.upper() for g in data.given], data.prefix
        name.start, name.end = data.start, data.end
        name.save()
    for data in changes.names_added:
        _check_name(data.family, data.given)
        PatientName.objects.create(
            patient=patient,
            use=data.use,
            family=data.family.upper(),
            given=[g.upper() for g in data.given],
            prefix=data.prefix,
            start=data.start,
            end=data.end,
        )


def _apply_addresses(patient: Patient, changes: PatientChanges, today: dt.date) -> None:
    addresses = {a.pk: a for a in PatientAddress.objects.select_for_update().filter(patient=patient)}
    for pk in changes.addresses_removed:
        addresses.pop(pk).delete()
    for pk, data in changes.addresses_updated.items():
        address = addresses[pk]
        values = _address_values(data.values)
        moved = any(getattr(address, k) != v for k, v in values.items())
        if moved and address.end is None:
            # A different address is a move: the old one is kept, ended, and the new one opened.
            _move(patient, values, data.start or today)
        else:
            for k, v in values.items():
                setattr(address, k, v)
            address.start, address.end = data.start, data.end
            address.save()
    for data in changes.addresses_added:
        values = _address_values(data.values)
        if data.end is None:
            _move(patient, values, data.start or today)
        else:
            PatientAddress.objects.create(patient=patient, start=data.start, end=data.end, **values)


def _apply_telecoms(patient: Patient, changes: PatientChanges) -> None:
    telecoms = {t.pk: t for t in PatientTelecom.objects.select_for_update().filter(patient=patient)}
    for pk in changes.telecoms_removed:
        telecoms.pop(pk).delete()
    for pk, data in changes.telecoms_updated.items():
        telecom = telecoms[pk]
        telecom.system, telecom.use, telecom.value = data.system, data.use, data.value
        telecom.start, telecom.end = data.start, data.end
        telecom.save()
    for data in changes.telecoms_added:
        PatientTelecom.objects.create(
            patient=patient, system=data.system, use=data.use, value=data.value, start=data.start, end=data.end
        )
