"""`migration import` and `migration counters` against the real database and PDS: bad rows, re-import,
dry run, reconciliation differences and their cases, the JSON and the exit status."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from support_migration import ROW, TODAY, counters, extract, three_patients

from exceptions.models import AuditEvent, ExceptionCase
from migration.models import ExtractRecord, ImportRun, ImportStatus
from migration.services.counters import import_counters
from migration.services.imports import import_registrations
from registrations.models import FP69Flag, HealthAuthority, Link, PendingDeduction, Registration

pytestmark = pytest.mark.django_db


def run(ha, data: bytes, **kwargs):
    return import_registrations(ha, data, file_name="extract.csv", by="tester", today=TODAY, **kwargs)


def test_a_clean_extract_brings_registrations_flags_and_pending_deductions_across(nhais_ha):
    rows = three_patients()
    rows[0].update(dispensing="Y", residential_institute_code="RT", fp69_date="2027-02-01", fp69_reason="8")
    rows[1].update(pending_deduction_date="2026-12-20", pending_deduction_reason="13")
    report = run(nhais_ha.ha, extract(*rows))
    assert report.as_json() == {
        "rows": 3,
        "valid": 3,
        "invalid": 0,
        "imported": 3,
        "unchanged": 0,
        "errors": [],
        "reconciliation": {"agree": 3, "differ": 0, "not_in_pds": 0},
    }
    jane = Registration.objects.get(nhs_number="9434765919")
    assert (jane.practice, jane.gp, jane.dispensing, jane.residential_institute) == (
        nhais_ha.first,
        nhais_ha.gp1,
        True,
        "RT",
    )
    assert jane.acceptance_date == dt.date(2015, 1, 1) and jane.deducted_on is None
    flag = FP69Flag.objects.get(nhs_number="9434765919")
    assert (flag.status, flag.reason, flag.expires_on, flag.set_on) == (
        "OPEN",
        "8",
        dt.date(2027, 2, 1),
        dt.date(2026, 8, 1),
    )
    pending = PendingDeduction.objects.get(nhs_number="9434765870")
    assert (pending.status, pending.reason, pending.due_on, pending.practice) == (
        "PENDING",
        "13",
        dt.date(2026, 12, 20),
        nhais_ha.second,
    )
    assert ImportRun.objects.get().status == ImportStatus.IMPORTED
    event = AuditEvent.objects.get(action="migration_import")
    assert event.object_id == "BE" and event.system == "migration" and event.detail["imported"] == 3


def test_a_file_with_errors_changes_nothing_and_keeps_the_rejected_rows(nhais_ha):
    rows = [
        *three_patients(),
        {**ROW, "nhs_number": "9434765918"},
        {**ROW, "nhs_number": "9000000017", "practice_ods": "C85001"},
    ]
    report = run(nhais_ha.ha, extract(*rows))
    assert (report.rows, report.valid, report.invalid, report.imported) == (5, 3, 2, 0)
    assert [(e["row"], e["field"]) for e in report.as_json()["errors"]] == [
        (5, "nhs_number"),
        (6, "gp_local_code"),
        (6, "practice_ods"),
    ]
    assert not Registration.objects.exists() and not ExtractRecord.objects.exists()
    refused = ImportRun.objects.get()
    assert refused.status == ImportStatus.REFUSED
    assert [r.row for r in refused.rejected_rows.all()] == [5, 6]
    assert refused.rejected_rows.get(row=6).values["practice_ods"] == "C85001"


def test_skip_invalid_imports_the_valid_rows_and_keeps_the_others(nhais_ha):
    rows = [
        *three_patients(),
        {**ROW, "nhs_number": "9000000017", "gp_national_code": "4800120", "gp_local_code": "120"},
    ]
    report = run(nhais_ha.ha, extract(*rows), skip_invalid=True)
    assert (report.valid, report.invalid, report.imported) == (3, 1, 3)
    assert Registration.objects.count() == 3
    partial = ImportRun.objects.get()
    assert partial.status == ImportStatus.PARTIAL and partial.rejected_rows.get().row == 5


def test_importing_the_same_file_again_changes_nothing(nhais_ha):
    data = extract(*three_patients())
    run(nhais_ha.ha, data)
    before = list(Registration.objects.order_by("id").values())
    again = run(nhais_ha.ha, data)
    assert (again.imported, again.unchanged) == (0, 3)
    assert list(Registration.objects.order_by("id").values()) == before
    changed = three_patients()
    changed[2]["gp_national_code"], changed[2]["practice_ods"] = "4800120", "K81002"
    changed[2]["gp_local_code"] = "120"
    third = run(nhais_ha.ha, extract(*changed))
    assert (third.imported, third.unchanged) == (1, 2)
    assert Registration.objects.count() == 3
    assert Registration.objects.get(nhs_number="9000000009").practice == nhais_ha.second


def test_an_fp69_flag_no_longer_in_the_extract_is_ended(nhais_ha):
    rows = three_patients()
    rows[0].update(fp69_date="2027-02-01", fp69_reason="8")
    run(nhais_ha.ha, extract(*rows))
    rows[0].update(fp69_date="", fp69_reason="")
    run(nhais_ha.ha, extract(*rows))
    assert FP69Flag.objects.get().status == "SUPERSEDED"


def test_a_dry_run_reports_what_would_change_and_changes_nothing(nhais_ha):
    report = run(nhais_ha.ha, extract(*three_patients()), dry_run=True)
    assert (report.imported, report.reconciliation["agree"]) == (3, 3)
    assert not Registration.objects.exists() and not ImportRun.objects.exists()
    assert AuditEvent.objects.filter(action="migration_import_dry_run").count() == 1


def test_reconciliation_lists_differences_and_opens_one_case_each_on_request(nhais_ha):
    rows = three_patients()
    rows[0]["surname"] = "WRONGNAME"
    rows[1].update(practice_ods="K81001", gp_national_code="4800110", gp_local_code="110")
    rows.append({**ROW, "nhs_number": "9000000017", "surname": "NOBODY"})
    report = run(nhais_ha.ha, extract(*rows), open_cases=True)
    assert report.reconciliation == {"agree": 1, "differ": 2, "not_in_pds": 1}
    words = {d["row"]: d["differences"] for d in report.differences}
    assert words[2] == ["Surname differs from PDS"]
    assert words[3] == ["PDS shows the patient registered at K81002, the extract at K81001"]
    assert words[5] == ["PDS has no record with this NHS number"]
    cases = ExceptionCase.objects.filter(kind="MIGRATION_DIFFERENCE")
    assert cases.count() == 3 and {c.ha_cipher for c in cases} == {"BE"}
    assert cases.get(nhs_number="9434765870").practice_ods == "K81001"
    again = run(nhais_ha.ha, extract(*rows), open_cases=True)
    assert again.cases_opened == 0 and cases.count() == 3


def test_the_command_prints_exactly_the_json_and_exits_1_on_invalid_rows(nhais_ha, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(extract(*three_patients()))
    bad.write_bytes(extract(*three_patients(), {**ROW, "nhs_number": "123"}))
    out = StringIO()
    call_command("migration", "import", str(good), "--ha", "be", "--json", "--by", "tester", stdout=out)
    printed = json.loads(out.getvalue())
    assert list(printed) == ["rows", "valid", "invalid", "imported", "unchanged", "errors", "reconciliation"]
    assert printed["imported"] == 3
    out = StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("migration", "import", str(bad), "--ha", "BE", "--json", stdout=out)
    assert exit_status.value.code == 1
    assert json.loads(out.getvalue())["errors"] == [
        {"row": 5, "field": "nhs_number", "message": "Not a 10-digit NHS number."}
    ]


def link_row(code: str, n: int) -> dict:
    return {
        "link_code": code,
        "last_sis_sent": n,
        "last_sms_sent": n + 1,
        "last_sis_received": n + 2,
        "last_sms_received": n + 3,
    }


def test_counters_continue_nhais_numbers_and_a_repeat_is_unchanged(nhais_ha):
    data = counters(link_row("PAL5", 100), link_row("PAM5", 200), {"link_code": "BE01", "last_tn_sent": 40017})
    report = import_counters(nhais_ha.ha, data, file_name="counters.csv", by="tester")
    assert (report.valid, report.imported, report.invalid) == (3, 3, 0)
    link = Link.objects.get(practice=nhais_ha.first)
    assert (link.last_sis_sent, link.last_sms_sent, link.last_sis_received, link.last_sms_received) == (
        100,
        101,
        102,
        103,
    )
    assert HealthAuthority.objects.get(cipher="BE").last_tn_sent == 40017
    again = import_counters(nhais_ha.ha, data, file_name="counters.csv", by="tester")
    assert (again.imported, again.unchanged) == (0, 3)
    assert AuditEvent.objects.filter(action="migration_counters").count() == 2


def test_counters_are_checked_against_reference_data(nhais_ha):
    data = counters(
        link_row("PAL5", 1),
        link_row("PAB5", 1),  # a practice of another HA
        {"link_code": "PAM5", "last_sis_sent": 3},  # incomplete
        {"link_code": "BE01", "last_tn_sent": 5, "last_sis_sent": 4},
    )
    report = import_counters(nhais_ha.ha, data, file_name="counters.csv", by="tester")
    assert [(e.row, e.field) for e in report.errors] == [
        (3, "link_code"),
        (4, "last_sis_received"),
        (4, "last_sms_received"),
        (4, "last_sms_sent"),
        (5, "last_sis_sent"),
    ]
    assert Link.objects.get(practice=nhais_ha.first).last_sis_sent == 0  # refused: nothing changed


def test_counters_are_refused_once_pcrm_serves_the_ha(nhais_ha):
    HealthAuthority.objects.filter(pk=nhais_ha.ha.pk).update(migrated=True)
    nhais_ha.ha.refresh_from_db()
    report = import_counters(nhais_ha.ha, counters(link_row("PAL5", 1)), file_name="c.csv", by="tester")
    assert report.refused and report.errors[0].field == "ha"


def test_imported_flags_and_held_deductions_wait_until_the_ha_is_cut_over(nhais_ha):
    from registrations.services import fp69, pending

    rows = three_patients()
    rows[0].update(fp69_date="2026-11-01", fp69_reason="8")  # already past: NHAIS would act on it, not PCRM
    rows[1].update(pending_deduction_date="2026-11-15", pending_deduction_reason="13")
    run(nhais_ha.ha, extract(*rows))
    assert fp69.expire_due(today=TODAY) == [] and pending.deduct_due(today=TODAY) == []
    assert FP69Flag.objects.get().status == "OPEN" and PendingDeduction.objects.get().status == "PENDING"

    HealthAuthority.objects.filter(pk=nhais_ha.ha.pk).update(migrated=True, cutover_date=TODAY)
    assert len(fp69.expire_due(today=TODAY)) == 1 and len(pending.deduct_due(today=TODAY)) == 1
    assert FP69Flag.objects.get().status == "EXPIRED" and PendingDeduction.objects.get().status == "DEDUCTED"


def test_an_extract_is_refused_once_pcrm_serves_the_ha(nhais_ha):
    HealthAuthority.objects.filter(pk=nhais_ha.ha.pk).update(migrated=True, cutover_date=TODAY)
    nhais_ha.ha.refresh_from_db()
    report = run(nhais_ha.ha, extract(*three_patients()), skip_invalid=True)
    assert report.errors[0].field == "ha" and report.imported == 0 and report.invalid == 1
    assert not Registration.objects.exists()
