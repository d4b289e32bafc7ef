"""Close of quarter and capitation pages. Thin: each view loads, calls one service or presenter, renders.

Reading needs registrations.view_capitation (PCSE viewers, administrators); closing a quarter and
sending again need registrations.close_quarter (administrators).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig

from core.htmx import page_or_partial
from core.roles import Perm

from ..models import QuarterClose, QuarterStatus
from . import close, delivery, presenters, quarters, selectors, snapshot, tasks
from .filters import PracticeLineFilter
from .forms import CloseQuarterForm
from .tables import PracticeLineTable, QuarterTable

VIEW = Perm.VIEW_CAPITATION
CLOSE = Perm.CLOSE_QUARTER


@require_GET
@vary_on_headers("HX-Request")
@permission_required(VIEW, raise_exception=True)
def quarter_list(request):
    table = QuarterTable(selectors.quarters(with_summary=False))
    RequestConfig(request, paginate={"per_page": 20}).configure(table)
    due = close.closable_quarter(timezone.localdate())
    can_close = request.user.has_perm(CLOSE) and not selectors.is_closed(due)
    context = {
        "table": table,
        "due": due if can_close else None,
        "due_label": quarters.label(due),
        "close_text": f"Close the {quarters.label(due)}",
        "close_href": f"{reverse('registrations:capitation:close')}?quarter={due.isoformat()}",
    }
    return render(request, page_or_partial(request, "registrations/capitation_list.html", "table"), context)


@require_http_methods(["GET", "POST"])
@permission_required(CLOSE, raise_exception=True)
def close_quarter(request):
    data = (
        request.POST
        if request.method == "POST"
        else {"quarter_end": request.GET.get("quarter") or close.closable_quarter(timezone.localdate()).isoformat()}
    )
    form = CloseQuarterForm(data)
    if form.is_valid():
        quarter_end = form.cleaned_data["quarter_end"]
        if selectors.is_closed(quarter_end):
            messages.info(request, f"The {quarters.label(quarter_end)} is already closed.")
            return redirect("registrations:capitation:report", quarter_end)
        if request.method == "POST":
            with transaction.atomic():
                result = tasks.close_quarter(quarter_end=quarter_end, by=request.user.get_username())
            if result.created:
                messages.success(
                    request,
                    f"The {quarters.label(quarter_end)} is closed: {result.quarter.f8_count} F8 notifications "
                    "queued and the capitation report is being generated.",
                )
            return redirect("registrations:capitation:report", quarter_end)
        context = {
            "form": form,
            "quarter_end": quarter_end,
            "label": quarters.label(quarter_end),
            "f8_practices": selectors.f8_links(timezone.localdate()).count(),
            "pcse_mailbox": settings.MESH_PCSE_MAILBOX,
        }
        return render(request, "registrations/capitation_close.html", context)
    return render(request, "registrations/capitation_close.html", {"form": form}, status=400)


def _quarter(quarter_end, *, with_csv: bool = False, with_summary: bool = True) -> QuarterClose:
    return get_object_or_404(selectors.quarters(with_csv=with_csv, with_summary=with_summary), quarter_end=quarter_end)


@require_GET
@vary_on_headers("HX-Request")
@permission_required(VIEW, raise_exception=True)
def quarter_report(request, quarter_end):
    quarter = _quarter(quarter_end)
    context = {
        "quarter": quarter,
        "title": presenters.title(quarter_end),
        "label": quarters.label(quarter_end),
        "status": presenters.quarter_status_tag(quarter.status),
    }
    if quarter.status == QuarterStatus.GENERATING:
        context["progress"] = presenters.generation_progress(quarter)
        return render(request, "registrations/capitation_report.html", context)
    summary = presenters.parse_summary(quarter)
    filterset = PracticeLineFilter(request.GET, queryset=selectors.practice_lines(quarter))
    table = PracticeLineTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    context.update(
        filterset=filterset,
        table=table,
        summary_rows=presenters.summary_rows(quarter, summary),
        delivery_rows=presenters.delivery_rows(quarter),
        chart_data=presenters.chart_data(quarter, summary),
        chart_practices=presenters.CHART_PRACTICES,
        age_bands=presenters.age_band_rows(summary),
        changes=presenters.largest_changes(quarter),
        previous_label=quarters.label(quarters.previous_quarter_end(quarter_end)),
        has_previous=bool(summary.get("previous_quarter")),
        csv_filename=snapshot.csv_filename(quarter_end),
        can_resend=quarter.status == QuarterStatus.FAILED and request.user.has_perm(CLOSE),
    )
    return render(request, page_or_partial(request, "registrations/capitation_report.html", "practice-table"), context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def quarter_progress(request, quarter_end):
    """Polled by htmx while the snapshot is generated; once it is done, the page reloads as the report."""
    quarter = _quarter(quarter_end, with_summary=False)
    if quarter.status != QuarterStatus.GENERATING:
        if request.htmx:
            response = HttpResponse(status=200)
            response["HX-Refresh"] = "true"
            return response
        return redirect("registrations:capitation:report", quarter_end)
    context = {"quarter": quarter, "progress": presenters.generation_progress(quarter)}
    return render(request, "registrations/capitation_report.html#progress", context)


def _download(quarter: QuarterClose, body, filename: str, content_type: str) -> HttpResponse:
    if body is None:
        raise Http404("The snapshot has not been generated yet")
    response = HttpResponse(bytes(body), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@permission_required(VIEW, raise_exception=True)
def download_csv(request, quarter_end):
    quarter = _quarter(quarter_end, with_csv=True, with_summary=False)
    return _download(quarter, quarter.csv, snapshot.csv_filename(quarter_end), "text/csv; charset=utf-8")


@require_GET
@permission_required(VIEW, raise_exception=True)
def download_summary(request, quarter_end):
    quarter = _quarter(quarter_end)
    return _download(quarter, quarter.summary, snapshot.summary_filename(quarter_end), "application/json")


@require_POST
@permission_required(CLOSE, raise_exception=True)
def resend(request, quarter_end):
    quarter = _quarter(quarter_end, with_summary=False)
    if quarter.status != QuarterStatus.FAILED:
        messages.info(request, "Only a report whose sending failed can be sent again.")
        return redirect("registrations:capitation:report", quarter_end)
    with transaction.atomic():
        delivery.allow_resend(quarter.pk)
        transaction.on_commit(lambda: tasks.deliver_capitation.delay(quarter.pk))
    messages.success(request, f"The capitation report for the {quarters.label(quarter_end)} is being sent again.")
    return redirect(reverse("registrations:capitation:report", args=[quarter_end]))
