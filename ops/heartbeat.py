"""Heartbeats of the Celery processes, for readiness: each worker says it is alive every few seconds, and
beat says so on every tick of its scheduler. Both are written to Redis (ops.store), so /readyz on any web
machine sees the workers and the beat wherever they run."""

import threading

from celery import signals
from celery.beat import PersistentScheduler

from . import store

WORKER_INTERVAL_SECONDS = 10
BEAT_MIN_INTERVAL_SECONDS = 5


def _worker_heartbeat(stop: threading.Event) -> None:
    while not stop.is_set():
        store.beat("worker")
        stop.wait(WORKER_INTERVAL_SECONDS)


_stop = threading.Event()


def _on_worker_ready(**kwargs) -> None:
    _stop.clear()
    threading.Thread(target=_worker_heartbeat, args=(_stop,), name="pcrm-heartbeat", daemon=True).start()


def _on_worker_shutdown(**kwargs) -> None:
    _stop.set()


def connect_signals() -> None:
    signals.worker_ready.connect(_on_worker_ready, dispatch_uid="ops.heartbeat.worker_ready", weak=False)
    signals.worker_shutdown.connect(_on_worker_shutdown, dispatch_uid="ops.heartbeat.worker_shutdown", weak=False)


class RecordingScheduler(PersistentScheduler):
    """Celery beat's own scheduler, which also records each tick (at most every few seconds) for /readyz."""

    _last_recorded = 0.0

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        now = self.app.now().timestamp()
        if now - self._last_recorded >= BEAT_MIN_INTERVAL_SECONDS:
            store.beat("beat")
            self._last_recorded = now
        return min(interval, BEAT_MIN_INTERVAL_SECONDS * 2)
