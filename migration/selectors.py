"""Reads for the readiness page, the shadow report and the cut-over checks. Nothing here writes."""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from exceptions.models import ExceptionCase
from registrations.models import HealthAuthority, Link
from registrations.ports import CaseKind

from .models import (
    CutoverEvent,
    CutoverPlan,
    ExtractRecord,
    ImportKind,
    ImportRun,
    ImportStatus,
    ShadowResult,
    ShadowRun,
)


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def latest_run(ha: HealthAuthority, kind: str) -> ImportRun | None:
    return ImportRun.objects.filter(ha=ha, kind=kind).first()


def latest_shadow(ha: HealthAuthority) -> ShadowRun | None:
    return ShadowRun.objects.filter(ha=ha).first()


def open_migration_cases(ha: HealthAuthority) -> int:
    return ExceptionCase.objects.open().filter(kind=CaseKind.MIGRATION_DIFFERENCE, ha_cipher=ha.cipher).count()


def planned_on(ha: HealthAuthority):
    plan = CutoverPlan.objects.filter(ha=ha).first()
    return plan.planned_on if plan else None


def reconciliation_counts(ha: HealthAuthority) -> dict[str, int]:
    """How the imported patients compare with PDS now, and how many differences have no case yet."""
    records = ExtractRecord.objects.filter(ha=ha)
    counts = records.aggregate(
        agree=Count("id", filter=Q(reconciliation="agree")),
        differ=Count("id", filter=Q(reconciliation="differ")),
        not_in_pds=Count("id", filter=Q(reconciliation="not_in_pds")),
        total=Count("id"),
    )
    untriaged = records.exclude(reconciliation="agree").only("differences", "case_differences", "case_id")
    counts["without_case"] = sum(1 for r in untriaged if r.case_id is None or r.case_differences != r.differences)
    return counts


def _import_check(run: ImportRun | None, key: str, label: str, what: str) -> Check:
    if run is None:
        return Check(key, label, False, f"No {what} imported yet.")
    at = timezone.localtime(run.at)
    when = f"{at.day} {at:%B %Y %H:%M}"
    if run.status != ImportStatus.IMPORTED:
        rows = f"{run.invalid} rejected row{'s' if run.invalid != 1 else ''}"
        return Check(key, label, False, f"The latest {what} ({run.file_name}, {when}) has {rows}.")
    return Check(key, label, True, f"{run.valid} rows from {run.file_name}, {when}: {run.imported} changed.")


def checklist(ha: HealthAuthority) -> list[Check]:
    """What must be true before the HA's traffic moves to PCRM, each with the evidence in words."""
    counts = reconciliation_counts(ha)
    reconciled = counts["total"] > 0 and counts["without_case"] == 0
    shadow = latest_shadow(ha)
    minimum = settings.MIGRATION_SHADOW_MIN_AGREEMENT_PERCENT
    cases = open_migration_cases(ha)
    planned = planned_on(ha)
    return [
        _import_check(latest_run(ha, ImportKind.COUNTERS), "counters", "Link counters imported", "counters file"),
        _import_check(
            latest_run(ha, ImportKind.REGISTRATIONS), "registrations", "Registrations imported", "registration extract"
        ),
        Check(
            "reconciled",
            "Registrations reconciled with PDS",
            reconciled,
            f"{counts['agree']} agree, {counts['differ']} differ, {counts['not_in_pds']} not in PDS; "
            f"{counts['without_case']} difference{'s' if counts['without_case'] != 1 else ''} without a case.",
        ),
        Check(
            "shadow",
            "Shadow run agrees with NHAIS",
            shadow is not None and shadow.agreement * 100 >= minimum,
            "No shadow run yet."
            if shadow is None
            else f"{shadow.agreement:.1%} of {shadow.transactions} transactions agreed (at least {minimum}% needed).",
        ),
        Check(
            "cases",
            "No open migration cases",
            cases == 0,
            f"{cases} migration case{'s' if cases != 1 else ''} open in the work queue.",
        ),
        Check(
            "planned",
            "Cut-over date planned",
            planned is not None,
            f"Planned for {planned.day} {planned:%B %Y}." if planned else "No date planned yet.",
        ),
    ]


def shadow_results(run: ShadowRun, *, verdict: str = "", tx_type: str = ""):
    """A shadow run's results, only those with one verdict and of one transaction type when given."""
    results = ShadowResult.objects.filter(run=run)
    if verdict:
        results = results.filter(verdict=verdict)
    if tx_type:
        results = results.filter(type=tx_type)
    return results


def links_of(ha: HealthAuthority):
    return Link.objects.filter(ha=ha).select_related("practice").order_by("practice__ods_code")


def history(ha: HealthAuthority, limit: int = 10):
    return CutoverEvent.objects.filter(ha=ha)[:limit]


def has_activity():
    """HAs with anything to show: an import, a shadow run or a plan, and every HA still on NHAIS that has one."""
    return HealthAuthority.objects.filter(
        Q(migration_imports__isnull=False) | Q(shadow_runs__isnull=False) | Q(cutover_plan__isnull=False)
    ).distinct()
