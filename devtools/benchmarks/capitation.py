"""`bench capitation`: the capitation snapshot on a million registered patients, against plain SQL.

Runs in a scratch database (pcrm_bench_cap). Loads N patients with COPY: each has a current
registration period at one of 120 practices (three GPs each), a tenth moved practice at some point,
a few joined, left or died in the quarter, and nine in ten have the PCRM registration that names
their GP. Then, for the quarter ending 31 March 2026, three times each, alternating:

- report_s: registrations.capitation.snapshot.take_snapshot, everything the close of quarter does to
  produce the report: the aggregate, the per-practice and per-GP lines stored, the CSV and summary
  rendered and stored;
- raw_sql_s: the same aggregate run as a bare `COPY (...) TO STDOUT` read into memory: the floor for
  producing those figures from this database at all.

Figures are medians; ratio = report_s / raw_sql_s. peak_mb is this process's peak resident set size
over the whole run, loading included. The run also checks that the stored lines and the raw COPY agree.
"""

import csv
import datetime as dt
import io
import os
import random
import resource
import statistics
import time

from django.db import connection, models
from django.utils import timezone

from core.nhs_number import from_serial
from pds.models import GPPeriod, Patient
from registrations.capitation import snapshot
from registrations.models import (
    GP,
    CapitationLine,
    HealthAuthority,
    Link,
    Practice,
    QuarterClose,
    QuarterStatus,
    Registration,
)

QUARTER_END = dt.date(2026, 3, 31)
PRACTICES = 120
GPS_PER_PRACTICE = 3
RUNS = 3
SEED = 20260331


def run(options: dict) -> dict:
    n = options.get("size") or 1_000_000
    creation = connection.creation
    connection.settings_dict["TEST"]["NAME"] = "pcrm_bench_cap"
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        practices = _reference_data()
        started = time.perf_counter()
        periods = _load(n, practices)
        load_s = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        quarter = QuarterClose.objects.create(quarter_end=QUARTER_END, closed_by="bench")

        _raw_copy()  # warm the cache for both contenders
        report, raw = [], []
        for _ in range(RUNS):
            raw.append(_timed(_raw_copy)[0])
            _reset(quarter)
            report.append(_timed(lambda: snapshot.take_snapshot(quarter.pk))[0])
        copied = _raw_copy()
        quarter.refresh_from_db()
        _check(quarter, copied)

        report_s, raw_s = statistics.median(report), statistics.median(raw)
        return {
            "report_s": round(report_s, 3),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "raw_sql_s": round(raw_s, 3),
            "ratio": round(report_s / raw_s, 3),
            "patients": n,
            "registration_periods": periods,
            "registered_at_quarter_end": quarter.patients,
            "practices": PRACTICES,
            "csv_bytes": len(bytes(quarter.csv)),
            "load_s": round(load_s, 1),
            "load_avg": round(os.getloadavg()[0], 1),
            "report_runs_s": [round(x, 3) for x in report],
            "raw_sql_runs_s": [round(x, 3) for x in raw],
        }
    finally:
        creation.destroy_test_db(old_name, verbosity=0)


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _reset(quarter: QuarterClose) -> None:
    CapitationLine.objects.filter(quarter=quarter).delete()
    QuarterClose.objects.filter(pk=quarter.pk).update(
        status=QuarterStatus.GENERATING, generated_at=None, patients=None, csv=None, summary=None, csv_sha256=""
    )


def _raw_copy() -> list[list[str]]:
    """The same aggregate as a bare COPY to the client, parameters inlined as literals."""
    params = {k: f"'{v.isoformat()}'::date" for k, v in snapshot.aggregate_params(QUARTER_END).items()}
    sql = snapshot.aggregate_sql() % params
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.execute(f"SET work_mem = '{snapshot.WORK_MEM}'")
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
        cursor.execute("RESET work_mem")
    return list(csv.reader(io.StringIO(buffer.getvalue().decode())))


def _check(quarter: QuarterClose, copied: list[list[str]]) -> None:
    """The stored report and the raw COPY must hold the same figures."""
    listed, accepted, deducted = (sum(int(row[i]) for row in copied) for i in (4, 5, 6))
    lines = CapitationLine.objects.filter(quarter=quarter, level=CapitationLine.Level.PRACTICE)
    stored = sum(line.patients for line in lines)
    totals = lines.aggregate(a=models.Sum("acceptances"), d=models.Sum("deductions"))
    if (listed, accepted, deducted) != (stored, totals["a"], totals["d"]) or stored != quarter.patients:
        raise AssertionError(f"report {stored}/{totals} disagrees with raw SQL {listed}/{accepted}/{deducted}")


def _reference_data() -> list[tuple[Practice, list[GP]]]:
    out = []
    for h in range(3):
        cipher = f"Z{h}B"
        ha = HealthAuthority.objects.create(
            cipher=cipher, name=f"Bench HA {h}", nation="England", link_code=f"{cipher}1", migrated=True
        )
        for p in range(PRACTICES // 3):
            i = h * (PRACTICES // 3) + p
            practice = Practice.objects.create(
                ods_code=f"Y{i:05d}",
                name=f"Bench Surgery {i}",
                ha=ha,
                link_code=f"Q{_base36(i)}5",
                mesh_mailbox=f"GPMB{i + 1:05d}",
            )
            Link.objects.create(practice=practice, ha=ha)
            gps = [
                GP.objects.create(
                    national_code=f"{5000000 + i * 10 + g}", local_code=f"{i * 10 + g}", practice=practice
                )
                for g in range(GPS_PER_PRACTICE)
            ]
            out.append((practice, gps))
    return out


def _base36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return digits[n // 36] + digits[n % 36]


def _copy(model, columns: list[str], rows) -> int:
    """COPY rows into the model's table; columns not given take the model's defaults."""
    given = set(columns)
    now = timezone.now()
    extra, extra_values = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default():
            value = f.get_default()
        elif f.null:
            value = None
        else:
            value = ""
        extra.append(f.column)
        extra_values.append(value)
    table = model._meta.db_table
    count = 0
    with connection.cursor() as cursor:
        # Bulk-loaded bench data needs no history: PDS's change-tracking triggers are off while it loads.
        cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        names = ", ".join(f'"{c}"' for c in [*columns, *extra])
        with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row((*row, *extra_values))
                count += 1
        cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
    return count


def _people(n: int, practices):
    """The same synthetic population on every pass (one seed, the same draws per patient), so each
    table is generated as it is copied and nothing is held in memory."""
    rng = random.Random(SEED)
    day = dt.timedelta(days=1)
    quarter_start = dt.date(2026, 1, 1)
    base = dt.date(1990, 1, 1)
    span = (QUARTER_END - base).days
    for pid in range(1, n + 1):
        roll, moved, sex = rng.random(), rng.random() < 0.1, rng.random()
        born = dt.date(1920, 1, 1) + day * rng.randrange(0, 38_000)
        start = base + day * rng.randrange(0, span)
        joined_in_quarter = quarter_start + day * rng.randrange(0, 90)
        if roll < 0.02:
            start = joined_in_quarter
        died = None
        if roll > 0.995:
            died = quarter_start + day * (pid % 90)  # died in the quarter
        elif roll > 0.99:
            died = dt.date(2025, 6, 1)  # died before it
        # Removed from the list in the quarter (without a new registration) for one in a hundred.
        removed = quarter_start + day * 45 if 0.98 < roll <= 0.99 and start < quarter_start + day * 45 else None
        gender = "1" if sex < 0.49 else ("2" if sex < 0.99 else "9")
        yield pid, pid % len(practices), gender, born, start, moved, died, removed


def _load(n: int, practices) -> int:
    """Patients, their registration periods and PCRM registrations; returns the number of periods."""
    day = dt.timedelta(days=1)

    def patients():
        for pid, _, gender, born, _, _, died, _ in _people(n, practices):
            yield pid, from_serial(20_000_000 + pid * 7), gender, born, died, "formal" if died else ""

    _copy(Patient, ["id", "nhs_number", "gender", "birth_date", "death_date", "death_status"], patients())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{Patient._meta.db_table}', 'id'), %s)", [n])

    def periods():
        for pid, p, _, _, start, moved, _, removed in _people(n, practices):
            if moved:  # an earlier registration elsewhere, ended when this one began
                yield pid, practices[(p + 7) % len(practices)][0].ods_code, start - day * 2000, start
            yield pid, practices[p][0].ods_code, start, removed

    count = _copy(GPPeriod, ["patient_id", "practice_ods", "start", "end"], periods())

    def registrations():
        for pid, p, _, _, start, _, _, _ in _people(n, practices):
            if pid % 10:  # one in ten has no PCRM registration naming a GP (migrated from NHAIS)
                practice, gps = practices[p]
                yield from_serial(20_000_000 + pid * 7), practice.pk, gps[pid % len(gps)].pk, start, "A", "1"

    _copy(
        Registration,
        ["nhs_number", "practice_id", "gp_id", "acceptance_date", "acceptance_code", "acceptance_type"],
        registrations(),
    )
    return count
