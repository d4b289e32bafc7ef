"""Capitation after #12: the quarter closes after its grace period, each nation's payer gets its own
practices only, each practice's dispensing and residential-institute patients are counted, and the
list moves exactly by the acceptances less the deductions dated in the quarter (a generated population)."""

import csv
import datetime as dt
import io
import json
import random

import pytest
from capitation_population import CLOSING_DAY, PREVIOUS, Q, build_world
from factories import HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory

from pds.models import GPPeriod
from registrations.capitation import close, delivery, snapshot
from registrations.mesh_directory import nhais_mailbox
from registrations.models import Registration

pytestmark = [pytest.mark.django_db]


def closed(quarter_end, today=None):
    today = today or close.grace_end(quarter_end) + dt.timedelta(days=1)
    result = close.close_quarter(quarter_end=quarter_end, by="tester", today=today)
    return snapshot.take_snapshot(result.quarter.pk, today=today)


def practice_lines(quarter) -> dict:
    return {line.practice_ods: line for line in quarter.lines.filter(level="PRACTICE")}


def test_dispensing_and_residential_patients_are_counted_per_practice(db):
    world = build_world()
    Registration.objects.filter(nhs_number=world.patients["P1"].nhs_number).update(dispensing=True)
    Registration.objects.filter(nhs_number=world.patients["P4"].nhs_number).update(residential_institute="RT")
    # P10 was deducted on Q: a dispensing registration no longer on the list is not counted.
    Registration.objects.create(
        nhs_number=world.patients["P10"].nhs_number,
        practice=world.practices["B"],
        gp=world.gps["b1"],
        acceptance_date=dt.date(2012, 1, 1),
        dispensing=True,
    )
    quarter = closed(Q, today=CLOSING_DAY)
    lines = practice_lines(quarter)
    assert (lines["A00001"].dispensing, lines["A00001"].residential) == (1, 0)
    assert (lines["B00002"].dispensing, lines["B00002"].residential) == (0, 1)
    rows = {
        r["practice_ods"]: r
        for r in csv.DictReader(io.StringIO(bytes(quarter.csv).decode()))
        if r["record"] == "PRACTICE"
    }
    assert (rows["A00001"]["dispensing_patients"], rows["B00002"]["residential_institute_patients"]) == ("1", "1")
    totals = json.loads(bytes(quarter.summary))["totals"]
    assert (totals["dispensing_patients"], totals["residential_institute_patients"]) == (1, 1)


@pytest.fixture
def welsh(db):
    world = build_world()
    wales = HealthAuthorityFactory(cipher="CLD")  # North Wales, loaded with the real HAs
    practice = PracticeFactory(ods_code="W00005", name="Welsh Surgery", ha=wales)
    LinkFactory(practice=practice, ha=wales)
    patient = PatientFactory(gender="2", birth_date=dt.date(1970, 1, 1))
    GPPeriod.objects.create(patient=patient, practice_ods="W00005", start=dt.date(2020, 1, 1))
    return world


def test_pcse_gets_english_practices_only(welsh):
    quarter = closed(Q, today=CLOSING_DAY)
    assert practice_lines(quarter)["W00005"].nation == "Wales"
    pcse = {r["practice_ods"] for r in csv.DictReader(io.StringIO(bytes(quarter.csv).decode()))}
    assert "W00005" not in pcse and "A00001" in pcse
    assert json.loads(bytes(quarter.summary))["totals"]["patients"] == 11, "the Welsh patient is not PCSE's"

    wales_csv, wales_summary = snapshot.nation_files(quarter, "Wales")
    rows = list(csv.DictReader(io.StringIO(wales_csv.decode())))
    assert {r["practice_ods"] for r in rows} == {"W00005"}
    assert json.loads(wales_summary)["nation"] == "Wales"
    assert snapshot.nation_files(quarter, "Wales") == (wales_csv, wales_summary), "the same bytes every time"


@pytest.mark.integration
def test_each_nations_report_goes_to_its_own_recipient(welsh, mesh, mesh_as, settings):
    settings.CAPITATION_NATION_RECIPIENTS = {"Wales": nhais_mailbox("CLD")}
    quarter = delivery.send_to_pcse(closed(Q, today=CLOSING_DAY).pk)
    assert set(quarter.nation_deliveries["Wales"]) == {"csv", "summary"}

    def inbox(mailbox):
        with mesh_as(mailbox) as client:
            return {
                client.retrieve_message(m).filename: client.retrieve_message(m).read() for m in client.list_messages()
            }

    assert set(inbox(settings.MESH_PCSE_MAILBOX)) == {
        "pcrm-capitation-2026-03-31.csv",
        "pcrm-capitation-2026-03-31.json",
    }
    welsh_inbox = inbox(nhais_mailbox("CLD"))
    assert set(welsh_inbox) == {"pcrm-capitation-wales-2026-03-31.csv", "pcrm-capitation-wales-2026-03-31.json"}
    assert b"W00005" in welsh_inbox["pcrm-capitation-wales-2026-03-31.csv"]
    assert delivery.send_to_pcse(quarter.pk).nation_deliveries == quarter.nation_deliveries, "sent once"


def test_a_transaction_dated_in_the_quarter_and_processed_in_its_grace_period_counts_for_it(db):
    build_world()
    late = PatientFactory(gender="1", birth_date=dt.date(1990, 1, 1))
    with pytest.raises(close.QuarterNotClosable):
        close.close_quarter(quarter_end=Q, by="scheduler", today=dt.date(2026, 4, 8))
    # Processed on 8 April, dated 30 March: inside the quarter.
    GPPeriod.objects.create(patient=late, practice_ods="C00003", start=dt.date(2026, 3, 30))
    lines = practice_lines(closed(Q, today=CLOSING_DAY))
    assert (lines["C00003"].patients, lines["C00003"].acceptances) == (2, 1)


PRACTICES = ("A00001", "B00002", "C00003", "D00004", "Z99999")


def _generated_population(seed: int, size: int) -> None:
    """Patients moving between practices, dying, being deducted, on random dates over a year; some
    periods zero-length, some starting after a death, as real data does."""
    rng = random.Random(seed)
    start_of_time = dt.date(2025, 7, 1)
    for _ in range(size):
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 95 * 365))
        patient = PatientFactory(gender=rng.choice("0129"), birth_date=rng.choice([born, born, None]))
        day = start_of_time - dt.timedelta(days=rng.randrange(0, 2000))
        for _ in range(rng.randrange(1, 4)):
            length = rng.choice([0, rng.randrange(1, 200), None])
            end = None if length is None else day + dt.timedelta(days=length)
            GPPeriod.objects.create(patient=patient, practice_ods=rng.choice(PRACTICES), start=day, end=end)
            if end is None:
                break
            day = end + dt.timedelta(days=rng.randrange(0, 30))
        if rng.random() < 0.15:
            patient.death_date = start_of_time + dt.timedelta(days=rng.randrange(0, 330))
            patient.death_status = "formal"
            patient.save(update_fields=["death_date", "death_status"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_list_is_the_last_plus_acceptances_less_deductions_on_a_generated_population(db, seed):
    build_world()
    _generated_population(seed, 80)
    previous = None
    for quarter_end in (PREVIOUS, Q, dt.date(2026, 6, 30)):
        lines = practice_lines(closed(quarter_end))
        if previous is not None:
            for ods, line in lines.items():
                was = previous[ods].patients if ods in previous else 0
                assert line.patients == was + line.acceptances - line.deductions, (quarter_end, ods)
        previous = lines
