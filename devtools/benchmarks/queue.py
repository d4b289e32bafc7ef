"""`python manage.py bench queue --json`: the work queue on a national-scale backlog.

World (in a scratch database, `pcrm_bench_queue`, created and dropped through Django's test-database
machinery, so the development database is never touched):

- 1,000,000 PDS patients from `devtools.population.seed` (COPY);
- 500,000 exception cases bulk-loaded with COPY: 100,000 open (80% unassigned, 20% in progress with
  one of 40 agents) and 400,000 resolved, rejected or closed over the past year; kinds, practices and
  health authorities drawn from realistic weights, each case with a small evidence document and rule
  trace like the ones processing writes.

Figures, all server time through the whole Django stack (middleware, session, authentication,
permissions, view, filters, keyset query, table rendering, audit write) with the test Client:

- queue_p50_ms / queue_p95_ms: 25-row queue pages, whole pages and htmx partials, over a mix of views
  (My work, Unassigned, Team, All), filters (kind, status, HA, practice, SLA state, assignee, received
  dates), sorts (each sortable column, both ways) and deep pages (walking Next, and jumping to pages
  25,000 to 99,000 rows in);
- search_p95_ms: the queue searched by NHS number typed with spaces (found and not found);
- take_next_p95_ms: "Take next case" (POST, claim, redirect), one person at a time;
- double_claims: cases handed to more than one person when 20 people press "Take next case" at the same
  moment, each request on its own thread and database connection, for several rounds.
"""

import datetime as dt
import io
import json
import os
import platform
import random
import re
import statistics
import threading
import time
from collections import Counter

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import roles
from exceptions.kinds import CATALOGUE
from exceptions.models import CaseEvent, ExceptionCase
from exceptions.selectors.pagination import encode_cursor
from exceptions.sla.working_days import add_working_days
from registrations.models import HealthAuthority

SCRATCH_DB = "pcrm_bench_queue"
DEFAULT_SIZE = 1_000_000  # patients; cases are half of it, open cases a tenth
TARGETS = {"queue_p95_ms": 150.0, "search_p95_ms": 100.0, "take_next_p95_ms": 50.0, "double_claims": 0}
AGENTS, LEADERS = 40, 5
CONCURRENT, ROUNDS = 20, 10
SAMPLES = {"queue": 600, "search": 300, "take_next": 300}

KIND_WEIGHTS = {
    "DEMOGRAPHIC_MISMATCH": 15,
    "NO_TRACE": 12,
    "MULTIPLE_MATCHES": 10,
    "FREE_TEXT": 10,
    "UNKNOWN_GP": 8,
    "DEMOGRAPHIC_CHANGE": 8,
    "INVALID_TRANSACTION": 6,
    "REMOVAL_REVIEW": 5,
    "DEDUCTION_REVIEW": 5,
    "DECEASED": 3,
    "FP69_RESPONSE": 3,
    "INVALID_ADDRESS": 3,
    "SENSITIVE": 2,
    "SUPERSEDED_NUMBER": 2,
    "LEGACY_NHS_NUMBER": 2,
    "CONFLICTING_REGISTRATION": 2,
    "ALREADY_REGISTERED": 2,
    "ACCEPTANCE_CHECK": 2,
    "NHS_NUMBER_ALLOCATION": 2,
    "SEQUENCE_GAP": 1,
    "MISSING_RECEP": 1,
    "DEAD_LETTER": 1,
    "MESH_REPORT": 0.5,
    "INVALID_INTERCHANGE": 0.5,
}
TRANSPORT = {"SEQUENCE_GAP", "MISSING_RECEP", "DEAD_LETTER", "MESH_REPORT", "INVALID_INTERCHANGE"}
SURNAMES = ["SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "PATEL", "KHAN", "EVANS", "WALKER", "HUGHES"]
NEXT_LINK = re.compile(r'<a href="(/cases/\?[^"]*)" class="nhsuk-pagination__next" rel="next"')


def pct(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --- the world -------------------------------------------------------------------------------------


def _people() -> tuple[list, list]:
    User = get_user_model()
    agent_group = Group.objects.get(name=roles.AGENT)
    leader_group = Group.objects.get(name=roles.TEAM_LEADER)
    agents = [User(username=f"bench-agent-{i:02d}", first_name="Agent", last_name=f"{i:02d}") for i in range(AGENTS)]
    leaders = [User(username=f"bench-leader-{i}", first_name="Leader", last_name=f"{i}") for i in range(LEADERS)]
    User.objects.bulk_create(agents + leaders)
    agents = list(User.objects.filter(username__startswith="bench-agent-").order_by("username"))
    leaders = list(User.objects.filter(username__startswith="bench-leader-").order_by("username"))
    agent_group.user_set.add(*agents)
    leader_group.user_set.add(*leaders)
    return agents, leaders


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _load_cases(cases: int, open_cases: int, agents: list, rng: random.Random) -> dict:
    """COPY `cases` exception cases in, `open_cases` of them open. Returns what the load made."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nhs_number FROM pds_patient TABLESAMPLE SYSTEM (60) LIMIT %s", [cases])
        numbers = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            'SELECT practice_ods FROM pds_gpperiod WHERE "end" IS NULL GROUP BY practice_ods ORDER BY count(*) DESC'
        )
        practices = [row[0] for row in cursor.fetchall()][:600] or [f"P{n:05d}" for n in range(600)]
    has = list(HealthAuthority.objects.order_by("cipher").values_list("cipher", flat=True)[:12])
    HealthAuthority.objects.filter(cipher__in=has).update(migrated=True)
    practice_ha = {p: has[i % len(has)] for i, p in enumerate(practices)}
    practice_weights = [1 / (i + 5) for i in range(len(practices))]  # a few big practices, a long tail
    kinds = list(KIND_WEIGHTS)
    kind_weights = [KIND_WEIGHTS[k] for k in kinds]
    now = timezone.now()
    today = timezone.localdate()
    due_cache: dict[tuple[dt.date, int], dt.datetime] = {}

    def due(opened: dt.datetime, days: int) -> dt.datetime:
        key = (timezone.localtime(opened).date(), days)
        if key not in due_cache:
            day = add_working_days(key[0], days)
            due_cache[key] = timezone.make_aware(dt.datetime.combine(day, dt.time(17, 0)))
        return due_cache[key]

    columns = (
        "kind, status, summary, transaction_id, interchange_id, nhs_number, practice_ods, ha_cipher, evidence, "
        "rule_trace, opened_at, due_at, assigned_to_id, closed_at, closed_by_id"
    )
    statuses = Counter()
    buffer = io.StringIO()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for i in range(cases):
            kind = rng.choices(kinds, kind_weights)[0]
            practice = rng.choices(practices, practice_weights)[0]
            is_open = i < open_cases
            if is_open:
                opened = now - dt.timedelta(minutes=rng.randint(5, 90 * 24 * 60))
            else:
                opened = now - dt.timedelta(minutes=rng.randint(3 * 24 * 60, 400 * 24 * 60))
            sla = CATALOGUE[kind].sla_working_days
            assignee = closed_at = closed_by = None
            if is_open:
                status = "OPEN"
                if rng.random() < 0.2:
                    status, assignee = "IN_PROGRESS", rng.choice(agents).pk
            else:
                status = rng.choices(("RESOLVED", "REJECTED", "CLOSED"), (6, 2, 2))[0]
                closed_at = opened + dt.timedelta(hours=rng.randint(1, 24 * 8))
                closed_by = rng.choice(agents).pk
            statuses[status] += 1
            nhs = "" if kind in TRANSPORT else numbers[i % len(numbers)]
            surname = rng.choice(SURNAMES)
            evidence = {
                "transaction": {
                    "tn": i + 1,
                    "type": "G1",
                    "nhs_number": nhs or None,
                    "surname": surname,
                    "forenames": ["JANE"],
                    "sex": "2",
                    "birth_date": "1980-05-17",
                    "gp_code": "4826940,281",
                    "errors": [],
                    "warnings": [],
                },
            }
            trace = [
                {"check": "validation", "result": "passed", "why": "Every mandatory item is present."},
                {"check": kind.lower().replace("_", " "), "result": "manual", "why": CATALOGUE[kind].description},
            ]
            values = (
                kind,
                status,
                f"{CATALOGUE[kind].label}: {surname} at {practice}",
                None,
                None,
                nhs,
                practice,
                practice_ha[practice],
                json.dumps(evidence, separators=(",", ":")),
                json.dumps(trace, separators=(",", ":")),
                opened.isoformat(),
                due(opened, sla).isoformat(),
                assignee,
                closed_at.isoformat() if closed_at else None,
                closed_by,
            )
            buffer.write("\t".join(_copy_value(v) for v in values))
            buffer.write("\n")
            if i % 50_000 == 49_999 or i == cases - 1:
                with raw.copy(f"COPY exceptions_exceptioncase ({columns}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
                buffer = io.StringIO()
        # What autovacuum would have done by the time anyone opened the queue: visibility map and statistics.
        cursor.execute("VACUUM ANALYZE exceptions_exceptioncase")
    return {"load_cases_s": round(time.perf_counter() - started, 1), "statuses": dict(statuses), "today": str(today)}


# --- the measurements --------------------------------------------------------------------------------


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _timed(client: Client, method: str, url: str, **extra) -> tuple[float, object]:
    started = time.perf_counter()
    response = getattr(client, method)(url, **extra)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code >= 400:
        raise RuntimeError(f"{method.upper()} {url} answered {response.status_code}")
    return elapsed, response


def _deep_cursor(order: tuple[str, ...], offset: int, descending: bool = False, **filters) -> str | None:
    qs = ExceptionCase.objects.open().filter(**filters).order_by(*[f"-{k}" if descending else k for k in order])
    row = qs.values_list(*order)[offset : offset + 1].first()
    return encode_cursor(list(row)) if row else None


def _queue_requests(rng: random.Random, agents: list, leaders: list, practices: list, has: list) -> list[tuple]:
    """(user, url, htmx, follow_next) tuples: the mix of queue pages people ask for."""
    base = reverse("exceptions:case-list")
    kinds = list(KIND_WEIGHTS)
    today = timezone.localdate()
    specs = []

    def add(params: str, *, walk: int = 0, user=None):
        specs.append((user or rng.choice(agents), f"{base}?{params}" if params else base, rng.random() < 0.5, walk))

    # Views, each sortable column both ways.
    for view in ("unassigned", "mine", "team", "all"):
        for sort in ("sla", "-sla", "opened_at", "-opened_at", "kind", "-kind", "practice_ods", "nhs_number"):
            add(f"view={view}&sort={sort}")
    # Filters, alone and combined.
    for _ in range(12):
        add(f"view=all&kind={rng.choice(kinds)}")
        add(f"view=unassigned&practice={rng.choice(practices)}")
        add(f"view=all&ha={rng.choice(has)}&sort=-opened_at")
        add(f"view=all&sla={rng.choice(('overdue', 'due_soon', 'on_time'))}")
        add(f"view=team&assignee={rng.choice(agents).pk}")
        add("view=all&assignee=none&sort=kind")
        add(f"view=all&kind={rng.choice(kinds)}&sla=overdue&sort=practice_ods")
        add(f"view=all&status={rng.choice(('OPEN', 'IN_PROGRESS'))}&kind={rng.choice(kinds)}")
        start = today - dt.timedelta(days=rng.randint(5, 80))
        add(f"view=all&received_from={start}&received_to={start + dt.timedelta(days=rng.randint(0, 6))}")
        add(f"view=all&status=RESOLVED&kind={rng.choice(kinds)}")
        add(f"view=all&practice={rng.choice(practices)}&status=any&sort=-opened_at")
    # Walking Next through pages.
    for params in ("view=unassigned", "view=all&sort=opened_at", "view=all&sort=kind", "view=team&sort=-sla"):
        add(params, walk=15)
    # Deep pages: straight to 25,000-99,000 rows in.
    orders = {
        "sla": ("due_at", "id"),
        "opened_at": ("opened_at", "id"),
        "kind": ("kind", "id"),
        "practice_ods": ("practice_ods", "id"),
    }
    total_open = ExceptionCase.objects.open().count()
    for offset in (25_000, 50_000, 75_000, 99_000):
        offset = min(offset, total_open - 30)
        for sort, order in orders.items():
            for descending in (False, True):
                cursor = _deep_cursor(order, offset, descending)
                if cursor:
                    add(f"view=all&sort={'-' if descending else ''}{sort}&after={cursor}", walk=2)
        cursor = _deep_cursor(("due_at", "id"), offset // 2, assigned_to__isnull=True)
        if cursor:
            add(f"view=unassigned&after={cursor}", walk=2)
    rng.shuffle(specs)
    return specs


def _measure_queue(specs: list[tuple], clients: dict, budget: int, slowest: list | None = None) -> tuple[list, int]:
    times, pages = [], 0
    for user, url, htmx, walk in specs:
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        for _ in range(walk + 1):
            elapsed, response = _timed(clients[user.pk], "get", url, **headers)
            times.append(elapsed)
            if slowest is not None:
                slowest.append((round(elapsed, 1), url.split("&after=")[0] + ("&after=…" if "after=" in url else "")))
            pages += 1
            found = NEXT_LINK.search(response.content.decode())
            if not found or len(times) >= budget:
                break
            url = found.group(1).replace("&amp;", "&")
        if len(times) >= budget:
            break
    return times, pages


def _measure_search(rng: random.Random, clients: dict, agents: list) -> list[float]:
    base = reverse("exceptions:case-list")
    numbers = list(
        ExceptionCase.objects.exclude(nhs_number="").order_by("?").values_list("nhs_number", flat=True)[:1000]
    )
    from core.nhs_number import from_serial

    times = []
    for n in range(SAMPLES["search"]):
        number = rng.choice(numbers) if n % 4 else from_serial(rng.randint(10_000_000, 90_000_000), prefix="9")
        typed = f"{number[:3]} {number[3:6]} {number[6:]}"
        elapsed, _ = _timed(clients[rng.choice(agents).pk], "get", base, data={"q": typed, "view": "all"})
        times.append(elapsed)
    return times


def _measure_take_next(clients: dict, agents: list) -> list[float]:
    url = reverse("exceptions:take-next")
    times = []
    for n in range(SAMPLES["take_next"]):
        elapsed, response = _timed(clients[agents[n % len(agents)].pk], "post", url)
        if response.status_code != 302 or "/cases/" not in response["Location"]:
            raise RuntimeError("take next did not hand out a case")
        times.append(elapsed)
    return times


def _race(agents: list) -> dict:
    """20 people press Take next at the same moment, ROUNDS times; count cases handed out twice."""
    url = reverse("exceptions:take-next")
    racers = agents[:CONCURRENT]
    clients = {u.pk: _client(u) for u in racers}
    connection.close()
    barrier = threading.Barrier(len(racers))
    handed: list[int] = []
    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    started_at = timezone.now()

    def run(user) -> None:
        try:
            for _ in range(ROUNDS):
                barrier.wait()
                elapsed, response = _timed(clients[user.pk], "post", url)
                case_id = int(re.search(r"/cases/(\d+)/", response["Location"]).group(1))
                with lock:
                    handed.append(case_id)
                    times.append(elapsed)
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(u,)) for u in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    twice_in_responses = len(handed) - len(set(handed))
    twice_in_events = (
        CaseEvent.objects.filter(action="claimed", at__gte=started_at)
        .values("case")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return {
        "double_claims": max(twice_in_responses, twice_in_events),
        "concurrent_take_next": len(handed),
        "take_next_concurrent_p95_ms": pct(times, 95),
    }


def run(options: dict) -> dict:
    size = options.get("size") or DEFAULT_SIZE
    cases, open_cases = size // 2, size // 10
    rng = random.Random(20261121)
    settings_dict = connection.settings_dict
    settings_dict["TEST"]["NAME"] = SCRATCH_DB
    debug = settings.DEBUG
    # PCRM_BENCH_KEEPDB=1 keeps the scratch database between runs (and reuses its world): for tuning only.
    keep = os.environ.get("PCRM_BENCH_KEEPDB") == "1"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=not keep, keepdb=keep, serialize=False)
    try:
        from devtools import population

        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        reuse = keep and ExceptionCase.objects.exists()
        if not reuse:
            population.seed(size, seed=1)
        seed_s = time.perf_counter() - started
        if reuse:
            User = get_user_model()
            agents = list(User.objects.filter(username__startswith="bench-agent-").order_by("username"))
            leaders = list(User.objects.filter(username__startswith="bench-leader-").order_by("username"))
            loaded = {"load_cases_s": 0.0, "statuses": {}}
        else:
            agents, leaders = _people()
            loaded = _load_cases(cases, open_cases, agents, rng)
        practices = list(ExceptionCase.objects.open().values_list("practice_ods", flat=True).distinct()[:200])
        has = list(HealthAuthority.objects.filter(migrated=True).values_list("cipher", flat=True))

        settings.DEBUG = False  # as in production: no query log, no debug pages
        clients = {u.pk: _client(u) for u in agents + leaders}
        specs = _queue_requests(rng, agents, leaders, practices, has)
        _measure_queue(specs[:20], clients, budget=20)  # warm caches and connections
        slowest: list = []
        queue_times, pages = _measure_queue(specs, clients, budget=SAMPLES["queue"], slowest=slowest)
        search_times = _measure_search(rng, clients, agents)
        take_times = _measure_take_next(clients, agents)
        race = _race(agents)
    finally:
        settings.DEBUG = debug
        connections.close_all()
        if not keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    figures = {
        "queue_p50_ms": pct(queue_times, 50),
        "queue_p95_ms": pct(queue_times, 95),
        "search_p95_ms": pct(search_times, 95),
        "take_next_p95_ms": pct(take_times, 95),
        "double_claims": race["double_claims"],
    }
    return {
        **figures,
        "targets": TARGETS,
        "met": {key: (figures[key] <= limit) for key, limit in TARGETS.items()},
        "patients": size,
        "cases": cases,
        "open_cases": open_cases,
        "queue_requests": pages,
        "queue_slowest": sorted(slowest, reverse=True)[:8],
        "search_p50_ms": pct(search_times, 50),
        "take_next_p50_ms": pct(take_times, 50),
        "concurrent_take_next": race["concurrent_take_next"],
        "take_next_concurrent_p95_ms": race["take_next_concurrent_p95_ms"],
        "seed_patients_s": round(seed_s, 1),
        "load_cases_s": loaded["load_cases_s"],
        "case_statuses": loaded["statuses"],
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": round(load_before, 2),
        },
    }
