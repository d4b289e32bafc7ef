"""Bringing one HA across from NHAIS: what was imported, what PDS said about it, what a shadow run decided,
and the cut-over plan. Registrations, FP69 flags and pending deductions themselves live in `registrations`;
these rows remember where they came from so that an import can be repeated without changing anything.
"""

import pgtrigger
from django.db import models

from registrations.models import FP69Flag, HealthAuthority, Registration


class ImportKind(models.TextChoices):
    REGISTRATIONS = "REGISTRATIONS", "Registration extract"
    COUNTERS = "COUNTERS", "Link counters"


class ImportStatus(models.TextChoices):
    IMPORTED = "IMPORTED", "Imported"
    PARTIAL = "PARTIAL", "Valid rows imported, invalid rows kept aside"
    REFUSED = "REFUSED", "Refused: the file has invalid rows"


class ImportRun(models.Model):
    """One import of a file for an HA (dry runs are audited but leave no run behind)."""

    ha = models.ForeignKey(HealthAuthority, on_delete=models.PROTECT, related_name="migration_imports")
    kind = models.CharField(max_length=14, choices=ImportKind.choices)
    status = models.CharField(max_length=10, choices=ImportStatus.choices)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    by = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)
    valid = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    reconciliation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        permissions = [
            ("view_migration", "Can view migration readiness and shadow runs"),
            ("cut_over_ha", "Can cut an HA over to PCRM, or back to NHAIS"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.ha_id} ({self.status})"


class RejectedRow(models.Model):
    """A row that failed validation, kept as it was in the file with its errors, for the person to fix."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejected_rows")
    row = models.PositiveIntegerField(help_text="line in the file; the header is row 1")
    values = models.JSONField()
    errors = models.JSONField()

    class Meta:
        ordering = ["row"]

    def __str__(self) -> str:
        return f"rejected row {self.row}"


class Reconciliation(models.TextChoices):
    AGREE = "agree", "PDS agrees"
    DIFFER = "differ", "PDS differs"
    NOT_IN_PDS = "not_in_pds", "Not in PDS"


class ExtractRecord(models.Model):
    """One patient of an HA's extract as last imported: what it created, and how it reconciled with PDS.

    `fingerprint` is a hash of the row's meaningful values, so a re-import of the same row is "unchanged".
    """

    ha = models.ForeignKey(HealthAuthority, on_delete=models.PROTECT, related_name="extract_records")
    nhs_number = models.CharField(max_length=10)
    practice_ods = models.CharField(max_length=10)
    fingerprint = models.CharField(max_length=64)
    registration = models.ForeignKey(Registration, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    fp69 = models.ForeignKey(FP69Flag, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pending_deduction_id = models.PositiveBigIntegerField(null=True, blank=True)
    reconciliation = models.CharField(max_length=10, choices=Reconciliation.choices, blank=True)
    differences = models.JSONField(default=list, blank=True)
    # The migration case opened for the differences (exceptions owns cases), and what it was opened for.
    case_id = models.PositiveBigIntegerField(null=True, blank=True)
    case_differences = models.JSONField(default=list, blank=True)
    run = models.ForeignKey(ImportRun, on_delete=models.PROTECT, related_name="records")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ha", "nhs_number"], name="mig_one_record_per_patient")]

    def __str__(self) -> str:
        return f"extract record at {self.practice_ods} ({self.reconciliation})"


class Verdict(models.TextChoices):
    AGREED = "agreed", "Agreed"
    DISAGREED = "disagreed", "Disagreed"
    UNMATCHED = "unmatched", "Unmatched"


class ShadowRun(models.Model):
    """PCRM deciding an HA's past GP Links traffic without effect, compared with what NHAIS answered."""

    ha = models.ForeignKey(HealthAuthority, on_delete=models.PROTECT, related_name="shadow_runs")
    by = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True)
    inbound_files = models.PositiveIntegerField(default=0)
    nhais_files = models.PositiveIntegerField(default=0)
    transactions = models.PositiveIntegerField(default=0)
    agreed = models.PositiveIntegerField(default=0)
    disagreed = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    by_type = models.JSONField(default=dict, blank=True)
    unread = models.JSONField(default=list, blank=True, help_text="files that could not be read, and why")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"shadow run for {self.ha_id} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def agreement(self) -> float:
        return round(self.agreed / self.transactions, 4) if self.transactions else 0.0

    @property
    def agreement_percent(self) -> float:
        return round(self.agreement * 100, 1)


class ShadowResult(models.Model):
    """One GP->HA transaction as PCRM would have decided it, beside NHAIS's answer. Kept apart from the live
    interchange log: nothing here is a Transaction, and nothing was applied or sent."""

    run = models.ForeignKey(ShadowRun, on_delete=models.CASCADE, related_name="results")
    type = models.CharField(max_length=4)
    sender = models.CharField(max_length=10)
    sis = models.PositiveBigIntegerField()
    tn = models.PositiveBigIntegerField()
    nhs_number = models.CharField(max_length=15, blank=True)
    practice_ods = models.CharField(max_length=10, blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    pcrm_answer = models.CharField(max_length=80)
    pcrm_outcome = models.CharField(max_length=12)
    pcrm_summary = models.TextField(blank=True)
    case_kind = models.CharField(max_length=30, blank=True)
    rule_trace = models.JSONField(default=list, blank=True)
    nhais_answer = models.CharField(max_length=80)
    nhais_detail = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "verdict", "type"])]

    def __str__(self) -> str:
        return f"{self.type} TN {self.tn} from {self.sender}: {self.verdict}"


class CutoverPlan(models.Model):
    """The planned cut-over date of an HA, and its audited history of cut-overs and cut-backs."""

    ha = models.OneToOneField(HealthAuthority, on_delete=models.PROTECT, related_name="cutover_plan")
    planned_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"cut-over plan for {self.ha_id}"


class CutoverEvent(models.Model):
    """Append-only story of cutting an HA over (and back), with the checklist as it stood."""

    class Action(models.TextChoices):
        CUT_OVER = "CUT_OVER", "Cut over to PCRM"
        CUT_BACK = "CUT_BACK", "Cut back to NHAIS"
        PLAN = "PLAN", "Planned date set"

    ha = models.ForeignKey(HealthAuthority, on_delete=models.PROTECT, related_name="cutover_events")
    action = models.CharField(max_length=10, choices=Action.choices)
    by = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True)
    overridden = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    checklist = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # Append-only in the database too: who moved an HA, and why, cannot be rewritten afterwards.
        triggers = [pgtrigger.Protect(name="mig_cutover_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.get_action_display()} for {self.ha_id}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValueError("Cut-over events are append-only")
        super().save(*args, **kwargs)
