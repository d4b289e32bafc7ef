"""`python manage.py bench migration --json`: importing an HA's NHAIS extract at size.

Runs in a scratch database (`pcrm_bench_migration`, created and dropped through Django's test-database
machinery), so the development database is never touched. PDS is seeded with `size` people
(devtools.population); the extract lists each of them at one of ten practices of an HA still on NHAIS,
a tenth with an open FP69 notice or a held deduction. Figures:

- import_rows_per_s: the first import (validate, reconcile every row with PDS through the gateway, bring
  registrations, flags and held deductions across) in one transaction.
- reimport_rows_per_s: the same file again (every row unchanged: validated and reconciled, nothing written).
- dry_run_rows_per_s: a dry run of the first import (all of it, rolled back).
"""

import csv
import datetime as dt
import io
import os
import time

from django.db import connection
from django.test.utils import setup_test_environment, teardown_test_environment

from devtools import population
from migration.extract import REGISTRATION_COLUMNS
from migration.services.imports import import_registrations
from pds.models import Patient
from registrations.models import GP, HealthAuthority, Link, Practice

from .pds import _cpu_model

SCRATCH_DB = "pcrm_bench_migration"
DEFAULT_SIZE = 20_000
TODAY = dt.date(2026, 12, 1)


def _world():
    ha = HealthAuthority.objects.get(cipher="BE")
    practices = []
    for n in range(10):
        practice = Practice.objects.create(
            ods_code=f"K8{n:04d}", name=f"Bench {n}", ha=ha, link_code=f"PB{chr(65 + n)}5", mesh_mailbox=f"BENCH{n}"
        )
        GP.objects.create(practice=practice, national_code=f"{4900000 + n:07d}", local_code=f"{900 + n}")
        Link.objects.create(practice=practice, ha=ha)
        practices.append(practice)
    return ha, practices


def _extract(practices, size: int) -> bytes:
    gps = {p.pk: p.gps.get() for p in practices}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REGISTRATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    people = Patient.objects.filter(death_date__isnull=True).prefetch_related("names", "addresses").order_by("id")
    for i, person in enumerate(people[:size].iterator(chunk_size=2000)):
        practice = practices[i % len(practices)]
        gp = gps[practice.pk]
        name = person.usual_name
        address = person.current_address
        row = {
            "nhs_number": person.nhs_number,
            "surname": name.family if name else "UNKNOWN",
            "forenames": " ".join(name.given) if name else "",
            "date_of_birth": person.birth_date.isoformat(),
            "sex": person.gender,
            "postcode": address.postcode if address else "",
            "practice_ods": practice.ods_code,
            "gp_national_code": gp.national_code,
            "gp_local_code": gp.local_code,
            "acceptance_date": max(person.birth_date, dt.date(2010, 1, 1)).isoformat(),
            "dispensing": "Y" if i % 7 == 0 else "N",
        }
        if i % 20 == 1:
            row.update(fp69_date="2027-03-01", fp69_reason="8")
        if i % 20 == 2:
            row.update(pending_deduction_date="2027-01-15", pending_deduction_reason="13")
        writer.writerow(row)
    return out.getvalue().encode()


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def run(options: dict) -> dict:
    size = options.get("size") or DEFAULT_SIZE
    settings_dict = connection.settings_dict
    settings_dict["TEST"]["NAME"] = SCRATCH_DB
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        load_before = os.getloadavg()[0]
        population.seed(int(size * 1.05) + 100)
        ha, practices = _world()
        data = _extract(practices, size)

        def once(**kwargs):
            return import_registrations(ha, data, file_name="bench.csv", by="bench", today=TODAY, **kwargs)

        dry_s, dry = _timed(lambda: once(dry_run=True))
        first_s, first = _timed(once)
        again_s, again = _timed(once)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    return {
        "rows": first.rows,
        "invalid": first.invalid,
        "imported": first.imported,
        "reimport_unchanged": again.unchanged,
        "dry_run_imported": dry.imported,
        "import_s": round(first_s, 2),
        "import_rows_per_s": round(first.rows / first_s),
        "reimport_rows_per_s": round(again.rows / again_s),
        "dry_run_rows_per_s": round(dry.rows / dry_s),
        "reconciliation": first.reconciliation,
        "machine": {"cpu": _cpu_model(), "cpus": os.cpu_count(), "load_before": round(load_before, 2)},
        "command": f"python manage.py bench migration --json -n {size}",
    }
