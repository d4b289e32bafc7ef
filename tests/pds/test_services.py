"""PDS services: get (following merges), optimistic concurrency, registration, address, death, merge, allocation."""

import datetime as dt
import threading

import pytest
from django.db import connection
from factories import PatientFactory

from core import nhs_number
from pds import selectors, services
from pds.errors import ForbiddenUpdate, InvalidChange, InvalidNhsNumber, PatientNotFound, VersionConflict
from pds.models import GPPeriod, Patient, PatientAddress, PatientName, SupersededNumber

pytestmark = pytest.mark.django_db

WHO = {"by": "test-suite", "reason": "case 42"}


def test_get_patient_finds_a_record_by_nhs_number(jane):
    lookup = selectors.get_patient("9434765919")
    assert lookup.patient.pk == jane.pk
    assert lookup.superseded_from is None


def test_get_patient_raises_for_an_unknown_number(db):
    with pytest.raises(PatientNotFound):
        selectors.get_patient("9434765870")


def test_a_new_record_has_version_1_one_usual_name_and_a_normalised_postcode(jane):
    assert jane.version == 1
    assert jane.usual_name.family == "SMITH"
    assert jane.current_address.postcode == "LS1 4AP"
    assert jane.current_gp.practice_ods == "A12345"


def test_register_with_practice_closes_the_previous_period_and_bumps_the_version(jane):
    closed = services.register_with_practice(
        jane, practice_ods="B82001", start=dt.date(2026, 3, 1), expected_version=1, **WHO
    )
    assert closed.practice_ods == "A12345"
    assert closed.end == dt.date(2026, 3, 1)
    periods = list(GPPeriod.objects.filter(patient=jane).order_by("start").values_list("practice_ods", "end"))
    assert periods == [("A12345", dt.date(2026, 3, 1)), ("B82001", None)]
    assert jane.version == 2


def test_a_stale_version_is_a_conflict_and_changes_nothing(jane):
    services.register_with_practice(jane, practice_ods="B82001", start=dt.date(2026, 3, 1), expected_version=1, **WHO)
    stale = Patient.objects.get(pk=jane.pk)
    stale.version = 1
    with pytest.raises(VersionConflict):
        services.change_address(
            stale,
            address={"road": "2 Low Road", "postcode": "LS2 7UE"},
            start=dt.date(2026, 4, 1),
            expected_version=1,
            **WHO,
        )
    assert PatientAddress.objects.filter(patient=jane).count() == 1
    assert Patient.objects.get(pk=jane.pk).version == 2


def test_two_concurrent_writers_with_the_same_version_one_wins_one_conflicts(transactional_db):
    patient = PatientFactory()
    results: list[str] = []
    barrier = threading.Barrier(2)

    def write(ods: str) -> None:
        try:
            me = Patient.objects.get(pk=patient.pk)
            barrier.wait()
            services.register_with_practice(me, practice_ods=ods, start=dt.date(2026, 1, 1), expected_version=1, **WHO)
            results.append("ok")
        except VersionConflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(ods,)) for ods in ("C1", "C2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]
    assert Patient.objects.get(pk=patient.pk).version == 2
    assert GPPeriod.objects.filter(patient=patient).count() == 1


def test_change_address_ends_the_current_one_and_opens_the_new(jane):
    new = services.change_address(
        jane,
        address={"house": "Flat 2", "road": "9 Park Lane", "post_town": "Leeds", "postcode": "ls2  7ue"},
        start=dt.date(2026, 2, 1),
        expected_version=1,
        **WHO,
    )
    assert new.postcode == "LS2 7UE"
    old = PatientAddress.objects.get(patient=jane, end__isnull=False)
    assert old.end == dt.date(2026, 2, 1)
    assert jane.version == 2


def test_change_address_refuses_unknown_items(jane):
    with pytest.raises(InvalidChange):
        services.change_address(jane, address={"planet": "Mars"}, start=dt.date(2026, 2, 1), expected_version=1, **WHO)


def test_record_death_informal_then_formal_and_a_formal_one_is_never_replaced(jane):
    services.record_death(jane, date=dt.date(2026, 1, 2), status="informal", expected_version=1, **WHO)
    assert (jane.death_date, jane.death_status) == (dt.date(2026, 1, 2), "informal")
    services.record_death(jane, date=dt.date(2026, 1, 3), status="formal", expected_version=2, **WHO)
    assert jane.death_status == "formal"
    with pytest.raises(ForbiddenUpdate):
        services.record_death(jane, date=dt.date(2026, 1, 4), status="formal", expected_version=3, **WHO)
    assert Patient.objects.get(pk=jane.pk).death_date == dt.date(2026, 1, 3)


def test_a_death_before_birth_or_in_the_future_is_refused(jane):
    with pytest.raises(InvalidChange):
        services.record_death(jane, date=dt.date(1970, 1, 1), status="formal", expected_version=1, **WHO)
    with pytest.raises(InvalidChange):
        services.record_death(jane, date=dt.date(2999, 1, 1), status="formal", expected_version=1, **WHO)


def test_change_name_keeps_exactly_one_usual_name_and_the_old_one_as_maiden(jane):
    services.change_name(
        jane,
        family="Jones",
        given=["Jane"],
        start=dt.date(2026, 6, 1),
        previous_use="maiden",
        expected_version=1,
        **WHO,
    )
    names = {(n.use, n.family, n.end) for n in PatientName.objects.filter(patient=jane)}
    assert names == {("usual", "JONES", None), ("maiden", "SMITH", dt.date(2026, 6, 1))}


def test_update_demographics_refuses_removing_the_birth_date(jane):
    with pytest.raises(InvalidChange):
        services.update_demographics(jane, birth_date=None, expected_version=1, **WHO)
    services.update_demographics(jane, sensitive=True, gender="1", expected_version=1, **WHO)
    jane.refresh_from_db()
    assert (jane.sensitive, jane.gender, jane.version) == (True, "1", 2)


def test_end_registration_closes_the_current_period_with_a_reason(jane):
    closed = services.end_registration(jane, end=dt.date(2026, 5, 1), removal_reason="DEA", expected_version=1, **WHO)
    assert (closed.end, closed.removal_reason) == (dt.date(2026, 5, 1), "DEA")
    with pytest.raises(InvalidChange):
        services.end_registration(jane, end=dt.date(2026, 5, 2), removal_reason="DEA", expected_version=2, **WHO)


def test_merge_makes_the_duplicate_number_resolve_to_the_retained_record(jane):
    duplicate = PatientFactory(name="SMITH JANE")
    older = PatientFactory()
    services.merge_patients(retained=duplicate, duplicate=older, retained_version=1, duplicate_version=1, **WHO)
    retained = services.merge_patients(
        retained=jane, duplicate=duplicate, retained_version=1, duplicate_version=2, **WHO
    )
    assert not Patient.objects.filter(pk=duplicate.pk).exists()
    for merged_away in (duplicate.nhs_number, older.nhs_number):
        lookup = selectors.get_patient(merged_away)
        assert lookup.patient.pk == jane.pk
        assert lookup.superseded_from == merged_away
    assert retained.version == 2
    assert set(SupersededNumber.objects.filter(patient=jane).values_list("nhs_number", flat=True)) == {
        duplicate.nhs_number,
        older.nhs_number,
    }


def test_merge_refuses_itself_and_a_stale_duplicate(jane):
    with pytest.raises(ForbiddenUpdate):
        services.merge_patients(retained=jane, duplicate=jane, retained_version=1, duplicate_version=1, **WHO)
    other = PatientFactory()
    with pytest.raises(VersionConflict):
        services.merge_patients(retained=jane, duplicate=other, retained_version=1, duplicate_version=7, **WHO)
    assert Patient.objects.filter(pk=other.pk).exists()


def test_allocate_gives_valid_unused_numbers_and_create_patient_uses_one(db):
    numbers = {services.allocate_nhs_number() for _ in range(30)}
    assert len(numbers) == 30
    assert all(nhs_number.is_valid(n) and n.startswith("97") for n in numbers)
    baby = services.create_patient(
        family="Newborn", given=["Baby"], gender="0", birth_date=dt.date(2026, 1, 1), by="maternity", reason="birth"
    )
    assert nhs_number.is_valid(baby.nhs_number)
    assert baby.nhs_number not in numbers


def test_allocation_skips_a_number_already_held(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value, is_called FROM pds_nhs_number_serial")
        last, called = cursor.fetchone()
    upcoming = last + 1 if called else last
    while nhs_number.check_digit(f"{upcoming:09d}") is None:
        upcoming += 1
    taken = f"{upcoming:09d}{nhs_number.check_digit(f'{upcoming:09d}')}"
    PatientFactory(nhs_number=taken)
    assert services.allocate_nhs_number() != taken


def test_create_patient_refuses_an_invalid_number_and_every_change_needs_who_and_why(db):
    with pytest.raises(InvalidNhsNumber):
        services.create_patient(
            family="X", given=[], gender="1", birth_date=dt.date(2000, 1, 1), nhs_number="1234567890", **WHO
        )
    with pytest.raises(ValueError, match="who"):
        services.create_patient(family="X", given=[], gender="1", birth_date=None, by="", reason="r")
    with pytest.raises(ValueError, match="why"):
        services.create_patient(family="X", given=[], gender="1", birth_date=None, by="me", reason="")
