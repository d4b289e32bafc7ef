"""Real processes for tests and benchmarks: a private MESH sandbox and Celery worker processes.

Both start on their own (a free port; the caller's database and broker), so nothing a developer
has running can take or feed their messages.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
from django.conf import settings

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / ".run"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MeshSandbox:
    """NHS England's mesh-sandbox (memory store, full HMAC auth) in its own process, warmed up once."""

    def __init__(self, port: int | None = None, *, bench: bool = False):
        """`bench`: a sandbox whose cost per request does not grow with its history, and which logs
        warnings only (scripts/mesh_sandbox_app.py, `_for_benchmarks`)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        RUN.mkdir(exist_ok=True)
        self.log = (RUN / f"mesh-{self.port}.log").open("a")
        env = {
            **os.environ,
            "AUTH_MODE": "full",
            "SHARED_KEY": settings.MESH_SHARED_KEY,
            "STORE_MODE": "memory",
            "MESH_SANDBOX_DATA_DIR": str(RUN / f"mesh-{self.port}"),
            "PYTHONWARNINGS": "ignore::UserWarning",
            "MESH_MAILBOX": settings.MESH_MAILBOX,
            "MESH_PCSE_MAILBOX": settings.MESH_PCSE_MAILBOX,
            "MESH_PASSWORD": settings.MESH_PASSWORD,
            "MESH_SANDBOX_BENCH": "1" if bench else "0",
        }
        self.proc = subprocess.Popen(
            [
                str(REPO / ".venv/bin/uvicorn"),
                "mesh_sandbox_app:app",
                "--app-dir",
                str(REPO / "scripts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()
        self.warm_up()

    def _wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"mesh-sandbox did not start; see {self.log.name}")

    def warm_up(self) -> None:
        # The sandbox builds its store lazily and loses messages when the first requests race.
        from mesh_client import MeshClient

        with MeshClient(
            self.url, settings.MESH_MAILBOX, settings.MESH_PASSWORD, shared_key=settings.MESH_SHARED_KEY.encode()
        ) as client:
            client.handshake()

    def reset(self) -> None:
        requests.delete(f"{self.url}/admin/reset", timeout=10).raise_for_status()
        self.warm_up()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class RedisServer:
    """A private redis-server on a free port (never the shared 6379), with an append-only file as
    production runs it, so a test can stop and start it under a running worker."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start on {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


class Worker:
    """A real `celery worker` process on the given database, broker and MESH server."""

    def __init__(
        self,
        *,
        database: str,
        broker: str,
        mesh_url: str,
        concurrency: int = 1,
        queue: str = "celery",
        extra_env=None,
        hostname: str = "",
    ):
        """`hostname`: run as a separate "node" with that host name (its own UTS namespace when this
        process may create one, as root can; otherwise only Celery's node name carries it)."""
        self.log_path = RUN / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            "POSTGRES_DB": database,
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "MESH_URL": mesh_url,
            "DJANGO_SETTINGS_MODULE": "pcrm_site.settings",
            # Tasks the worker sends go to the queue it consumes, so parallel runs never mix.
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            **(extra_env or {}),
        }
        RUN.mkdir(exist_ok=True)
        self.log = self.log_path.open("w")
        command = [
            str(REPO / ".venv/bin/celery"),
            "-A",
            "pcrm_site",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "-Q",
            queue,
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"w{time.monotonic_ns()}@{hostname or '%h'}",
        ]
        if hostname and os.geteuid() == 0 and shutil.which("unshare"):
            command = ["unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', hostname, *command]
        self.proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready: {self.log_path.read_text()[-2000:]}")

    def pids(self) -> list[int]:
        """The worker's processes (its main process and pool children: one process group)."""
        return group_pids(self.proc.pid)

    def kill_hard(self) -> None:
        """SIGKILL the whole worker process group, as a machine crash would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


# --- what processes cost, from their own accounting (/proc; Linux) ---------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def tree_pids(root: int) -> list[int]:
    """`root` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU seconds of each live process, as the kernel accounts them."""
    out = {}
    for pid in pids:
        fields = _stat(pid)
        if fields:
            out[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def rss_mb(pid: int) -> float:
    fields = _stat(pid)
    return int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20 if fields else 0.0


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings (a process born meanwhile counts from zero)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def ordering_audit() -> dict:
    """Ordering of what the pipeline decided, from the rows (ADR 0015), for tests and `bench pipeline`.

    Arrival order is (interchange id, transaction id): MESH order, then SMS and TN within an
    interchange. `patient_violations`: two transactions about the same NHS number decided in the
    other order. `partner_violations`: a partner's transaction decided after a later one of the
    same partner although it had nothing to wait for (no earlier transaction about its patient from
    another partner, no passing failure of its own). `double_applied`: transactions with more than
    one reply of a type, or more than one registration.
    """
    from collections import Counter, defaultdict

    from registrations.models import OutboxItem, Registration
    from registrations.models import Transaction as TxRow

    rows = list(
        TxRow.objects.filter(processed_at__isnull=False, is_duplicate=False)
        .values_list(
            "message__interchange_id", "pk", "sender", "nhs_number", "processed_at", "attempts", "type", "status"
        )
        .order_by("message__interchange_id", "pk")
    )
    by_patient, by_partner = defaultdict(list), defaultdict(list)
    for row in rows:
        if row[3]:
            by_patient[row[3]].append(row)
        by_partner[row[2]].append(row)
    examples: list[dict] = []
    patient_violations = _patient_violations(by_patient, examples)
    partner_violations = _partner_violations(by_partner, _excused(rows, by_patient), examples)
    replies = Counter(
        OutboxItem.objects.filter(caused_by__isnull=False, kind="TX").values_list("caused_by_id", "tx_type")
    )
    registrations = Counter(Registration.objects.values_list("transaction_id", flat=True))
    double = {k for k, c in replies.items() if c > 1} | {k for k, c in registrations.items() if c > 1}
    return {
        "decided": len(rows),
        "patient_violations": patient_violations,
        "partner_violations": partner_violations,
        "double_applied": len(double),
        "examples": examples,
    }


def _patient_violations(by_patient: dict, examples: list) -> int:
    count = 0
    for group in by_patient.values():
        for i, earlier in enumerate(group):
            for later in group[i + 1 :]:
                if later[4] < earlier[4]:
                    count += 1
                    _example(examples, "patient", earlier, later)
    return count


def _excused(rows, by_patient: dict) -> set[int]:
    """A transaction may wait (and be overtaken by its partner's next) only behind another partner's,
    or while it waits to retry after a passing failure (it was attempted more than once)."""
    excused = {row[1] for row in rows if row[5] > 1}
    for group in by_patient.values():
        seen: set[str] = set()
        for row in group:
            if seen - {row[2]}:
                excused.add(row[1])
            seen.add(row[2])
    return excused


def _partner_violations(by_partner: dict, excused: set[int], examples: list) -> int:
    count = 0
    for group in by_partner.values():
        later_first = None  # of the partner's later transactions, the one decided first
        for row in reversed(group):
            if later_first is not None and later_first[4] < row[4] and row[1] not in excused:
                count += 1
                _example(examples, "partner", row, later_first)
            if later_first is None or row[4] < later_first[4]:
                later_first = row
    return count


def _example(examples: list, kind: str, earlier, later) -> None:
    # What a reader needs to see why it counts: both transactions, in arrival order, as decided.
    if len(examples) < 5:
        examples.append({"kind": kind, "arrived_first": _described(earlier), "decided_before_it": _described(later)})


def _described(row) -> dict:
    interchange, pk, sender, _number, processed_at, attempts, tx_type, status = row
    return {
        "interchange": interchange,
        "transaction": pk,
        "sender": sender,
        "type": tx_type,
        "status": status,
        "attempts": attempts,
        "decided_at": processed_at.isoformat(timespec="milliseconds"),
    }
