"""Shared runtime state in Redis: heartbeats and the event metrics every process records.

Web, workers and beat may run on different machines, so what one process saw (a PDS call, a MESH
error, a beat tick) is written to the one Redis they share, under a prefix named for the database:
one deployment, one set of figures, whichever web instance Prometheus scrapes. Writes are
best-effort with short timeouts: losing a sample is better than slowing or failing a request.
"""

import contextlib
import json
import logging
import time

import redis
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 0.5
_clients: dict[str, redis.Redis] = {}


def client() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS, decode_responses=True
        )
    return _clients[url]


def key(*parts: str) -> str:
    return ":".join(["pcrm", connection.settings_dict["NAME"], *parts])


def beat(name: str) -> None:
    """Record that `name` (worker, beat, mesh) was alive and well now."""
    try:
        client().set(key("heartbeat", name), repr(time.time()))
    except redis.RedisError:
        logger.warning("Could not record the %s heartbeat in Redis", name)


def last_beat(name: str) -> float | None:
    """Seconds since `name` last beat, or None if it never did. Raises RedisError when Redis is down."""
    value = client().get(key("heartbeat", name))
    return None if value is None else max(0.0, time.time() - float(value))


def labels_field(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


def count(name: str, labels: dict[str, str], amount: float = 1) -> None:
    with contextlib.suppress(redis.RedisError):
        client().hincrbyfloat(key("counter", name), labels_field(labels), amount)


def observe(name: str, labels: dict[str, str], value: float, buckets: tuple[float, ...]) -> None:
    """One histogram observation: the bucket it falls in, the sum and the count, in one round trip."""
    field = labels_field(labels)
    bucket = next((str(b) for b in buckets if value <= b), "+Inf")
    try:
        pipe = client().pipeline(transaction=False)
        pipe.hincrby(key("histogram", name, "buckets"), f"{field}|{bucket}", 1)
        pipe.hincrbyfloat(key("histogram", name, "sum"), field, value)
        pipe.hincrby(key("histogram", name, "count"), field, 1)
        pipe.execute()
    except redis.RedisError:
        pass


def counters(name: str) -> dict[str, float]:
    return {f: float(v) for f, v in client().hgetall(key("counter", name)).items()}


def histogram(name: str) -> tuple[dict[str, int], dict[str, float], dict[str, int]]:
    pipe = client().pipeline(transaction=False)
    for part in ("buckets", "sum", "count"):
        pipe.hgetall(key("histogram", name, part))
    buckets, sums, counts = pipe.execute()
    return (
        {f: int(v) for f, v in buckets.items()},
        {f: float(v) for f, v in sums.items()},
        {f: int(v) for f, v in counts.items()},
    )


def reset() -> None:
    """Forget every figure and heartbeat of this database (tests)."""
    c = client()
    for k in c.scan_iter(match=key("*")):
        c.delete(k)
