"""The snapshot's figures on the hand-checked population (conftest.py), and how they are stored."""

import csv
import datetime as dt
import hashlib
import io
import json

import pytest
from capitation_population import CLOSING_DAY, PREVIOUS, Q

from pds.models import GPPeriod
from registrations.capitation import close, selectors, snapshot
from registrations.models import CapitationLine, QuarterClose, QuarterStatus

pytestmark = [pytest.mark.django_db, pytest.mark.dates]


BAND = {label: i for i, (_, label, _, _) in enumerate(snapshot.BANDS)}
SEX = {"M": 0, "F": 1, "O": 2}


def cells(**counts) -> list[int]:
    """cells(F_45_64=1, M_0_4=2): the 24 cells with those set; keys are <sex>_<band column>."""
    out = [0] * len(snapshot.CELL_COLUMNS)
    for key, value in counts.items():
        sex, band = key.split("_", 1)
        column = {"male": "M", "female": "F", "other": "O"}
        index = snapshot.CELL_COLUMNS.index(f"{next(k for k, v in column.items() if v == sex)}_{band}")
        out[index] = value
    return out


def closed(quarter_end=Q, today=CLOSING_DAY) -> QuarterClose:
    result = close.close_quarter(quarter_end=quarter_end, by="tester", today=today)
    return snapshot.take_snapshot(result.quarter.pk, today=today)


def lines_by_key(quarter) -> dict:
    return {(line.level, line.practice_ods, line.gp_code): line for line in quarter.lines.all()}


def test_practice_lists_by_sex_and_age_band_as_at_the_quarter_end(world):
    quarter = closed()
    lines = lines_by_key(quarter)
    a = lines[("PRACTICE", "A00001", "")]
    # P1 F 45–64; P2 M 5–14 (fifth birthday on Q); P3 M 0–4 (the day after); P11 other, accepted on Q; P17 F.
    assert a.cells == cells(F_45_64=1, M_5_14=1, M_0_4=1, O_15_44=1, F_15_44=1)
    assert (a.patients, a.male, a.female, a.other_sex) == (5, 2, 2, 1)
    # In: P11 (accepted on the last day). Out: P6 moved to B, P7 died. P15's zero-length period is no movement.
    assert (a.acceptances, a.deductions) == (1, 2)
    b = lines[("PRACTICE", "B00002", "")]
    # P4 85 on Q; P5 85 the day after; P6 moved in; P15 in; P16.
    assert b.cells == cells(F_85_plus=1, F_75_84=1, M_15_44=1, F_15_44=1, M_65_74=1)
    # In: P6, P13, P15. Out: P8 died on Q, P10 deducted on Q, P13 moved on to Z99999.
    assert (b.acceptances, b.deductions) == (3, 3)
    assert lines[("PRACTICE", "C00003", "")].cells == cells(M_age_unknown=1)
    d = lines[("PRACTICE", "D00004", "")]
    assert (d.patients, d.acceptances, d.deductions, d.practice_name, d.ha_cipher) == (0, 0, 0, "Surgery D", "XX1")
    z = lines[("PRACTICE", "Z99999", "")]
    assert (z.cells, z.acceptances, z.deductions, z.practice_name, z.ha_cipher) == (cells(O_45_64=1), 1, 0, "", "")
    assert z.nation == "" and {line.nation for key, line in lines.items() if key[1] != "Z99999"} == {"England"}
    # PCSE pays English practices: Z99999 (no reference data, so no nation) is not in its total.
    assert quarter.patients == 5 + 5 + 1 + 0
    assert quarter.status == QuarterStatus.GENERATED


def test_per_gp_lists_use_the_latest_registration_accepted_by_the_quarter_end(world):
    lines = lines_by_key(closed())
    a1, a2 = world.gps["a1"].gp_code, world.gps["a2"].gp_code
    b1 = world.gps["b1"].gp_code
    assert lines[("GP", "A00001", a1)].cells == cells(F_45_64=1)  # P1 (P17 moved to a2 in the quarter)
    assert lines[("GP", "A00001", a2)].cells == cells(M_5_14=1, F_15_44=1)  # P2, P17
    assert lines[("GP", "A00001", "")].cells == cells(M_0_4=1, O_15_44=1)  # P3, P11: no PCRM registration
    # P16's registration with b2 is dated after the quarter end, so P16 is still b1's.
    assert lines[("GP", "B00002", b1)].patients == 4
    assert ("GP", "B00002", world.gps["b2"].gp_code) not in lines
    assert lines[("GP", "B00002", "")].cells == cells(F_15_44=1)  # P15
    assert {k for k in lines if k[0] == "GP" and k[1] == "D00004"} == set()
    for practice in ("A00001", "B00002", "C00003", "Z99999"):
        gp_lines = [line for key, line in lines.items() if key[0] == "GP" and key[1] == practice]
        assert sum(line.patients for line in gp_lines) == lines[("PRACTICE", practice, "")].patients
        assert [sum(c) for c in zip(*(line.cells for line in gp_lines), strict=True)] == (
            lines[("PRACTICE", practice, "")].cells
        )


def test_each_list_moves_by_acceptances_less_deductions_and_the_change_is_shown(world):
    before = lines_by_key(closed(PREVIOUS, today=CLOSING_DAY))
    assert before[("PRACTICE", "A00001", "")].patients == 6  # P1 P2 P3 P6 P7 P17 (P9 died before)
    assert before[("PRACTICE", "B00002", "")].patients == 5  # P4 P5 P8 P10 P16
    after = lines_by_key(closed())
    for (level, ods, _), line in after.items():
        if level != "PRACTICE":
            continue
        was = before.get(("PRACTICE", ods, ""))
        was_patients = was.patients if was else 0
        assert line.patients == was_patients + line.acceptances - line.deductions, ods
        assert line.previous_patients == (was.patients if was else None)
        assert line.change == line.patients - was_patients
    assert after[("PRACTICE", "A00001", "")].change == -1
    assert after[("PRACTICE", "Z99999", "")].change == 1


def test_without_a_previous_quarter_there_is_no_change_to_show(world):
    lines = closed().lines.filter(level="PRACTICE")
    assert all(line.change is None and line.previous_patients is None for line in lines)


def test_the_csv_has_the_documented_header_and_one_row_per_line(world):
    quarter = closed()
    text = bytes(quarter.csv).decode("utf-8")
    header = (
        "quarter_end,record,ha_cipher,practice_ods,gp_code,patients,"
        + ",".join(
            f"{sex}_{band}"
            for sex in ("male", "female", "other")
            for band in ("0_4", "5_14", "15_44", "45_64", "65_74", "75_84", "85_plus", "age_unknown")
        )
        + ",acceptances,deductions,dispensing_patients,residential_institute_patients\r\n"
    )
    assert text.startswith(header)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == quarter.lines.filter(nation="England").count()
    assert "Z99999" not in {r["practice_ods"] for r in rows}, "only English practices go to PCSE"
    a = next(r for r in rows if r["record"] == "PRACTICE" and r["practice_ods"] == "A00001")
    assert (a["quarter_end"], a["ha_cipher"], a["patients"], a["female_45_64"], a["acceptances"]) == (
        "2026-03-31",
        "XX1",
        "5",
        "1",
        "1",
    )
    a2 = next(r for r in rows if r["gp_code"] == world.gps["a2"].gp_code)
    assert (a2["record"], a2["patients"], a2["acceptances"], a2["deductions"]) == ("GP", "2", "", "")
    # Practices in code order, each followed by its GPs, the unattributed last.
    order = [(r["practice_ods"], r["record"], r["gp_code"]) for r in rows]
    assert order[:4] == [
        ("A00001", "PRACTICE", ""),
        ("A00001", "GP", world.gps["a1"].gp_code),
        ("A00001", "GP", world.gps["a2"].gp_code),
        ("A00001", "GP", ""),
    ]
    assert quarter.csv_sha256 == hashlib.sha256(bytes(quarter.csv)).hexdigest()


def test_the_summary_states_the_totals_and_the_csv_checksum(world):
    quarter = closed()
    summary = json.loads(bytes(quarter.summary))
    assert summary["quarter_end"] == "2026-03-31" and summary["quarter_start"] == "2026-01-01"
    assert summary["csv"]["sha256"] == quarter.csv_sha256
    assert summary["csv"]["rows"] == quarter.lines.filter(nation="England").count()
    assert summary["nation"] == "England"
    totals = summary["totals"]
    assert totals["patients"] == 11
    assert totals["by_sex"] == {"male": 5, "female": 5, "other": 1}
    assert totals["by_age_band"] == {
        "0–4": 1,
        "5–14": 1,
        "15–44": 4,
        "45–64": 1,
        "65–74": 1,
        "75–84": 1,
        "85+": 1,
        "Not known": 1,
    }
    assert (totals["acceptances"], totals["deductions"]) == (4, 5)
    assert totals["practices"] == 4
    assert totals["unattributed_patients"] == 2 + 1 + 1  # A: P3 P11; B: P15; C: P14 (Z99999 is not PCSE's)
    assert summary["previous_quarter"] is None


def test_the_same_quarter_always_gives_the_same_bytes(world):
    first = closed()
    stored_csv, stored_summary = bytes(first.csv), bytes(first.summary)
    # Rendered again from the stored lines: identical.
    lines = snapshot.lines_of_nation(selectors.stored_lines(first), "England")
    assert snapshot.render_csv(Q, lines) == stored_csv
    assert snapshot.render_summary(Q, lines, stored_csv) == stored_summary
    # Computed afresh from PDS after the quarter was over and things moved on (a move dated after Q):
    # still identical, because figures are "as at" the quarter end.
    p1 = world.patients["P1"]
    GPPeriod.objects.filter(patient=p1, end__isnull=True).update(end=dt_after(Q, days=20))
    GPPeriod.objects.create(patient=p1, practice_ods="B00002", start=dt_after(Q, days=20))
    first.delete()
    assert bytes(closed().csv) == stored_csv


def test_a_later_change_never_alters_a_closed_quarter(world):
    quarter = closed()
    stored = bytes(quarter.csv)
    # A back-dated correction that would change the quarter's figures, recorded after it was closed.
    GPPeriod.objects.filter(patient=world.patients["P3"]).update(practice_ods="C00003")
    again = close.close_quarter(quarter_end=Q, by="tester", today=CLOSING_DAY)
    assert again.created is False
    assert snapshot.take_snapshot(quarter.pk).csv_sha256 == quarter.csv_sha256
    quarter.refresh_from_db()
    assert bytes(quarter.csv) == stored
    assert CapitationLine.objects.get(quarter=quarter, level="PRACTICE", practice_ods="C00003").patients == 1


def dt_after(day, days=1):
    return day + dt.timedelta(days=days)
