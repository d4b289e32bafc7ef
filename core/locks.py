"""Cross-process mutual exclusion on PostgreSQL (style point 15: claim work with an advisory lock)."""

import hashlib
from contextlib import contextmanager

from django.db import connection


@contextmanager
def advisory_lock(name: str):
    """A PostgreSQL session lock: only one holder across every worker process and machine.

    Yields whether this caller got it; a caller that did not should skip its work, not wait.
    """
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [key])
        got = cur.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [key])
