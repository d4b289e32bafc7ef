"""Migration pages: the HAs being brought across, each HA's cut-over readiness, a shadow run's comparison,
and the confirmed cut-over and cut-back. Thin: each view loads, calls one selector or service, renders.

Reading needs migration.view_migration (team leaders, administrators); cutting over or back needs
migration.cut_over_ha (administrators).
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.roles import Perm
from registrations.models import HealthAuthority

from . import selectors
from .forms import CutBackForm, CutOverForm, PlanForm
from .models import ImportKind, ShadowRun, Verdict
from .services import audit
from .services.cutover import CutoverRefused, cut_back, cut_over, plan

VIEW = Perm.VIEW_MIGRATION_READINESS
CUT_OVER = Perm.CUT_OVER_HA


def _ha(cipher: str) -> HealthAuthority:
    return get_object_or_404(HealthAuthority, cipher=cipher.upper())


@require_GET
@permission_required(VIEW, raise_exception=True)
def ha_list(request):
    rows = [
        {"ha": ha, "checks": selectors.checklist(ha), "served": ha.is_served_by_pcrm(timezone.localdate())}
        for ha in selectors.has_activity()
    ]
    for row in rows:
        row["passed"] = sum(1 for c in row["checks"] if c.ok)
    return render(request, "migration/ha_list.html", {"rows": rows})


@require_GET
@permission_required(VIEW, raise_exception=True)
def readiness(request, cipher: str):
    ha = _ha(cipher)
    checks = selectors.checklist(ha)
    context = {
        "ha": ha,
        "checks": checks,
        "ready": all(c.ok for c in checks),
        "served": ha.is_served_by_pcrm(timezone.localdate()),
        "registrations_run": selectors.latest_run(ha, ImportKind.REGISTRATIONS),
        "counters_run": selectors.latest_run(ha, ImportKind.COUNTERS),
        "shadow": selectors.latest_shadow(ha),
        "links": selectors.links_of(ha),
        "history": selectors.history(ha),
        "planned_on": selectors.planned_on(ha),
        "can_cut_over": request.user.has_perm(CUT_OVER),
    }
    return render(request, "migration/readiness.html", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def shadow_report(request, cipher: str, pk: int):
    ha = _ha(cipher)
    run = get_object_or_404(ShadowRun, ha=ha, pk=pk)
    verdict = request.GET.get("verdict", "")
    kind = request.GET.get("type", "")
    results = selectors.shadow_results(
        run, verdict=verdict if verdict in Verdict.values else "", tx_type=kind if kind in run.by_type else ""
    )
    page = Paginator(results, 25).get_page(request.GET.get("page"))
    # The results name patients (NHS numbers, rule traces): looking at them is audited like a case.
    audit.record("migration_view_shadow", ha, by=request.user.get_username(), user=request.user, detail={"run": run.pk})
    context = {
        "ha": ha,
        "run": run,
        "page": page,
        "verdict": verdict,
        "kind": kind,
        "verdicts": Verdict.choices,
        "types": list(run.by_type),
    }
    return render(request, "migration/shadow.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(CUT_OVER, raise_exception=True)
def cut_over_view(request, cipher: str):
    ha = _ha(cipher)
    if ha.migrated:
        messages.info(request, f"{ha.name} is already cut over to PCRM.")
        return redirect("migration:readiness", ha.cipher)
    checks = selectors.checklist(ha)
    failing = [c for c in checks if not c.ok]
    form = CutOverForm(request.POST if request.method == "POST" else None, failing=len(failing))
    if request.method == "POST" and form.is_valid():
        try:
            event = cut_over(
                ha, by=request.user.get_username(), user=request.user, override_reason=form.cleaned_data["reason"]
            )
        except CutoverRefused as exc:
            form.add_error("reason", str(exc))
        else:
            ha.refresh_from_db()
            note = " The checklist was overridden." if event.overridden else ""
            messages.success(request, f"{ha.name} cuts over to PCRM on {ha.cutover_date:%d %B %Y}.{note}")
            return redirect("migration:readiness", ha.cipher)
    context = {"ha": ha, "checks": checks, "failing": failing, "form": form, "planned_on": selectors.planned_on(ha)}
    return render(request, "migration/cut_over.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(CUT_OVER, raise_exception=True)
def cut_back_view(request, cipher: str):
    ha = _ha(cipher)
    if not ha.migrated:
        messages.info(request, f"{ha.name} is on NHAIS.")
        return redirect("migration:readiness", ha.cipher)
    form = CutBackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            cut_back(ha, by=request.user.get_username(), user=request.user, reason=form.cleaned_data["reason"])
        except CutoverRefused as exc:
            form.add_error("reason", str(exc))
        else:
            messages.success(request, f"{ha.name} is back on NHAIS: its traffic is forwarded there again.")
            return redirect("migration:readiness", ha.cipher)
    return render(request, "migration/cut_back.html", {"ha": ha, "form": form, "links": selectors.links_of(ha)})


@require_http_methods(["GET", "POST"])
@permission_required(CUT_OVER, raise_exception=True)
def plan_view(request, cipher: str):
    ha = _ha(cipher)
    planned_on = selectors.planned_on(ha)
    form = PlanForm(request.POST if request.method == "POST" else None, initial={"planned_on": planned_on})
    if request.method == "POST" and form.is_valid():
        plan(ha, form.cleaned_data["planned_on"], by=request.user.get_username(), user=request.user)
        messages.success(request, f"Cut-over of {ha.name} planned for {form.cleaned_data['planned_on']:%-d %B %Y}.")
        return redirect("migration:readiness", ha.cipher)
    return render(request, "migration/plan.html", {"ha": ha, "form": form})
