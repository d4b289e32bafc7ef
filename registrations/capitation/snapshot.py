"""The capitation snapshot: who was on each practice's list, and each GP's, at the end of a quarter.

Rules (docs/capitation.md):

* A registration period from PDS puts a patient on a practice's list from its `start` up to, not
  including, the earlier of its `end` and the patient's date of death. "As at" the quarter end means
  at the close of that day: a period starting on the quarter end counts, one ending (or a death) on
  it does not.
* Age is in whole years on the quarter end; a patient born on the quarter end's day and month moves
  up a band that day. Sex follows PDS: male, female, other (not known or not specified).
* Acceptances are periods at the practice that began in the quarter; deductions are periods that
  stopped in it (ended, or the patient died). A period that stops before it starts never put anyone
  on a list and is ignored, so each practice's list moves exactly by its acceptances less deductions.
* A patient's GP is the GP of PCRM's latest registration for them at that practice accepted on or
  before the quarter end; patients PCRM has no such registration for are reported against no GP.

The figures come from one SQL aggregate; Python only pivots its few thousand result rows. They are
stored as CapitationLine rows, and the CSV and summary are rendered from those rows, so a stored
quarter always renders to the same bytes and a later change to PDS cannot alter it.
"""

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from pds.models import GPPeriod, Patient

from ..models import GP, CapitationLine, Practice, QuarterClose, QuarterStatus, Registration
from . import quarters, selectors

SEXES = ("male", "female", "other")
# (column suffix, label, lower age, upper age exclusive); the last band is for unknown birth dates.
BANDS = (
    ("0_4", "0–4", 0, 5),
    ("5_14", "5–14", 5, 15),
    ("15_44", "15–44", 15, 45),
    ("45_64", "45–64", 45, 65),
    ("65_74", "65–74", 65, 75),
    ("75_84", "75–84", 75, 85),
    ("85_plus", "85+", 85, None),
    ("age_unknown", "Not known", None, None),
)
CELL_COLUMNS = tuple(f"{sex}_{band[0]}" for sex in SEXES for band in BANDS)
CSV_COLUMNS = (
    "quarter_end",
    "record",
    "ha_cipher",
    "practice_ods",
    "gp_code",
    "patients",
    *CELL_COLUMNS,
    "acceptances",
    "deductions",
    "dispensing_patients",
    "residential_institute_patients",
)
SUMMARY_SCHEMA = "pcrm-capitation-summary/1"
# The aggregate sorts and hashes a row per registration period; give it room to do so in memory.
WORK_MEM = "128MB"

Progress = Callable[[int, int, str], None]
STEPS = 4


def _cell(sex: int, band: int) -> int:
    return sex * len(BANDS) + band


def aggregate_sql() -> str:
    """The one aggregate: rows of (practice, GP code or "", sex, band, listed, accepted, deducted,
    dispensing, residential): the last two count listed patients whose registration carries the
    dispensing marker or a residential institute code (G1/G2 HEA+DM, NAD+RIC).

    GPs are carried as ids through the big joins and named only on the few aggregated rows; the
    practice figures are the sums of its GP rows (Python adds them up), which keeps the aggregate a
    plain GROUP BY.
    """
    band_cases = "\n".join(
        f"                WHEN p.birth_date > %(born_{upper})s THEN {i}"
        for i, (_, _, _, upper) in enumerate(BANDS[:-2])
    )
    return f"""
        WITH periods AS (
            SELECT g.practice_ods,
                   pr.id AS practice_id,
                   p.nhs_number,
                   CASE p.gender WHEN '1' THEN 0 WHEN '2' THEN 1 ELSE 2 END AS sex,
                   CASE WHEN p.birth_date IS NULL THEN {len(BANDS) - 1}
{band_cases}
                        ELSE {len(BANDS) - 2} END AS band,
                   g.start,
                   LEAST(COALESCE(g."end", 'infinity'::date), COALESCE(p.death_date, 'infinity'::date)) AS stop
            FROM {GPPeriod._meta.db_table} g
            JOIN {Patient._meta.db_table} p ON p.id = g.patient_id
            LEFT JOIN {Practice._meta.db_table} pr ON pr.ods_code = g.practice_ods
            WHERE g.start <= %(quarter_end)s
              AND (g."end" IS NULL OR g."end" > %(previous_end)s)
              AND (p.death_date IS NULL OR p.death_date > %(previous_end)s)
        ),
        attributed AS (
            SELECT DISTINCT ON (r.nhs_number, r.practice_id) r.nhs_number, r.practice_id, r.gp_id,
                   r.dispensing, r.residential_institute <> '' AS residential
            FROM {Registration._meta.db_table} r
            WHERE r.acceptance_date <= %(quarter_end)s AND r.gp_id IS NOT NULL
            ORDER BY r.nhs_number, r.practice_id, r.acceptance_date DESC, r.id DESC
        ),
        figures AS (
            SELECT m.practice_ods,
                   a.gp_id,
                   m.sex,
                   m.band,
                   count(*) FILTER (WHERE m.stop > %(quarter_end)s) AS listed,
                   count(*) FILTER (WHERE m.start > %(previous_end)s) AS accepted,
                   count(*) FILTER (WHERE m.stop <= %(quarter_end)s) AS deducted,
                   count(*) FILTER (WHERE m.stop > %(quarter_end)s AND a.dispensing) AS dispensing,
                   count(*) FILTER (WHERE m.stop > %(quarter_end)s AND a.residential) AS residential
            FROM periods m
            LEFT JOIN attributed a ON a.nhs_number = m.nhs_number AND a.practice_id = m.practice_id
            WHERE m.stop > m.start
            GROUP BY m.practice_ods, a.gp_id, m.sex, m.band
        )
        SELECT f.practice_ods, COALESCE(gp.national_code || ',' || gp.local_code, ''), f.sex, f.band,
               f.listed, f.accepted, f.deducted, f.dispensing, f.residential
        FROM figures f
        LEFT JOIN {GP._meta.db_table} gp ON gp.id = f.gp_id
    """


def aggregate_params(quarter_end: dt.date) -> dict:
    params = {"quarter_end": quarter_end, "previous_end": quarters.previous_quarter_end(quarter_end)}
    for _, _, _, upper in BANDS[:-2]:
        # Younger than `upper` years on the quarter end <=> born after the same day `upper` years before.
        params[f"born_{upper}"] = quarters.years_before(quarter_end, upper)
    return params


@dataclass
class Figures:
    patients: int = 0
    cells: list[int] = field(default_factory=lambda: [0] * len(CELL_COLUMNS))
    acceptances: int = 0
    deductions: int = 0
    dispensing: int = 0
    residential: int = 0

    def add(self, sex: int, band: int, count: int) -> None:
        self.cells[_cell(sex, band)] += count
        self.patients += count

    def by_sex(self) -> list[int]:
        n = len(BANDS)
        return [sum(self.cells[i * n : (i + 1) * n]) for i in range(len(SEXES))]


def compute(quarter_end: dt.date) -> tuple[dict[str, Figures], dict[tuple[str, str], Figures]]:
    """Run the aggregate; return figures per practice ODS code and per (practice, GP code)."""
    practices: dict[str, Figures] = {}
    gps: dict[tuple[str, str], Figures] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cursor.execute(aggregate_sql(), aggregate_params(quarter_end))
        for ods, gp_code, sex, band, listed, accepted, deducted, dispensing, residential in cursor.fetchall():
            practice = practices.setdefault(ods, Figures())
            practice.add(sex, band, listed)
            practice.acceptances += accepted
            practice.deductions += deducted
            practice.dispensing += dispensing
            practice.residential += residential
            if listed:
                gps.setdefault((ods, gp_code), Figures()).add(sex, band, listed)
    return practices, gps


def build_lines(quarter: QuarterClose, practices, gps, *, today: dt.date) -> list[CapitationLine]:
    """Lines for every practice with figures and every practice PCRM sends F8s to (zeros included)."""
    known = {
        p.ods_code: p
        for p in Practice.objects.select_related("ha").filter(ods_code__in=set(practices) | _linked_ods(today))
    }
    previous = selectors.practice_patients(quarters.previous_quarter_end(quarter.quarter_end))
    gps_by_practice: dict[str, list[tuple[str, Figures]]] = {}
    for (ods, gp_code), figures in gps.items():
        gps_by_practice.setdefault(ods, []).append((gp_code, figures))
    lines = []
    for ods in sorted(set(practices) | set(known)):
        practice = known.get(ods)
        name, cipher = (practice.name, practice.ha.cipher) if practice else ("", "")
        nation = practice.ha.nation if practice else ""
        figures = practices.get(ods, Figures())
        before = previous.get(ods) if previous else None
        lines.append(
            _line(quarter, CapitationLine.Level.PRACTICE, ods, name, cipher, "", figures, nation)
            | {
                "acceptances": figures.acceptances,
                "deductions": figures.deductions,
                "dispensing": figures.dispensing,
                "residential": figures.residential,
                "previous_patients": before,
                "change": None if not previous else figures.patients - (before or 0),
            }
        )
        # Named GPs in code order, then the patients attributed to no GP.
        for gp_code, gp_figures in sorted(gps_by_practice.get(ods, []), key=lambda g: (g[0] == "", g[0])):
            lines.append(_line(quarter, CapitationLine.Level.GP, ods, name, cipher, gp_code, gp_figures, nation))
    return [CapitationLine(**line) for line in lines]


def _line(quarter, level, ods, name, cipher, gp_code, figures: Figures, nation: str) -> dict:
    male, female, other = figures.by_sex()
    return {
        "quarter": quarter,
        "level": level,
        "practice_ods": ods,
        "practice_name": name,
        "ha_cipher": cipher,
        "nation": nation,
        "gp_code": gp_code,
        "patients": figures.patients,
        "male": male,
        "female": female,
        "other_sex": other,
        "cells": list(figures.cells),
    }


def _linked_ods(today: dt.date) -> set[str]:
    return set(selectors.f8_links(today).values_list("practice__ods_code", flat=True))


def render_csv(quarter_end: dt.date, lines: list[CapitationLine]) -> bytes:
    """The CSV for PCSE: header row (CSV_COLUMNS), one PRACTICE row per practice followed by its GP
    rows; UTF-8, CRLF line ends (RFC 4180). A pure function of the lines, so it is reproducible."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        practice_row = line.level == CapitationLine.Level.PRACTICE
        writer.writerow(
            [
                quarter_end.isoformat(),
                line.level,
                line.ha_cipher,
                line.practice_ods,
                line.gp_code,
                line.patients,
                *line.cells,
                line.acceptances if practice_row else "",
                line.deductions if practice_row else "",
                line.dispensing if practice_row else "",
                line.residential if practice_row else "",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def nation_slug(nation: str) -> str:
    """ "" for PCSE's (English) files, which keep their names; "-wales" etc. for the other nations'."""
    if nation == settings.CAPITATION_PCSE_NATION:
        return ""
    return "-" + "-".join(nation.lower().split())


def csv_filename(quarter_end: dt.date, nation: str | None = None) -> str:
    return f"pcrm-capitation{nation_slug(nation or settings.CAPITATION_PCSE_NATION)}-{quarter_end.isoformat()}.csv"


def summary_filename(quarter_end: dt.date, nation: str | None = None) -> str:
    return f"pcrm-capitation{nation_slug(nation or settings.CAPITATION_PCSE_NATION)}-{quarter_end.isoformat()}.json"


def lines_of_nation(lines: list[CapitationLine], nation: str) -> list[CapitationLine]:
    """The lines one nation's payer gets: its practices only, never another nation's (#12)."""
    return [line for line in lines if line.nation == nation]


def nation_files(quarter: QuarterClose, nation: str) -> tuple[bytes, bytes]:
    """Another nation's CSV and summary, rendered from the stored lines (the same bytes every time)."""
    lines = lines_of_nation(selectors.stored_lines(quarter), nation)
    csv_bytes = render_csv(quarter.quarter_end, lines)
    return csv_bytes, render_summary(quarter.quarter_end, lines, csv_bytes, nation=nation)


def totals(lines: list[CapitationLine]) -> dict:
    """National figures from the practice lines: patients, by sex, by age band, movements."""
    practice_lines = [line for line in lines if line.level == CapitationLine.Level.PRACTICE]
    cells = [sum(line.cells[i] for line in practice_lines) for i in range(len(CELL_COLUMNS))]
    n = len(BANDS)
    return {
        "patients": sum(line.patients for line in practice_lines),
        "practices": len(practice_lines),
        "gps": len({line.gp_code for line in lines if line.level == CapitationLine.Level.GP and line.gp_code}),
        "unattributed_patients": sum(
            line.patients for line in lines if line.level == CapitationLine.Level.GP and not line.gp_code
        ),
        "acceptances": sum(line.acceptances or 0 for line in practice_lines),
        "deductions": sum(line.deductions or 0 for line in practice_lines),
        "dispensing_patients": sum(line.dispensing or 0 for line in practice_lines),
        "residential_institute_patients": sum(line.residential or 0 for line in practice_lines),
        "by_sex": {sex: sum(cells[i * n : (i + 1) * n]) for i, sex in enumerate(SEXES)},
        "by_age_band": {band[1]: sum(cells[i * n + b] for i in range(len(SEXES))) for b, band in enumerate(BANDS)},
        "by_sex_and_age_band": {
            sex: {band[1]: cells[i * n + b] for b, band in enumerate(BANDS)} for i, sex in enumerate(SEXES)
        },
    }


def render_summary(
    quarter_end: dt.date, lines: list[CapitationLine], csv_bytes: bytes, *, nation: str | None = None
) -> bytes:
    """The summary JSON: what the CSV holds, its checksum, the totals, and the previous quarter's total."""
    nation = nation or settings.CAPITATION_PCSE_NATION
    practice_lines = [line for line in lines if line.level == CapitationLine.Level.PRACTICE]
    compared = [line for line in practice_lines if line.change is not None]
    document = {
        "schema": SUMMARY_SCHEMA,
        "nation": nation,
        "quarter_start": quarters.quarter_start(quarter_end).isoformat(),
        "quarter_end": quarter_end.isoformat(),
        "csv": {
            "filename": csv_filename(quarter_end, nation),
            "sha256": hashlib.sha256(csv_bytes).hexdigest(),
            "bytes": len(csv_bytes),
            "rows": len(lines),
            "columns": list(CSV_COLUMNS),
        },
        "totals": totals(lines),
        "previous_quarter": (
            {
                "quarter_end": quarters.previous_quarter_end(quarter_end).isoformat(),
                "patients": sum(line.previous_patients or 0 for line in practice_lines),
            }
            if compared
            else None
        ),
    }
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def take_snapshot(quarter_id: int, *, progress: Progress | None = None, today: dt.date | None = None) -> QuarterClose:
    """Compute and store the quarter's snapshot once. A quarter already generated is left as it is."""
    report = progress or (lambda step, total, text: None)
    quarter = QuarterClose.objects.get(pk=quarter_id)
    if quarter.status != QuarterStatus.GENERATING:
        return quarter
    today = today or timezone.localdate()
    report(1, STEPS, f"Counting registered patients as at {quarters.day_label(quarter.quarter_end)}")
    practices, gps = compute(quarter.quarter_end)
    report(2, STEPS, "Comparing with the previous quarter")
    lines = build_lines(quarter, practices, gps, today=today)
    report(3, STEPS, "Writing the CSV and summary")
    # PCSE pays English practices: its files hold those only; other nations' are rendered apart.
    pcse_lines = lines_of_nation(lines, settings.CAPITATION_PCSE_NATION)
    csv_bytes = render_csv(quarter.quarter_end, pcse_lines)
    summary = render_summary(quarter.quarter_end, pcse_lines, csv_bytes)
    with transaction.atomic():
        quarter = QuarterClose.objects.select_for_update().get(pk=quarter_id)
        if quarter.status != QuarterStatus.GENERATING:
            return quarter  # another run stored it first
        CapitationLine.objects.bulk_create(lines, batch_size=2000)
        quarter.csv = csv_bytes
        quarter.csv_sha256 = hashlib.sha256(csv_bytes).hexdigest()
        quarter.summary = summary
        quarter.patients = sum(line.patients for line in pcse_lines if line.level == CapitationLine.Level.PRACTICE)
        quarter.generated_at = timezone.now()
        quarter.status = QuarterStatus.GENERATED
        quarter.save(update_fields=["csv", "csv_sha256", "summary", "patients", "generated_at", "status"])
    report(4, STEPS, "Stored")
    return quarter
