"""The demo world leaves Berkshire (on NHAIS) half-way through its migration: files built by our own code
from the protocol, imported, reconciled, shadow-run and planned, with the checklist not yet green."""

import pytest
from django.core.management import call_command

from exceptions.models import ExceptionCase
from migration import selectors
from migration.models import ImportRun, ShadowRun
from registrations.models import HealthAuthority

pytestmark = pytest.mark.django_db


def test_seed_demo_shows_a_migration_in_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("PCRM_DEMO_MIGRATION_DIR", str(tmp_path))  # not the developer's .run/demo-migration
    call_command("seed_demo", patients=600, no_backlog=True)
    ha = HealthAuthority.objects.get(cipher="BE")
    assert not ha.migrated
    extract = ImportRun.objects.get(ha=ha, kind="REGISTRATIONS")
    assert (extract.status, extract.invalid) == ("PARTIAL", 2)  # a bad check digit, an unknown GP
    assert extract.valid == extract.rows - 2 and extract.imported == extract.valid
    reconciliation = extract.reconciliation
    assert reconciliation["not_in_pds"] == 1 and reconciliation["differ"] >= 2
    assert ExceptionCase.objects.filter(kind="MIGRATION_DIFFERENCE", ha_cipher="BE").count() == (
        reconciliation["differ"] + reconciliation["not_in_pds"]
    )
    run = ShadowRun.objects.get(ha=ha)
    assert (run.transactions, run.agreed, run.disagreed, run.unmatched) == (23, 20, 2, 1)
    assert set(run.by_type) == {"G1", "G2", "G3", "G5"}
    checks = {c.key: c.ok for c in selectors.checklist(ha)}
    assert checks == {
        "counters": True,
        "registrations": False,
        "reconciled": True,
        "shadow": False,
        "cases": False,
        "planned": True,
    }
    assert (tmp_path / "extract.csv").is_file() and len(list((tmp_path / "inbound").iterdir())) == 23
