"""Import the link counters NHAIS last used for an HA: per link the last SIS and SMS sent and received, and
the HA's last TN. PCRM continues each series from there at cut-over (protocol 1.5: a system taking over a
link must not restart at 1). Same rules as the registration import: invalid rows change nothing unless
`skip_invalid`, a dry run rolls back, a repeat is unchanged, every run is audited.
"""

from django.utils import timezone

from registrations.models import HealthAuthority, Link

from ..extract import CounterRow, RowError, parse_counters
from ..models import ImportKind
from . import audit
from .report import ImportReport
from .runs import run_file

LINK_FIELDS = ("last_sis_sent", "last_sms_sent", "last_sis_received", "last_sms_received")


def import_counters(
    ha: HealthAuthority,
    data: bytes,
    *,
    file_name: str,
    by: str,
    user=None,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> ImportReport:
    parsed = parse_counters(data)
    links = {
        link.practice.link_code: link
        for link in Link.objects.select_related("practice").filter(
            ha=ha, practice__link_code__in={r.link_code for r in parsed.rows}
        )
    }
    rows, errors = [], list(parsed.errors)
    if ha.is_served_by_pcrm(timezone.localdate()):
        errors.append(RowError(1, "ha", f"{ha.cipher} is already cut over: PCRM's own counters are live."))
    for row in parsed.rows:
        found = _row_errors(ha, row, links)
        errors.extend(found)
        if not found:
            rows.append(row)
    errors.sort(key=lambda e: (e.row, e.field))
    report = ImportReport(rows=parsed.total, valid=len(rows), errors=errors, dry_run=dry_run)
    report.invalid = len({e.row for e in errors})
    report.refused = bool(report.invalid) and not skip_invalid

    def apply(run) -> None:
        for row in rows:
            changed = _apply(ha, row, links.get(row.link_code))
            report.imported += changed
            report.unchanged += not changed

    run_file(ha, ImportKind.COUNTERS, data, file_name=file_name, by=by, report=report, raw=parsed.raw, apply=apply)
    audit.record(
        "migration_counters_dry_run" if dry_run else "migration_counters",
        ha,
        by=by,
        user=user,
        detail={"file": file_name[:255], **report.counters_json(), "errors": len(errors)},
    )
    return report


def _row_errors(ha: HealthAuthority, row: CounterRow, links: dict[str, Link]) -> list[RowError]:
    link_values = [getattr(row, f) for f in LINK_FIELDS]
    if row.link_code == ha.link_code:
        errors = [
            RowError(row.row, f, "Leave empty on the HA's own row.")
            for f, v in zip(LINK_FIELDS, link_values, strict=True)
            if v is not None
        ]
        if row.last_tn_sent is None:
            errors.append(RowError(row.row, "last_tn_sent", "Required on the HA's own row."))
        return errors
    if row.link_code not in links:
        return [RowError(row.row, "link_code", f"Not a link between a practice and {ha.cipher} in reference data.")]
    errors = [
        RowError(row.row, f, "Required for a practice's link.")
        for f, v in zip(LINK_FIELDS, link_values, strict=True)
        if v is None
    ]
    if row.last_tn_sent is not None:
        errors.append(RowError(row.row, "last_tn_sent", "The TN series is the HA's: give it on the HA's own row."))
    return errors


def _apply(ha: HealthAuthority, row: CounterRow, link: Link | None) -> bool:
    if link is None:
        ha = HealthAuthority.objects.select_for_update().get(pk=ha.pk)
        if ha.last_tn_sent == row.last_tn_sent:
            return False
        ha.last_tn_sent = row.last_tn_sent
        ha.save(update_fields=["last_tn_sent", "updated_at"])
        return True
    link = Link.objects.select_for_update().get(pk=link.pk)
    wanted = {f: getattr(row, f) for f in LINK_FIELDS}
    if all(getattr(link, f) == v for f, v in wanted.items()):
        return False
    for f, v in wanted.items():
        setattr(link, f, v)
    link.save(update_fields=[*LINK_FIELDS, "updated_at"])
    return True
