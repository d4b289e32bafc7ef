"""Prometheus metrics at /metrics: the state of the work (read from the database at scrape time) and the
events every process records in Redis (ops.store): request latency, PDS calls, MESH errors.

Access: a bearer token (METRICS_TOKEN) or a direct request from this machine (loopback, no proxy
header). See docs/deployment.md.
"""

import hmac
import ipaddress
import json

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Min
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from . import store

REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PDS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REQUEST_SECONDS = "http_request_seconds"
PDS_SECONDS = "pds_call_seconds"
PDS_ERRORS = "pds_errors"
MESH_ERRORS = "mesh_errors"
MESH_SESSIONS = "mesh_sessions"


# --- recording (any process) ------------------------------------------------------------------------


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    store.observe(REQUEST_SECONDS, {"method": method, "route": route, "status": str(status)}, seconds, REQUEST_BUCKETS)


def _on_pds_call(sender, method: str, seconds: float, outcome: str, **kwargs) -> None:
    store.observe(PDS_SECONDS, {"method": method, "outcome": outcome}, seconds, PDS_BUCKETS)
    if outcome != "ok":
        store.count(PDS_ERRORS, {"method": method, "error": outcome})


def _on_mesh_session(sender, ok: bool, error: str, **kwargs) -> None:
    store.count(MESH_SESSIONS, {"outcome": "ok" if ok else "error"})
    if ok:
        store.beat("mesh")
    else:
        store.count(MESH_ERRORS, {"error": error})


def connect_signals() -> None:
    from pds.client import pds_call
    from registrations.mesh import mesh_session

    pds_call.connect(_on_pds_call, dispatch_uid="ops.metrics.pds_call")
    mesh_session.connect(_on_mesh_session, dispatch_uid="ops.metrics.mesh_session")


# --- the work, read at scrape time ------------------------------------------------------------------


def _age(oldest) -> float:
    return max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0


def unprocessed_inbound() -> tuple[int, float]:
    """How many inbound interchanges and transactions wait to be processed, and the age of the oldest."""
    from registrations.models import Direction, Interchange, InterchangeStatus, Transaction

    interchanges = Interchange.objects.filter(direction=Direction.INBOUND, status=InterchangeStatus.RECEIVED).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    transactions = Transaction.objects.waiting().aggregate(n=Count("id"), oldest=Min("received_at"))
    oldest = [t for t in (interchanges["oldest"], transactions["oldest"]) if t]
    return interchanges["n"] + transactions["n"], _age(min(oldest) if oldest else None)


class WorkCollector:
    """Figures about the work, counted in the database when Prometheus scrapes."""

    def collect(self):
        from exceptions.selectors import dashboard
        from registrations.models import Direction, Interchange, OutboxItem, OutboxStatus, Transaction

        tx = GaugeMetricFamily(
            "pcrm_transactions", "GP Links transactions by type and status", labels=["type", "status"]
        )
        for row in Transaction.objects.values("type", "status").annotate(n=Count("id")).order_by():
            tx.add_metric([row["type"], row["status"]], row["n"])
        yield tx

        cases = GaugeMetricFamily(
            "pcrm_cases_open", "Open exception cases by kind and SLA state", labels=["kind", "sla"]
        )
        for row in dashboard.backlog(timezone.now()):  # the dashboard's own figures
            for sla in ("overdue", "due_soon", "on_time"):
                cases.add_metric([row.kind, sla], getattr(row, sla))
        yield cases

        backlog, age = unprocessed_inbound()
        yield GaugeMetricFamily(
            "pcrm_inbox_backlog", "Inbound interchanges and transactions not yet processed", backlog
        )
        yield GaugeMetricFamily("pcrm_inbox_oldest_age_seconds", "Age of the oldest unprocessed inbound item", age)

        outbox = OutboxItem.objects.filter(status=OutboxStatus.QUEUED).aggregate(
            n=Count("id"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily("pcrm_outbox_queued", "Outbox items queued, not yet batched", outbox["n"])
        yield GaugeMetricFamily(
            "pcrm_outbox_oldest_age_seconds", "Age of the oldest queued outbox item", _age(outbox["oldest"])
        )
        missing = Interchange.objects.filter(
            direction=Direction.OUTBOUND, recep_overdue_at__isnull=False, recep_at__isnull=True
        ).count()
        yield GaugeMetricFamily("pcrm_receps_missing", "Interchanges we sent whose RECEP is overdue", missing)


class EventCollector:
    """Counters and histograms that web, workers and beat recorded in Redis."""

    def collect(self):
        yield from _histogram(
            "pcrm_http_request_seconds", "Time to answer an HTTP request", REQUEST_SECONDS, REQUEST_BUCKETS
        )
        yield from _histogram("pcrm_pds_call_seconds", "Time of a call to PDS (all attempts)", PDS_SECONDS, PDS_BUCKETS)
        yield _counter("pcrm_pds_errors", "Calls to PDS that ended in an error", PDS_ERRORS, ["method", "error"])
        yield _counter(
            "pcrm_mesh_errors", "MESH sessions that ended in a transport or HTTP error", MESH_ERRORS, ["error"]
        )
        yield _counter("pcrm_mesh_sessions", "MESH sessions by outcome", MESH_SESSIONS, ["outcome"])
        age = store.last_beat("mesh")
        yield GaugeMetricFamily(
            "pcrm_mesh_last_ok_age_seconds",
            "Seconds since a MESH session last succeeded (-1: never)",
            -1 if age is None else age,
        )


def _counter(name: str, documentation: str, stored: str, labels: list[str]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for field, value in sorted(store.counters(stored).items()):
        values = json.loads(field)
        family.add_metric([values.get(label, "") for label in labels], value)
    return family


def _histogram(name: str, documentation: str, stored: str, buckets: tuple[float, ...]):
    per_bucket, sums, counts = store.histogram(stored)
    label_names: list[str] = []
    family = None
    for field in sorted(counts):
        values = json.loads(field)
        if family is None:
            label_names = sorted(values)
            family = HistogramMetricFamily(name, documentation, labels=label_names)
        cumulative, running = [], 0
        for bound in (*buckets, float("inf")):
            running += per_bucket.get(f"{field}|{'+Inf' if bound == float('inf') else bound}", 0)
            cumulative.append(("+Inf" if bound == float("inf") else str(bound), running))
        family.add_metric([values.get(label, "") for label in label_names], cumulative, sums.get(field, 0.0))
    if family is not None:
        yield family
    else:
        yield HistogramMetricFamily(name, documentation, labels=[])


# --- the endpoint -----------------------------------------------------------------------------------


def allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    # A request relayed by a proxy on this machine would also come from loopback: only a direct one counts.
    if not settings.METRICS_ALLOW_LOCALHOST or "X-Forwarded-For" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@require_GET
@login_not_required
def metrics_view(request):
    if not allowed(request):
        return HttpResponse(
            "Metrics need the metrics token or a request from this machine.\n", status=403, content_type="text/plain"
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkCollector())
    try:
        store.client().ping()
    except redis.RedisError:
        pass  # the work figures still come from the database; the event figures need Redis
    else:
        registry.register(EventCollector())
    body = generate_latest(registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
