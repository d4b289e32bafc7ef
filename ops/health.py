"""GET /healthz (liveness: the process answers) and GET /readyz (readiness: every part PCRM needs works).

Readiness checks the database, Redis, MESH (a session succeeded within MESH_READY_MAX_AGE_SECONDS:
the beat polls every few seconds and validates the mailbox daily), a Celery worker's heartbeat, the
beat's last tick and the age of the oldest unprocessed inbound message. Any failing part makes the
answer 503 and is named in it. No login, no personal data: only names of parts, ages and counts.
"""

import time

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from . import store
from .metrics import unprocessed_inbound


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def _redis() -> dict:
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=store.TIMEOUT_SECONDS, socket_connect_timeout=store.TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()
    store.client().ping()
    return {"ok": True}


def _heartbeat(name: str, max_age: int, never: str) -> dict:
    age = store.last_beat(name)
    if age is None:
        return {"ok": False, "why": never}
    return {"ok": age <= max_age, "age_seconds": round(age, 1), "max_age_seconds": max_age}


def _mesh() -> dict:
    return _heartbeat("mesh", settings.MESH_READY_MAX_AGE_SECONDS, "no MESH session has succeeded yet")


def _worker() -> dict:
    return _heartbeat("worker", settings.WORKER_READY_MAX_AGE_SECONDS, "no Celery worker has reported")


def _beat() -> dict:
    return _heartbeat("beat", settings.BEAT_READY_MAX_AGE_SECONDS, "Celery beat has not run")


def _inbound() -> dict:
    waiting, age = unprocessed_inbound()
    limit = settings.INBOUND_READY_MAX_AGE_SECONDS
    return {"ok": age <= limit, "waiting": waiting, "oldest_age_seconds": round(age, 1), "max_age_seconds": limit}


CHECKS = {
    "database": _database,
    "redis": _redis,
    "mesh": _mesh,
    "worker": _worker,
    "beat": _beat,
    "inbound": _inbound,
}


def readiness() -> tuple[bool, dict]:
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            result = check()
        except (DatabaseError, redis.RedisError, OSError) as exc:
            # The error's class only: a driver's message may carry connection details or values.
            result = {"ok": False, "why": f"{type(exc).__name__}"}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    failing = [name for name, result in results.items() if not result["ok"]]
    return not failing, {"status": "ok" if not failing else "failing", "failing": failing, "checks": results}


@require_GET
@login_not_required
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
@login_not_required
def readyz(request):
    ok, body = readiness()
    return JsonResponse(body, status=200 if ok else 503)
