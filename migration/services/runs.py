"""One import of one file: a database transaction around the whole file, the run and its rejected rows
recorded with it, and a dry run rolled back at the end so it reports exactly what a real run would do."""

import hashlib
from collections.abc import Callable

from django.db import transaction

from ..models import ImportRun, ImportStatus, RejectedRow
from .report import ImportReport


class _RollBack(Exception):
    """Raised at the end of a dry run so that everything it did is undone."""


def run_file(
    ha,
    kind: str,
    data: bytes,
    *,
    file_name: str,
    by: str,
    report: ImportReport,
    raw: dict[int, dict[str, str]],
    apply: Callable[[ImportRun], None],
) -> None:
    """Record the run, keep the rejected rows, and call `apply` unless the file is refused."""
    errors = report.errors
    if report.refused:
        status = ImportStatus.REFUSED
    else:
        status = ImportStatus.PARTIAL if report.invalid else ImportStatus.IMPORTED
    try:
        with transaction.atomic():
            run = ImportRun.objects.create(
                ha=ha,
                kind=kind,
                status=status,
                file_name=file_name[:255],
                sha256=hashlib.sha256(data).hexdigest(),
                by=by,
                rows=report.rows,
                valid=report.valid,
                invalid=report.invalid,
                errors=[e.__dict__ for e in errors],
                reconciliation=report.reconciliation if kind == "REGISTRATIONS" else {},
            )
            RejectedRow.objects.bulk_create(
                RejectedRow(run=run, row=n, values=raw[n], errors=[e.__dict__ for e in errors if e.row == n])
                for n in sorted({e.row for e in errors})
                if n in raw
            )
            if not report.refused:
                apply(run)
            run.imported, run.unchanged = report.imported, report.unchanged
            run.save(update_fields=["imported", "unchanged"])
            report.run_id = run.pk
            if report.dry_run:
                raise _RollBack
    except _RollBack:
        report.run_id = None
