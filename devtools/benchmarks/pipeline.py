"""`bench pipeline`: the MESH pipeline end to end against limits measured in the same run.

Runs in a scratch database and a private MESH sandbox, with real Celery worker processes.

Figures (docs/benchmarks.md explains each):
- drain_ratio: our poller (download, store, commit, acknowledge) against a bare mesh-client
  download-and-acknowledge loop over the same N messages;
- tx_per_s: transactions decided per second with two worker processes, from the first poll of a
  backlog of N interchanges to the last outcome;
- cpu_ms_per_tx: CPU of PCRM's own processes (the workers, which run the poller, the partner runs and
  the relay) per transaction, from the kernel's accounting of those processes; PostgreSQL's (the
  scratch database's backends) and the MESH sandbox's beside it;
- limit_ratio: tx_per_s divided by the rate of a bare mesh-client loop doing the same MESH
  operations (the downloads and acknowledgements, and the sends PCRM made) for those transactions;
- p95_latency_s: arrival in MESH to outcome, at a steady offered 30 transactions a second;
- ordering_violations: transactions decided out of order (devtools.harness.ordering_audit), over a
  mix where partners send G1s followed by G2s and G5s for the same patients, in one interchange and
  across interchanges, and patients move between partners.
`--nodes N` runs the workers as N separate nodes (own host names and processes); `--processes N` gives
the one worker N processes instead of two; `--soak MINUTES` offers 30 tx/s (`--rate`) for that long and
reports each process's memory and the latency over time.
"""

import datetime as dt
import os
import random
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max

from devtools.harness import MeshSandbox, Worker, cpu_seconds, cpu_used, ordering_audit, rss_mb, tree_pids
from pcrm_site.celery import app
from registrations import mesh
from registrations.gplinks import Address, Interchange, Message, Transaction, build_interchange
from registrations.models import GP, Direction, HealthAuthority, InterchangeStatus, Link, Practice
from registrations.models import Interchange as InterchangeRow
from registrations.models import Transaction as TxRow

# Two benches at once (another checkout) need their own broker database: PCRM_BENCH_BROKER.
BROKER = os.environ.get("PCRM_BENCH_BROKER", "redis://127.0.0.1:6379/14")
PENDING = ("PARSED", "PROCESSING", "RETRY_WAIT")
OFFERED_PER_S = 30
POLL_SECONDS = 0.5  # the beat-like poll's interval (`--poll`); production's default is MESH_POLL_SECONDS
SEND_ATTEMPTS = 5


@dataclass
class Item:
    body: bytes
    mailbox: str
    transactions: int


@contextmanager
def scratch(suffix: str):
    """A scratch database (`<POSTGRES_DB>_<suffix>`) and a private MESH sandbox, for one run."""
    creation = connection.creation
    connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_{suffix}"
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    sandbox = MeshSandbox(bench=True)
    settings.MESH_URL = sandbox.url
    try:
        yield sandbox
    finally:
        sandbox.stop()
        creation.destroy_test_db(old_name, verbosity=0)


def run(options: dict) -> dict:
    n = options.get("size") or 1000
    nodes = options.get("nodes") or 0
    soak_minutes = options.get("soak") or 0
    global POLL_SECONDS  # one bench per process: the interval every wait below uses
    POLL_SECONDS = options.get("poll") or POLL_SECONDS
    with scratch("bench_pipeline") as sandbox:
        app.conf.broker_url = app.conf.result_backend = BROKER
        app.conf.task_default_queue = queue = f"bench-{connection.settings_dict['NAME']}"
        workers: list[Worker] = []
        try:
            world = World()
            figures = {}
            if not soak_minutes:
                items = world.plan(n)
                figures = {"interchanges": len(items), "transactions": sum(i.transactions for i in items)}
                figures.update(_drain(sandbox, items))
                InterchangeRow.objects.all().delete()
            app.control.purge()
            workers = _start_workers(sandbox, nodes, options, queue)
            if soak_minutes:
                figures.update(_soak(sandbox, world, workers, soak_minutes, options.get("rate") or OFFERED_PER_S))
            else:
                figures.update(_end_to_end(sandbox, items, workers))
                figures.update(_steady(sandbox, world, seconds=options.get("steady") or 20))
            audit = ordering_audit()
            figures["ordering_violations"] = audit["patient_violations"] + audit["partner_violations"]
            figures["double_applied"] = audit["double_applied"]
            if audit["examples"]:
                figures["ordering_examples"] = audit["examples"]
            processes = options.get("processes") or 2
            figures["workers"] = (
                [f"node{i + 1}" for i in range(nodes)] if nodes else [f"one worker, {processes} processes"]
            )
            return figures
        finally:
            for worker in workers:
                worker.stop()
            app.control.purge()


def _start_workers(sandbox: MeshSandbox, nodes: int, options: dict, queue: str) -> list[Worker]:
    env = {
        # Production settings (DEBUG off: no per-query bookkeeping).
        "DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
        "CELERY_WORKER_PREFETCH_MULTIPLIER": str(options.get("prefetch") or 1),
        "MESH_POLLING_ENABLED": "1",
    }

    def start(concurrency: int, hostname: str = "") -> Worker:
        return Worker(
            database=connection.settings_dict["NAME"],
            broker=BROKER,
            mesh_url=sandbox.url,
            concurrency=concurrency,
            queue=queue,
            extra_env=env,
            hostname=hostname,
        )

    if nodes:
        return [start(1, f"node{i + 1}") for i in range(nodes)]
    return [start(options.get("processes") or 2)]


# --- the world and the traffic -------------------------------------------------------------------


class World:
    """Ten practices on one HA; patients made in PDS as the traffic needs them."""

    def __init__(self):
        ha, _ = HealthAuthority.objects.update_or_create(
            cipher="XX1", defaults={"name": "Bench HA", "nation": "England", "link_code": "XX11", "migrated": True}
        )
        self.practices = []
        for i in range(10):
            practice = Practice.objects.create(
                ods_code=f"B{i:05d}", name=f"Bench {i}", ha=ha, link_code=f"BN{i}5", mesh_mailbox=f"GPMB{i + 1:05d}"
            )
            GP.objects.create(national_code=f"{4900000 + i}", local_code=f"{i + 1}", practice=practice)
            Link.objects.create(practice=practice, ha=ha)
            self.practices.append(practice)
        self.gp_codes = {p.pk: p.gps.first().gp_code for p in self.practices}
        self.serial = 0
        self.born: dict[str, dt.date] = {}
        self.unwritten: list = []
        self.sis: dict[int, int] = {}
        self.sms: dict[int, int] = {}
        self.rng = random.Random(42)

    def patient(self, registered_at: str) -> str:
        """A new patient's NHS number; the record is written with the plan's others (`_write_patients`)."""
        from core.nhs_number import from_serial
        from pds.models import Patient

        self.serial += 1
        patient = Patient(
            nhs_number=from_serial(50_000_000 + self.serial * 7),
            gender="2",
            birth_date=dt.date(1960, 1, 1) + dt.timedelta(days=self.serial % 20000),
        )
        self.unwritten.append((patient, registered_at))
        self.born[patient.nhs_number] = patient.birth_date
        return patient.nhs_number

    def _write_patients(self) -> None:
        # In bulk: the soak plans all its traffic before it starts, and the GP systems' side of the
        # bench should not compete with the pipeline it measures.
        from pds.models import GPPeriod, Patient, PatientAddress, PatientName

        patients = Patient.objects.bulk_create([p for p, _ in self.unwritten], batch_size=2000)
        PatientName.objects.bulk_create(
            [PatientName(patient=p, family="BENCH", given=["ANNA"]) for p in patients], batch_size=2000
        )
        PatientAddress.objects.bulk_create(
            [PatientAddress(patient=p, road="1 BENCH ROAD", post_town="LEEDS", postcode="LS1 1AA") for p in patients],
            batch_size=2000,
        )
        GPPeriod.objects.bulk_create(
            [
                GPPeriod(patient=p, practice_ods=registered_at, start=dt.date(2010, 1, 1))
                for p, (_, registered_at) in zip(patients, self.unwritten, strict=True)
            ],
            batch_size=2000,
        )
        self.unwritten = []

    def interchange(self, practice, transactions: list[Transaction]) -> Item:
        """One interchange from `practice`: a message per run of one type, numbered as a GP system would."""
        sis = self.sis[practice.pk] = self.sis.get(practice.pk, 0) + 1
        messages: list[Message] = []
        for tx in transactions:
            if not messages or messages[-1].type != tx.type:
                sms = self.sms[practice.pk] = self.sms.get(practice.pk, 0) + 1
                messages.append(Message(sms=sms, type=tx.type, ha_cipher="XX1", transactions=[]))
            messages[-1].transactions.append(tx)
        body = build_interchange(
            Interchange(
                sender=practice.link_code,
                recipient="XX11",
                sis=sis,
                prepared_at=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC),
                messages=messages,
                warnings=[],
            )
        )
        return Item(body, practice.mesh_mailbox, len(transactions))

    def tx(self, kind: str, practice, number: str, tn: int, **items) -> Transaction:
        common = {"tn": tn, "gp_code": self.gp_codes[practice.pk], "nhs_number": number}
        if kind == "G1":
            return Transaction(
                type="G1",
                surname="BENCH",
                forenames=["ANNA"],
                sex="2",
                birth_date=self.born[number],
                acceptance_code="A",
                acceptance_type="1",
                acceptance_date=items.get("on", dt.date(2026, 11, 2)),
                address=Address("", "1 BENCH ROAD", "", "LEEDS", "", "LS1 1AA"),
                **common,
            )
        if kind == "G2":
            return Transaction(type="G2", address=Address("", "2 NEW ROAD", "", "LEEDS", "", "LS2 2BB"), **common)
        if kind == "G3":
            return Transaction(type="G3", free_text="MOVED AWAY", **common)
        return Transaction(type="G5", deduction_reason="5", deduction_date=dt.date(2026, 11, 3), **common)

    def plan(self, n: int) -> list[Item]:
        """About `n` interchanges of a realistic mix, with ordering traps: a G1 and the G2 for the same
        patient in one interchange; a G1 and, a few interchanges later, the practice's G5 for them; a
        patient registered by one practice and then by another (a move, with an F2 to the first)."""
        items: list[Item] = []
        later: list[tuple[int, object, list[Transaction]]] = []
        tn = 0
        while len(items) < n:
            tn += 1
            practice = self.rng.choice(self.practices)
            roll = self.rng.random()
            if roll < 0.5:
                txs = [self.tx("G1", practice, self.patient("Z99999"), tn)]
            elif roll < 0.6:
                number = self.patient("Z99999")
                txs = [self.tx("G1", practice, number, tn), self.tx("G2", practice, number, tn + 1)]
                tn += 1
            elif roll < 0.7:
                number = self.patient("Z99999")
                txs = [self.tx("G1", practice, number, tn)]
                later.append((len(items) + self.rng.randrange(1, 6), practice, [self.tx("G5", practice, number, -1)]))
            elif roll < 0.75:
                number = self.patient("Z99999")
                other = self.rng.choice([p for p in self.practices if p is not practice])
                txs = [self.tx("G1", practice, number, tn)]
                later.append(
                    (
                        len(items) + self.rng.randrange(1, 6),
                        other,
                        [self.tx("G1", other, number, -1, on=dt.date(2026, 11, 4))],
                    )
                )
            elif roll < 0.88:
                txs = [self.tx("G2", practice, self.patient(practice.ods_code), tn)]
            elif roll < 0.95:
                txs = [self.tx("G3", practice, self.patient(practice.ods_code), tn)]
            else:
                txs = [self.tx("G5", practice, self.patient(practice.ods_code), tn)]
            items.append(self.interchange(practice, txs))
            due = [entry for entry in later if entry[0] <= len(items)]
            for entry in due:
                later.remove(entry)
                tn += 1
                renumbered = [_with_tn(t, tn) for t in entry[2]]
                items.append(self.interchange(entry[1], renumbered))
        self._write_patients()
        return items


def _with_tn(tx: Transaction, tn: int) -> Transaction:
    from dataclasses import replace

    return replace(tx, tn=tn)


# --- MESH -------------------------------------------------------------------------------------------


def _send_all(items, *, sent_at: dict | None = None, pace: float = 0.0, to: str = "", tally: dict | None = None):
    """Send as the practices' GP systems; `pace` spaces them to that many transactions a second.

    With a `tally`, a send MESH does not answer is sent again after a pause, as a GP system would (the
    copy, if the first got through, is PCRM's to recognise), and the tally counts the transactions sent
    and the sends that failed for good, so a soak reports what was really offered."""
    clients = {}
    start = time.monotonic()
    offered = 0
    try:
        for index, item in enumerate(items):
            if pace:
                wait = start + offered / pace - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            if item.mailbox not in clients:
                clients[item.mailbox] = mesh.mesh_client(item.mailbox).__enter__()
            local_id = f"bench-{index}-{time.monotonic_ns()}"
            if sent_at is not None:
                sent_at[local_id] = time.time()
            attempts = SEND_ATTEMPTS if tally is not None else 1
            if not _send_one(clients[item.mailbox], item, local_id, to=to, attempts=attempts):
                tally["failed"] = tally.get("failed", 0) + 1
                continue
            offered += item.transactions
            if tally is not None:
                tally["sent"] = tally.get("sent", 0) + item.transactions
    finally:
        for client in clients.values():
            client.close()


def _send_one(client, item: Item, local_id: str, *, to: str, attempts: int) -> bool:
    for attempt in range(attempts):
        try:
            mesh.send(
                client,
                recipient=to or settings.MESH_MAILBOX,
                body=item.body,
                workflow=mesh.WORKFLOW_REG,
                local_id=local_id,
            )
            return True
        except Exception:
            if attempts == 1:
                raise
            if attempt < attempts - 1:
                time.sleep(1)
    return False


def _bare_drain(mailbox: str = "") -> float:
    start = time.perf_counter()
    with mesh.mesh_client(mailbox or None) as client:
        while ids := client.list_messages(max_results=500):
            for message_id in ids:
                msg = client.retrieve_message(message_id)
                msg.read()
                msg.close()
                client.acknowledge_message(message_id)
    return time.perf_counter() - start


def _drain(sandbox: MeshSandbox, items) -> dict:
    from registrations.services import inbound

    _send_all(items)
    bare = _bare_drain()
    sandbox.reset()
    _send_all(items)
    start = time.perf_counter()
    stored = 0
    while result := inbound.poll_inbox():
        stored += len(result.stored)
        if not result.stored:
            break
    ours = time.perf_counter() - start
    if stored != len(items):
        raise RuntimeError(f"stored {stored} of {len(items)}")
    return {
        "drain_per_s": round(len(items) / ours, 1),
        "bare_drain_per_s": round(len(items) / bare, 1),
        "drain_ratio": round(bare / ours, 3),
    }


def _bare_limit(sandbox: MeshSandbox, items) -> float:
    """Seconds a bare mesh-client loop takes for the MESH operations PCRM made for these items: each
    interchange downloaded and acknowledged, and every interchange PCRM sent, sent again. It uses
    another mailbox (PCSE's), so the workers' polls cannot take its messages."""
    sent = list(
        InterchangeRow.objects.filter(direction=Direction.OUTBOUND, status__in=["SENT", "ACKNOWLEDGED"]).values_list(
            "mesh_recipient", "workflow", "raw"
        )
    )
    box = settings.MESH_PCSE_MAILBOX
    _send_all(items, to=box)
    start = time.perf_counter()
    _bare_drain(box)
    with mesh.mesh_client(box) as client:
        for recipient, workflow, raw in sent:
            mesh.send(client, recipient=recipient, body=bytes(raw), workflow=workflow, local_id="bare")
    return time.perf_counter() - start


# --- end to end ------------------------------------------------------------------------------------


def _poll_until(done, timeout: float, on_tick=None) -> None:
    from registrations.tasks import poll_mesh_inbox

    deadline = time.monotonic() + timeout
    last_poll = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() - last_poll > POLL_SECONDS:
            # What beat does, at a benchmark-friendly interval; a poll not started by the next is dropped.
            poll_mesh_inbox.apply_async(expires=POLL_SECONDS * 2)
            last_poll = time.monotonic()
        if on_tick:
            on_tick()
        if done():
            return
        time.sleep(0.05)
    raise RuntimeError("pipeline did not finish in time")


def _all_decided(expected: int):
    def done() -> bool:
        if TxRow.objects.count() < expected:
            return False
        return not TxRow.objects.filter(status__in=PENDING).exists()

    return done


def _relayed() -> bool:
    from registrations.models import OutboxItem

    built = InterchangeRow.objects.filter(direction=Direction.OUTBOUND, status=InterchangeStatus.BUILT).exists()
    return not built and not OutboxItem.objects.filter(status="QUEUED").exists()


class Meter:
    """CPU of PCRM's processes (the workers), the scratch database's backends and the sandbox.

    Backends come and go (a worker's connection is closed after CONN_MAX_AGE or an error), so they are
    sampled while the run goes on and each counts from its first sighting (from zero if born during the
    run) to its last."""

    def __init__(self, workers: list[Worker], sandbox: MeshSandbox):
        self.workers, self.sandbox = workers, sandbox
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started = False

    def _backends(self) -> list[int]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [row[0] for row in cur.fetchall()]

    def sample(self) -> None:
        for pid, value in cpu_seconds(self._backends()).items():
            self.first.setdefault(pid, value if not self.started else 0.0)
            self.last[pid] = value

    def read(self) -> dict[str, dict[int, float]]:
        self.sample()
        self.started = True
        return {
            "pcrm": cpu_seconds(pid for w in self.workers for pid in w.pids()),
            "mesh": cpu_seconds(tree_pids(self.sandbox.proc.pid)),
        }

    def used(self, before, after) -> dict[str, float]:
        used = {k: cpu_used(before[k], after[k]) for k in before}
        used["postgres"] = sum(self.last[pid] - self.first[pid] for pid in self.last)
        return used


def _end_to_end(sandbox: MeshSandbox, items, workers) -> dict:
    sandbox.reset()
    _send_all(items)
    expected = sum(i.transactions for i in items)
    meter = Meter(workers, sandbox)
    before = meter.read()
    start_wall = time.time()
    _poll_until(_all_decided(expected), timeout=900, on_tick=meter.sample)
    last = TxRow.objects.aggregate(last=Max("processed_at"))["last"]
    elapsed = max(0.001, (last.timestamp() if last else time.time()) - start_wall)
    _poll_until(_relayed, timeout=300, on_tick=meter.sample)
    used = meter.used(before, meter.read())
    count = TxRow.objects.count()
    tx_per_s = count / elapsed
    limit = count / _bare_limit(sandbox, items)
    outcomes = dict(TxRow.objects.values_list("status").annotate(n=Count("id")).order_by("status"))
    return {
        "tx_per_s": round(tx_per_s, 1),
        "limit_tx_per_s": round(limit, 1),
        "limit_ratio": round(tx_per_s / limit, 3),
        "cpu_ms_per_tx": round(1000 * used["pcrm"] / count, 2),
        "postgres_cpu_ms_per_tx": round(1000 * used["postgres"] / count, 2),
        "mesh_cpu_ms_per_tx": round(1000 * used["mesh"] / count, 2),
        "postgres_backends_seen": len(meter.last),
        "outcomes": outcomes,
    }


def _latencies(since_id: int, sent_at: dict) -> list[float]:
    rows = (
        TxRow.objects.filter(id__gt=since_id, processed_at__isnull=False)
        .annotate(local_id=F("message__interchange__local_id"))
        .values_list("processed_at", "local_id")
    )
    return [processed.timestamp() - sent_at[local] for processed, local in rows if local in sent_at]


def _offer(sandbox: MeshSandbox, world: World, seconds: float) -> tuple[int, dict]:
    """Send at OFFERED_PER_S for `seconds` while polling like beat; returns (first new id, sent times)."""
    import threading

    since = TxRow.objects.order_by("-id").values_list("id", flat=True).first() or 0
    items = world.plan(int(seconds * OFFERED_PER_S))
    sent_at: dict[str, float] = {}
    sender = threading.Thread(target=_send_all, args=(items,), kwargs={"sent_at": sent_at, "pace": OFFERED_PER_S})
    sender.start()
    expected = TxRow.objects.count() + sum(i.transactions for i in items)
    _poll_until(lambda: not sender.is_alive() and _all_decided(expected)(), timeout=seconds + 300)
    sender.join()
    return since, sent_at


def _steady(sandbox: MeshSandbox, world: World, *, seconds: float) -> dict:
    sandbox.reset()
    since, sent_at = _offer(sandbox, world, seconds)
    latencies = _latencies(since, sent_at)
    cuts = statistics.quantiles(latencies, n=20)
    return {
        "offered_tx_per_s": OFFERED_PER_S,
        "p95_latency_s": round(cuts[18], 3),
        "p50_latency_s": round(statistics.median(latencies), 3),
    }


def _soak(sandbox: MeshSandbox, world: World, workers: list[Worker], minutes: float, rate: float) -> dict:
    """`rate` transactions a second offered for `minutes`, in one-minute windows: the latency of what
    was decided in each window, what was left waiting, and each PCRM process's memory. All the traffic
    is planned (and its patients written to PDS) before the first window, so that making it does not
    compete with the pipeline."""
    import threading

    windows = [_one_minute(world.plan(int(60 * rate)), rate) for _ in range(int(max(1, minutes)))]
    samples = []
    start_id = TxRow.objects.order_by("-id").values_list("id", flat=True).first() or 0
    sent_at: dict[str, float] = {}
    tally: dict[str, int] = {}
    for window, items in enumerate(windows):
        sender = threading.Thread(
            target=_send_all, args=(items,), kwargs={"sent_at": sent_at, "pace": rate, "tally": tally}
        )
        began = time.time()
        sender.start()
        _poll_until(lambda sender=sender: not sender.is_alive(), timeout=180)
        sender.join()
        rows = (
            TxRow.objects.filter(id__gt=start_id, processed_at__gte=dt.datetime.fromtimestamp(began, dt.UTC))
            .annotate(local_id=F("message__interchange__local_id"))
            .values_list("processed_at", "local_id")
        )
        latencies = [p.timestamp() - sent_at[local] for p, local in rows if local in sent_at]
        memory = {f"worker{i}-{pid}": round(rss_mb(pid), 1) for i, w in enumerate(workers) for pid in w.pids()}
        offered = tally.get("sent", 0)
        samples.append(
            {
                "minute": window + 1,
                "seconds": round(time.time() - began, 1),
                "offered": offered,
                "sends_failed": tally.get("failed", 0),
                "decided_in_window": len(latencies),
                "waiting": offered
                - TxRow.objects.filter(id__gt=start_id, processed_at__isnull=False, is_duplicate=False).count(),
                "p95_latency_s": round(statistics.quantiles(latencies, n=20)[18], 3) if len(latencies) > 1 else None,
                "rss_mb": memory,
                "pcrm_rss_mb": round(sum(memory.values()), 1),
            }
        )
    p95 = [s["p95_latency_s"] for s in samples if s["p95_latency_s"] is not None]
    return {
        "soak_minutes": len(samples),
        "offered_tx_per_s": rate,
        "samples": samples,
        "rss_growth_mb": round(samples[-1]["pcrm_rss_mb"] - samples[0]["pcrm_rss_mb"], 1),
        "p95_latency_s_first_last": [p95[0], p95[-1]] if p95 else None,
        "p95_latency_s_max": max(p95) if p95 else None,
        "waiting_at_end": samples[-1]["waiting"],
    }


def _one_minute(items: list[Item], rate: float) -> list[Item]:
    """The first minute's worth at `rate` (a plan of n interchanges holds a little more than n
    transactions; what is cut is a suffix, so nothing cut is something kept depends on)."""
    kept, total = [], 0
    for item in items:
        if total + item.transactions > 60 * rate:
            break
        kept.append(item)
        total += item.transactions
    return kept
