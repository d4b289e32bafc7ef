"""The audit log search, for team leaders and administrators: who viewed or changed which case or
patient, in what role, and when, with each resolution's reason in words. Searching the log is itself
recorded, and so is exporting it: the CSV holds NHS numbers, so only a role that may search the log may
take it away, and the log says who did."""

import csv

from django.contrib.auth.decorators import permission_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.htmx import page_or_partial
from core.roles import Perm
from exceptions import actions
from exceptions.filters import AuditFilter
from exceptions.models import AuditEvent
from exceptions.selectors.audit import audit_events
from exceptions.selectors.pagination import Order, paginate
from exceptions.services import audit

ORDER = Order(("at", "id"), descending=True)
CSV_HEADER = ("When", "Who", "Role", "CIS2 role profile", "Organisation", "What", "Reason", "NHS number", "Record")


def _row(event: AuditEvent) -> dict:
    return {
        "event": event,
        "what": audit.action_label(event.action),
        "reason": actions.reason_label(event.action, str((event.detail or {}).get("reason_code") or "")),
        "who": (event.user.get_full_name() or event.user.get_username()) if event.user else f"PCRM {event.system}",
    }


@require_GET
@permission_required(Perm.VIEW_AUDIT, raise_exception=True)
def audit_log(request):
    base = audit_events()
    filterset = AuditFilter(request.GET, queryset=base)
    valid = filterset.is_valid()
    qs = filterset.qs if valid else base.none()
    page = paginate(qs, ORDER, after=request.GET.get("after"), before=request.GET.get("before"), per_page=50)
    if valid and filterset.searched:
        audit.record(
            request.user,
            audit.SEARCH_AUDIT,
            nhs_number=filterset.form.cleaned_data.get("nhs_number") or "",
            detail={"filters": filterset.searched},
        )
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    return render(
        request,
        page_or_partial(request, "exceptions/audit_log.html", "results"),
        {
            "filter": filterset,
            "filter_errors": not valid,
            "rows": [_row(event) for event in page.rows],
            "page": page,
            "searched": filterset.searched,
            "export_query": query.urlencode(),
        },
    )


class _Echo:
    """A file-like object csv.writer writes to, handing each line straight back (for streaming)."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    # A spreadsheet runs a cell that starts with =, +, - or @ as a formula: keep it text.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(row: dict) -> list[str]:
    event = row["event"]
    record = f"{event.object_type} {event.object_id}".strip()
    return [
        _cell(value)
        for value in (
            timezone.localtime(event.at).isoformat(timespec="seconds"),
            row["who"],
            event.role,
            event.role_profile,
            event.organisation,
            row["what"],
            row["reason"],
            event.nhs_number,
            record,
        )
    ]


@require_GET
@permission_required(Perm.VIEW_AUDIT, raise_exception=True)
def audit_export(request):
    """The entries the same search finds, all of them, newest first, as CSV (streamed, so a long log never
    sits in memory). An invalid search shows the search page with its errors instead."""
    base = audit_events().order_by("-at", "-id")
    filterset = AuditFilter(request.GET, queryset=base)
    if not filterset.is_valid():
        return audit_log(request)
    audit.record(
        request.user,
        audit.EXPORT_AUDIT,
        nhs_number=filterset.form.cleaned_data.get("nhs_number") or "",
        detail={"filters": filterset.searched},
    )
    writer = csv.writer(_Echo())
    lines = (writer.writerow(_csv_line(_row(event))) for event in filterset.qs.iterator(chunk_size=2000))
    response = StreamingHttpResponse(
        (line for part in ([writer.writerow(CSV_HEADER)], lines) for line in part), content_type="text/csv"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="pcrm-audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
