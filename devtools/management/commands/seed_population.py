"""`python manage.py seed_population --patients N [--seed S] [--truncate]`: a synthetic population.

Deterministic for a seed (on an empty PDS). Loaded with COPY in one transaction; see pds/population.py.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from devtools import population
from pds.models import Patient


class Command(BaseCommand):
    help = "Load a realistic synthetic population into PDS (names by frequency, ages, postcodes, practices)."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, required=True, help="how many people to create")
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same people")
        parser.add_argument("--truncate", action="store_true", help="remove every PDS record (and its history) first")

    def handle(self, *args, patients: int, seed: int, truncate: bool, **options):
        if patients < 1:
            raise CommandError("--patients must be at least 1")
        if truncate:
            with transaction.atomic(), connection.cursor() as cursor:
                tables = [m._meta.db_table for m in Patient._meta.apps.get_app_config("pds").get_models()]
                tables = [t for t in tables if t != "pds_apitoken"]
                cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        first = next(population.nhs_numbers())
        if Patient.objects.filter(nhs_number=first).exists():
            raise CommandError("A population is already seeded here; use --truncate to replace it.")
        started = time.perf_counter()
        counts = population.seed(patients, seed, progress=lambda n: self.stdout.write(f"  {n:,} people generated"))
        elapsed = time.perf_counter() - started
        rows = ", ".join(f"{table} {count:,}" for table, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded {patients:,} people in {elapsed:.1f}s ({rows})"))
