"""Import an HA's NHAIS registration extract: registrations with GP, DM and RIC, open FP69 flags, pending
deductions; each row reconciled with PDS; differences opened as cases on request.

The file is one database transaction: with invalid rows it changes nothing unless the person chose to import
the valid ones (`skip_invalid`), and the rejected rows are kept with the run. A dry run does all of it and
rolls back, so it reports exactly what a real run would change. Each patient's `ExtractRecord` remembers the
row's fingerprint, so importing the same file again reports every row unchanged and writes nothing.
"""

import datetime as dt

from django.utils import timezone

from pds.gateway import get_gateway
from registrations.models import (
    GP,
    FP69Flag,
    FP69Status,
    HealthAuthority,
    PendingDeduction,
    PendingDeductionStatus,
    Practice,
    Registration,
)
from registrations.ports import CaseKind, CaseRequest, open_case
from registrations.services.fp69 import add_months

from ..extract import ExtractRow, RowError, parse_registrations
from ..models import ExtractRecord, ImportKind, Reconciliation
from . import audit
from .reconcile import Compared, compare
from .report import ImportReport
from .runs import run_file

SET_BY = "migration from NHAIS"
BATCH = 1000
FP69_MONTHS = 6  # NHAIS's notice period: the flag was set this long before its expiry


def import_registrations(
    ha: HealthAuthority,
    data: bytes,
    *,
    file_name: str,
    by: str,
    user=None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    open_cases: bool = False,
    today: dt.date | None = None,
) -> ImportReport:
    today = today or timezone.localdate()
    parsed = parse_registrations(data, today=today)
    rows, errors = _reference_checks(ha, parsed.rows)
    if ha.is_served_by_pcrm(today):
        # From cut-over PCRM holds the live list: an NHAIS extract would overwrite it with an older picture.
        errors.append(RowError(1, "ha", f"{ha.cipher} is already cut over: PCRM's registrations are live."))
        rows = []
    errors = sorted([*parsed.errors, *errors], key=lambda e: (e.row, e.field))
    report = ImportReport(rows=parsed.total, errors=errors, dry_run=dry_run)
    report.invalid = len({e.row for e in errors})  # a broken header (row 1) counts: nothing could be read
    report.valid = len(rows)
    report.refused = bool(report.invalid) and not skip_invalid
    compared = _reconcile(rows, report)
    run_file(
        ha,
        ImportKind.REGISTRATIONS,
        data,
        file_name=file_name,
        by=by,
        report=report,
        raw=parsed.raw,
        apply=lambda run: _bring_across(ha, rows, compared, run, report, open_cases=open_cases, today=today),
    )
    audit.record(
        "migration_import_dry_run" if dry_run else "migration_import",
        ha,
        by=by,
        user=user,
        detail={"file": file_name[:255], **report.as_json(), "errors": len(errors), "cases": report.cases_opened},
    )
    return report


def _reference_checks(ha: HealthAuthority, rows: list[ExtractRow]) -> tuple[list[ExtractRow], list[RowError]]:
    """The checks that need reference data: the practice and GP are known and in this HA, and no other
    practice already holds an open FP69 flag or a pending deduction for the patient."""
    practices = {
        p.ods_code: p for p in Practice.objects.select_related("ha").filter(ods_code__in={r.practice_ods for r in rows})
    }
    gps = {
        (g.national_code, g.local_code): g
        for g in GP.objects.filter(national_code__in={r.gp_national_code for r in rows})
    }
    numbers = {r.nhs_number for r in rows}
    ours = ExtractRecord.objects.filter(ha=ha, nhs_number__in=numbers)
    own_flags = set(ours.exclude(fp69=None).values_list("fp69_id", flat=True))
    own_pending = set(ours.exclude(pending_deduction_id=None).values_list("pending_deduction_id", flat=True))
    flagged = set(
        FP69Flag.objects.filter(nhs_number__in=numbers, status=FP69Status.OPEN)
        .exclude(pk__in=own_flags)
        .values_list("nhs_number", flat=True)
    )
    pending = set(
        PendingDeduction.objects.filter(nhs_number__in=numbers, status=PendingDeductionStatus.PENDING)
        .exclude(pk__in=own_pending)
        .values_list("nhs_number", flat=True)
    )
    valid, errors = [], []
    for row in rows:
        found = _row_reference_errors(ha, row, practices, gps, flagged, pending)
        if found:
            errors.extend(found)
        else:
            valid.append(row)
    return valid, errors


def _row_reference_errors(ha, row: ExtractRow, practices, gps, flagged, pending) -> list[RowError]:
    errors = []
    practice = practices.get(row.practice_ods)
    if practice is None:
        errors.append(RowError(row.row, "practice_ods", "Not a practice PCRM knows: add it in reference data first."))
    elif practice.ha_id != ha.pk:
        errors.append(
            RowError(row.row, "practice_ods", f"The practice belongs to HA {practice.ha.cipher}, not {ha.cipher}.")
        )
    gp = gps.get((row.gp_national_code, row.gp_local_code))
    if gp is None:
        errors.append(RowError(row.row, "gp_national_code", "Not a GP PCRM knows (national and local code)."))
    elif practice is not None and gp.practice_id != practice.pk:
        errors.append(RowError(row.row, "gp_local_code", "The GP is not at the row's practice."))
    if row.fp69_date and row.nhs_number in flagged:
        errors.append(RowError(row.row, "fp69_date", "The patient already has an open FP69 flag from elsewhere."))
    if row.pending_deduction_date and row.nhs_number in pending:
        errors.append(RowError(row.row, "pending_deduction_date", "The patient already has a pending deduction."))
    return errors


def _reconcile(rows: list[ExtractRow], report: ImportReport) -> dict[int, Compared]:
    gateway = get_gateway()
    compared = {}
    for row in rows:
        result = compare(row, gateway)
        compared[row.row] = result
        report.reconciliation[str(result.result)] += 1
        if result.result != Reconciliation.AGREE:
            report.differences.append(
                {
                    "row": row.row,
                    "practice_ods": row.practice_ods,
                    "result": str(result.result),
                    "differences": result.differences,
                }
            )
    return compared


def _bring_across(ha, rows, compared, run, report: ImportReport, *, open_cases: bool, today: dt.date) -> None:
    practices = {p.ods_code: p for p in Practice.objects.filter(ods_code__in={r.practice_ods for r in rows})}
    gps = {(g.national_code, g.local_code): g for g in GP.objects.filter(practice__in=practices.values())}
    records = {
        r.nhs_number: r
        for r in ExtractRecord.objects.select_for_update(of=("self",))
        .select_related("registration", "fp69")
        .filter(ha=ha, nhs_number__in=[r.nhs_number for r in rows])
    }
    fresh: list[ExtractRow] = []
    for row in rows:
        record = records.get(row.nhs_number)
        result = compared[row.row]
        if record is None and not row.fp69_date and not row.pending_deduction_date:
            fresh.append(row)  # the common case, written in batches below
            continue
        if record is not None and record.fingerprint == row.fingerprint:
            report.unchanged += 1
            if (record.reconciliation, record.differences) != (result.result, result.differences):
                record.reconciliation, record.differences = result.result, result.differences
                record.save(update_fields=["reconciliation", "differences", "updated_at"])
        else:
            practice = practices[row.practice_ods]
            gp = gps[(row.gp_national_code, row.gp_local_code)]
            record = _apply_row(ha, row, practice, gp, record, run, result, today)
            report.imported += 1
        records[row.nhs_number] = record
    for start in range(0, len(fresh), BATCH):
        records.update(_create_batch(ha, fresh[start : start + BATCH], practices, gps, compared, run))
        report.imported += len(fresh[start : start + BATCH])
    if open_cases:
        for row in rows:
            record, result = records[row.nhs_number], compared[row.row]
            if result.differences and record.case_differences != result.differences:
                _open_case(ha, row, record, result)
                report.cases_opened += 1


def _create_batch(ha, rows: list[ExtractRow], practices, gps, compared, run) -> dict[str, ExtractRecord]:
    """New patients with nothing pending: their registrations and records in two INSERTs per batch."""
    registrations = Registration.objects.bulk_create(
        Registration(
            nhs_number=row.nhs_number,
            practice=practices[row.practice_ods],
            gp=gps[(row.gp_national_code, row.gp_local_code)],
            acceptance_date=row.acceptance_date,
            dispensing=row.dispensing,
            residential_institute=row.residential_institute_code,
        )
        for row in rows
    )
    records = ExtractRecord.objects.bulk_create(
        ExtractRecord(
            ha=ha,
            nhs_number=row.nhs_number,
            practice_ods=row.practice_ods,
            fingerprint=row.fingerprint,
            registration=registration,
            run=run,
            reconciliation=compared[row.row].result,
            differences=compared[row.row].differences,
        )
        for row, registration in zip(rows, registrations, strict=True)
    )
    return {record.nhs_number: record for record in records}


def _apply_row(ha, row: ExtractRow, practice: Practice, gp: GP, record: ExtractRecord | None, run, result, today):
    registration = record.registration if record is not None else None
    values = {
        "nhs_number": row.nhs_number,
        "practice": practice,
        "gp": gp,
        "acceptance_date": row.acceptance_date,
        "dispensing": row.dispensing,
        "residential_institute": row.residential_institute_code,
    }
    if registration is None:
        registration = Registration.objects.create(**values)
    else:
        # Until cut-over the extract is NHAIS's picture of the list: a newer extract replaces what an older
        # one brought, rather than writing history PCRM never saw happen.
        for name, value in values.items():
            setattr(registration, name, value)
        registration.save()
    fp69 = _fp69(row, practice, gp, record.fp69 if record else None, today)
    pending_id = _pending(row, practice, gp, record.pending_deduction_id if record else None, today)
    if record is None:
        record = ExtractRecord(ha=ha, nhs_number=row.nhs_number)
    record.practice_ods = row.practice_ods
    record.fingerprint = row.fingerprint
    record.registration = registration
    record.fp69 = fp69
    record.pending_deduction_id = pending_id
    record.run = run
    record.reconciliation, record.differences = result.result, result.differences
    record.save()
    return record


def _fp69(row: ExtractRow, practice, gp, flag: FP69Flag | None, today) -> FP69Flag | None:
    open_flag = flag if flag is not None and flag.status == FP69Status.OPEN else None
    if row.fp69_date is None:
        if open_flag is not None:
            open_flag.status = FP69Status.SUPERSEDED
            open_flag.closed_on, open_flag.closed_by = today, SET_BY
            open_flag.save()
        return None
    open_flag = open_flag or FP69Flag(nhs_number=row.nhs_number, set_by=SET_BY)
    open_flag.practice, open_flag.gp, open_flag.reason = practice, gp, row.fp69_reason
    open_flag.expires_on = row.fp69_date
    open_flag.set_on = add_months(row.fp69_date, -FP69_MONTHS)
    open_flag.note = "Set by NHAIS; brought across with the HA's registrations."
    open_flag.save()
    return open_flag


def _pending(row: ExtractRow, practice, gp, pending_id: int | None, today) -> int | None:
    pending = (
        PendingDeduction.objects.filter(pk=pending_id, status=PendingDeductionStatus.PENDING).first()
        if pending_id
        else None
    )
    if row.pending_deduction_date is None:
        if pending is not None:
            pending.status = PendingDeductionStatus.CANCELLED
            pending.closed_on, pending.closed_by = today, SET_BY
            pending.note = "No longer in the NHAIS extract."
            pending.save()
        return None
    pending = pending or PendingDeduction(nhs_number=row.nhs_number)
    pending.practice, pending.gp = practice, gp
    pending.reason, pending.due_on = row.pending_deduction_reason, row.pending_deduction_date
    pending.note = "Pending in NHAIS; brought across with the HA's registrations."
    pending.save()
    return pending.pk


def _open_case(ha, row: ExtractRow, record: ExtractRecord, result: Compared) -> None:
    case = open_case(
        CaseRequest(
            kind=CaseKind.MIGRATION_DIFFERENCE,
            summary=f"NHAIS extract and PDS differ: {result.differences[0]}",
            nhs_number=row.nhs_number,
            practice_ods=row.practice_ods,
            ha_cipher=ha.cipher,
            evidence={
                "extract": {
                    "row": row.row,
                    "surname": row.surname,
                    "forenames": row.forenames,
                    "date_of_birth": row.date_of_birth.isoformat(),
                    "sex": row.sex,
                    "postcode": row.postcode,
                    "practice_ods": row.practice_ods,
                    "gp_code": f"{row.gp_national_code},{row.gp_local_code}",
                    "acceptance_date": row.acceptance_date.isoformat(),
                },
                "differences": result.differences,
            },
            rule_trace=[
                {"check": "reconciliation with PDS", "result": str(result.result), "why": why}
                for why in result.differences
            ],
        )
    )
    record.case_id = getattr(case, "pk", None)
    record.case_differences = result.differences
    record.save(update_fields=["case_id", "case_differences", "updated_at"])
