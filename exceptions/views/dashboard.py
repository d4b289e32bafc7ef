"""The dashboard: the backlog by kind and SLA state, cases opened and closed per day, the auto-processing
rate and pipeline health. Charts (chart.js) draw the same figures the tables beside them give in full,
so the page says everything without JavaScript or sight."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.roles import Perm
from exceptions.selectors import dashboard


@require_GET
@permission_required(Perm.VIEW_QUEUE, raise_exception=True)
def dashboard_view(request):
    now = timezone.now()
    backlog = dashboard.backlog(now)
    days = dashboard.per_day(14, now)
    auto = dashboard.auto_processing(30, now)
    health = dashboard.pipeline_health()
    charts = {
        "backlog": {
            "labels": [row.label for row in backlog],
            "overdue": [row.overdue for row in backlog],
            "due_soon": [row.due_soon for row in backlog],
            "on_time": [row.on_time for row in backlog],
        },
        "days": {
            "labels": [row.day.strftime("%-d %b") for row in days],
            "opened": [row.opened for row in days],
            "closed": [row.closed for row in days],
        },
    }
    context = {
        "backlog": backlog,
        "backlog_total": sum(row.total for row in backlog),
        "overdue_total": sum(row.overdue for row in backlog),
        "days": days,
        "auto": auto,
        "health": health,
        "charts": charts,
        "stale_poll": health.last_poll is None or (now - health.last_poll).total_seconds() > 3600,
    }
    return render(request, "exceptions/dashboard.html", context)
