"""Exception cases, their append-only events, and the audit log of who saw or changed what."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from registrations.ports import CaseKind


class CaseStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    RESOLVED = "RESOLVED", "Resolved"
    REJECTED = "REJECTED", "Rejected"
    CLOSED = "CLOSED", "Closed"


OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS)


class ExceptionCaseQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def unassigned(self):
        return self.filter(assigned_to__isnull=True)

    def assigned_to(self, user):
        return self.filter(assigned_to=user)

    def assigned(self):
        return self.filter(assigned_to__isnull=False)

    def oldest_first(self):
        return self.order_by("due_at", "opened_at", "id")


class ExceptionCase(models.Model):
    kind = models.CharField(max_length=30, choices=[(k.value, k.value) for k in CaseKind])
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    summary = models.CharField(max_length=200)
    transaction = models.ForeignKey(
        "registrations.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    interchange = models.ForeignKey(
        "registrations.Interchange", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    nhs_number = models.CharField(max_length=15, blank=True, db_index=True)
    practice_ods = models.CharField(max_length=10, blank=True)
    ha_cipher = models.CharField(max_length=3, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    rule_trace = models.JSONField(default=list, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField()
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ExceptionCaseQuerySet.as_manager()

    class Meta:
        permissions = [
            ("view_queue", "Can view the exception work queue"),
            ("resolve_case", "Can work and resolve exception cases"),
            ("assign_case", "Can assign cases to colleagues"),
            ("approve_merge", "Can approve record merges (four eyes)"),
            ("view_audit", "Can search the audit log"),
        ]
        indexes = [
            models.Index(fields=["status", "due_at", "opened_at"]),
            models.Index(fields=["assigned_to", "status"]),
            models.Index(fields=["kind", "status"]),
            # The work queue (exceptions.selectors.cases, exceptions.services.queue): partial indexes over open
            # cases only, one per keyset order (sort key, then id) and per view, so a page deep in 100,000 open
            # cases reads 26 index entries.
            models.Index(fields=["due_at", "id"], condition=Q(status__in=["OPEN", "IN_PROGRESS"]), name="exc_q_due"),
            models.Index(
                fields=["opened_at", "id"], condition=Q(status__in=["OPEN", "IN_PROGRESS"]), name="exc_q_opened"
            ),
            models.Index(fields=["kind", "id"], condition=Q(status__in=["OPEN", "IN_PROGRESS"]), name="exc_q_kind"),
            models.Index(
                fields=["practice_ods", "id"], condition=Q(status__in=["OPEN", "IN_PROGRESS"]), name="exc_q_practice"
            ),
            models.Index(
                fields=["nhs_number", "id"], condition=Q(status__in=["OPEN", "IN_PROGRESS"]), name="exc_q_nhs"
            ),
            models.Index(fields=["ha_cipher", "id"], condition=Q(status__in=["OPEN", "IN_PROGRESS"]), name="exc_q_ha"),
            models.Index(
                fields=["assigned_to", "due_at", "id"],
                condition=Q(status__in=["OPEN", "IN_PROGRESS"]),
                name="exc_q_assignee",
            ),
            # A practice's cases in any status, newest first (PCSE looking back over a practice's traffic).
            models.Index(fields=["practice_ods", "opened_at", "id"], name="exc_practice_history"),
            # Take next and the Unassigned view: the most urgent unassigned case is the first entry.
            models.Index(
                fields=["due_at", "opened_at", "id"],
                condition=Q(status__in=["OPEN", "IN_PROGRESS"], assigned_to__isnull=True),
                name="exc_q_unassigned",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(status__in=["RESOLVED", "REJECTED", "CLOSED"]),
                name="exc_closed_at_only_when_closed",
            )
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} {self.kind}"


class CaseEvent(models.Model):
    """Append-only: the case's story, each entry naming who did it (a user or a system component)."""

    case = models.ForeignKey(ExceptionCase, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    system = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=40)
    reason_code = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(system=""), name="exc_event_has_actor")
        ]
        # Append-only in the database too, so no code path (queryset update, raw SQL) can rewrite history.
        triggers = [pgtrigger.Protect(name="exc_caseevent_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.action} on case {self.case_id}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValueError("Case events are append-only")
        super().save(*args, **kwargs)


class AuditEvent(models.Model):
    """Append-only record of every view and change of a case or patient record."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    role = models.CharField(max_length=60, blank=True)
    # The CIS2 role profile (person_roleid) and its organisation (ODS code) the action was taken under;
    # blank for password sign-ins and background jobs.
    role_profile = models.CharField("CIS2 role profile", max_length=40, blank=True)
    organisation = models.CharField(max_length=20, blank=True)
    system = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=40)
    nhs_number = models.CharField(max_length=15, blank=True, db_index=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(system=""), name="exc_audit_has_actor")
        ]
        triggers = [pgtrigger.Protect(name="exc_audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)


class SavedFilter(models.Model):
    """A person's own named view of the queue: the query string of the queue page they saved."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="exc_saved_filter_name_unique")]

    def __str__(self) -> str:
        return self.name


class WorkPreference(models.Model):
    """How a person likes to work the queue; one row per person, made the first time they choose."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="work_preference"
    )
    # After resolving a case, open the next one (within the queue's filters) instead of the resolved case.
    next_case_after_resolving = models.BooleanField(default=False)
    # The queue view the Work queue link opens (exceptions.selectors.cases.VIEWS); blank: the queue's default.
    default_queue_view = models.CharField(max_length=12, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"work preferences of user {self.user_id}"
