"""The audit log search, for team leaders and administrators: who viewed or changed which case or
patient, in what role, and when. Searching the log is itself recorded."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.htmx import page_or_partial
from core.roles import Perm
from exceptions.filters import AuditFilter
from exceptions.models import AuditEvent
from exceptions.selectors.pagination import Order, paginate
from exceptions.services import audit

ORDER = Order(("at", "id"), descending=True)


@require_GET
@permission_required(Perm.VIEW_AUDIT, raise_exception=True)
def audit_log(request):
    base = AuditEvent.objects.select_related("user")
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
    rows = [
        {
            "event": event,
            "what": audit.action_label(event.action),
            "who": (event.user.get_full_name() or event.user.get_username()) if event.user else f"PCRM {event.system}",
        }
        for event in page.rows
    ]
    return render(
        request,
        page_or_partial(request, "exceptions/audit_log.html", "results"),
        {"filter": filterset, "filter_errors": not valid, "rows": rows, "page": page, "searched": filterset.searched},
    )
