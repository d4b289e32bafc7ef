"""Cutting an HA over to PCRM, and back to NHAIS: confirmed, audited, refused while the checklist fails
unless a person overrides it with a reason. From the cut-over date PCRM serves the HA's traffic (inbound
stops being forwarded to NHAIS) and continues the link counters imported from NHAIS."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from registrations.models import HealthAuthority

from ..models import CutoverEvent, CutoverPlan
from ..selectors import checklist
from . import audit


class CutoverRefused(Exception):
    """The action cannot be done as asked; the message says why in words a person can act on."""


@transaction.atomic
def plan(ha: HealthAuthority, planned_on: dt.date | None, *, by: str, user=None) -> CutoverPlan:
    cutover_plan, _ = CutoverPlan.objects.select_for_update().get_or_create(ha=ha)
    cutover_plan.planned_on = planned_on
    cutover_plan.save()
    CutoverEvent.objects.create(ha=ha, action=CutoverEvent.Action.PLAN, by=by, reason=str(planned_on or "cleared"))
    audit.record("migration_plan", ha, by=by, user=user, detail={"planned_on": str(planned_on or "")})
    return cutover_plan


@transaction.atomic
def cut_over(ha: HealthAuthority, *, by: str, user=None, override_reason: str = "") -> CutoverEvent:
    ha = HealthAuthority.objects.select_for_update().get(pk=ha.pk)
    today = timezone.localdate()
    if ha.migrated:
        when = f" from {ha.cutover_date:%d %B %Y}" if ha.cutover_date else ""
        raise CutoverRefused(f"{ha.cipher} is already cut over to PCRM{when}.")
    checks = checklist(ha)
    failing = [c for c in checks if not c.ok]
    override_reason = override_reason.strip()
    if failing and not override_reason:
        raise CutoverRefused(
            "The checklist has failures (" + "; ".join(c.label for c in failing) + "): give a reason to override."
        )
    plan_row = CutoverPlan.objects.filter(ha=ha).first()
    planned = plan_row.planned_on if plan_row else None
    ha.migrated = True
    ha.cutover_date = planned if planned and planned > today else today
    ha.save(update_fields=["migrated", "cutover_date", "updated_at"])
    event = CutoverEvent.objects.create(
        ha=ha,
        action=CutoverEvent.Action.CUT_OVER,
        by=by,
        overridden=bool(failing),
        reason=override_reason,
        checklist=[c.as_dict() for c in checks],
    )
    audit.record(
        "migration_cut_over",
        ha,
        by=by,
        user=user,
        detail={
            "cutover_date": ha.cutover_date.isoformat(),
            "overridden": bool(failing),
            "failing": [c.key for c in failing],
            "reason": override_reason,
        },
    )
    return event


@transaction.atomic
def cut_back(ha: HealthAuthority, *, by: str, user=None, reason: str) -> CutoverEvent:
    ha = HealthAuthority.objects.select_for_update().get(pk=ha.pk)
    reason = reason.strip()
    if not ha.migrated:
        raise CutoverRefused(f"{ha.cipher} is not cut over to PCRM.")
    if not reason:
        raise CutoverRefused("Give the reason for cutting back to NHAIS.")
    was = ha.cutover_date
    ha.migrated = False
    ha.cutover_date = None
    ha.save(update_fields=["migrated", "cutover_date", "updated_at"])
    event = CutoverEvent.objects.create(ha=ha, action=CutoverEvent.Action.CUT_BACK, by=by, reason=reason)
    audit.record(
        "migration_cut_back",
        ha,
        by=by,
        user=user,
        detail={"was_cut_over_on": was.isoformat() if was else "", "reason": reason},
    )
    return event
