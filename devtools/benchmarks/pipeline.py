"""`bench pipeline`: MESH drain rate against a bare mesh-client loop, and end-to-end throughput and
latency with two real worker processes. Runs in a scratch database and a private MESH sandbox.

Figures:
- drain_per_s: our poller (download, store raw, commit, acknowledge) over N messages;
- bare_drain_per_s: a bare mesh-client download-and-acknowledge loop over the same N, same run;
- tx_per_s: transactions decided per second from the first poll to the last outcome, backlogged;
- p95_latency_s: stored-to-outcome time per transaction when not backlogged (a trickle).
"""

import datetime as dt
import random
import statistics
import time

from django.conf import settings
from django.db import connection
from django.db.models import F

from devtools.harness import MeshSandbox, Worker
from pcrm_site.celery import app
from registrations import mesh
from registrations.gplinks import Address, Interchange, Message, Transaction, build_interchange
from registrations.models import GP, HealthAuthority, Link, Practice
from registrations.models import Interchange as InterchangeRow
from registrations.models import Transaction as TxRow

BROKER = "redis://127.0.0.1:6379/14"
QUEUE = "bench-pipeline"
TERMINAL = ("DONE", "MANUAL", "REJECTED", "DEAD", "DUPLICATE", "INVALID", "FORWARDED")


def run(options: dict) -> dict:
    n = options.get("size") or 2000
    creation = connection.creation
    connection.settings_dict["TEST"]["NAME"] = "pcrm_bench_pipeline"
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    sandbox = MeshSandbox()
    settings.MESH_URL = sandbox.url
    app.conf.broker_url = app.conf.result_backend = BROKER
    app.conf.task_default_queue = QUEUE
    workers: list[Worker] = []
    try:
        world = _world()
        bodies = _interchanges(world, n)
        bare = _bare_drain(sandbox, bodies)
        ours = _our_drain(sandbox, bodies)
        InterchangeRow.objects.all().delete()

        app.control.purge()
        # Workers run as in production (DEBUG off: no per-query bookkeeping).
        workers.append(
            Worker(
                database=connection.settings_dict["NAME"],
                broker=BROKER,
                mesh_url=sandbox.url,
                concurrency=2,
                queue=QUEUE,
                extra_env={
                    "DEBUG": "0",
                    "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
                    "CELERY_WORKER_PREFETCH_MULTIPLIER": str(options.get("prefetch") or 1),
                },
            )
        )
        tx_per_s, tx_count = _end_to_end(sandbox, bodies)
        latency = _trickle_latency(sandbox, world, count=100)
        return {
            "interchanges": n,
            "transactions": tx_count,
            "drain_per_s": round(ours, 1),
            "bare_drain_per_s": round(bare, 1),
            "drain_ratio": round(ours / bare, 3),
            "tx_per_s": round(tx_per_s, 1),
            "p95_latency_s": round(latency["p95"], 3),
            "p50_latency_s": round(latency["p50"], 3),
        }
    finally:
        for worker in workers:
            worker.stop()
        app.control.purge()
        sandbox.stop()
        creation.destroy_test_db(old_name, verbosity=0)


def _world() -> dict:
    ha, _ = HealthAuthority.objects.update_or_create(
        cipher="XX1", defaults={"name": "Bench HA", "nation": "England", "link_code": "XX11", "migrated": True}
    )
    practices = []
    for i in range(10):
        practice = Practice.objects.create(
            ods_code=f"B{i:05d}", name=f"Bench {i}", ha=ha, link_code=f"BN{i}5", mesh_mailbox=f"GPMB{i + 1:05d}"
        )
        GP.objects.create(national_code=f"{4900000 + i}", local_code=f"{i + 1}", practice=practice)
        Link.objects.create(practice=practice, ha=ha)
        practices.append(practice)
    return {"practices": practices, "next_patient": 0, "sis": {}}


def _patient(world: dict, rng: random.Random, registered_at: str):
    from core.nhs_number import from_serial
    from pds.models import GPPeriod, Patient, PatientAddress, PatientName

    world["next_patient"] += 1
    patient = Patient.objects.create(
        nhs_number=from_serial(50_000_000 + world["next_patient"] * 7),
        gender="2",
        birth_date=dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(20000)),
    )
    PatientName.objects.create(patient=patient, family="BENCH", given=["ANNA"])
    PatientAddress.objects.create(patient=patient, road="1 BENCH ROAD", post_town="LEEDS", postcode="LS1 1AA")
    GPPeriod.objects.create(patient=patient, practice_ods=registered_at, start=dt.date(2010, 1, 1))
    return patient


def _one(world: dict, rng: random.Random) -> tuple[bytes, int]:
    """A realistic mix: mostly acceptances, then amendments, removals and deduction requests."""
    practice = rng.choice(world["practices"])
    gp = practice.gps.first()
    roll = rng.random()
    # Acceptances come from a new practice; amendments, removals and deduction requests from the
    # practice the patient is registered with, as in real traffic.
    patient = _patient(world, rng, registered_at="Z99999" if roll < 0.7 else practice.ods_code)
    sis = world["sis"][practice.pk] = world["sis"].get(practice.pk, 0) + 1
    common = {"tn": sis, "gp_code": gp.gp_code, "nhs_number": patient.nhs_number}
    if roll < 0.7:
        tx = Transaction(
            type="G1",
            surname="BENCH",
            forenames=["ANNA"],
            sex="2",
            birth_date=patient.birth_date,
            acceptance_code="A",
            acceptance_type="1",
            acceptance_date=dt.date(2026, 11, 2),
            address=Address("", "1 BENCH ROAD", "", "LEEDS", "", "LS1 1AA"),
            **common,
        )
    elif roll < 0.85:
        tx = Transaction(type="G2", address=Address("", "2 NEW ROAD", "", "LEEDS", "", "LS2 2BB"), **common)
    elif roll < 0.95:
        tx = Transaction(type="G3", free_text="MOVED AWAY", **common)
    else:
        tx = Transaction(type="G5", deduction_reason="5", deduction_date=dt.date(2026, 11, 1), **common)
    body = build_interchange(
        Interchange(
            sender=practice.link_code,
            recipient="XX11",
            sis=sis,
            prepared_at=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC),
            messages=[Message(sms=sis, type=tx.type, ha_cipher="XX1", transactions=[tx])],
            warnings=[],
        )
    )
    return body, practice.mesh_mailbox


def _interchanges(world: dict, n: int) -> list[tuple[bytes, str]]:
    rng = random.Random(42)
    return [_one(world, rng) for _ in range(n)]


def _send_all(bodies) -> None:
    clients = {}
    try:
        for body, mailbox in bodies:
            if mailbox not in clients:
                clients[mailbox] = mesh.mesh_client(mailbox).__enter__()
            mesh.send(
                clients[mailbox],
                recipient=settings.MESH_MAILBOX,
                body=body,
                workflow=mesh.WORKFLOW_REG,
                local_id="bench",
            )
    finally:
        for client in clients.values():
            client.close()


def _bare_drain(sandbox: MeshSandbox, bodies) -> float:
    _send_all(bodies)
    start = time.perf_counter()
    with mesh.mesh_client() as client:
        while ids := client.list_messages(max_results=500, workflow_filter=mesh.WORKFLOW_REG):
            for message_id in ids:
                msg = client.retrieve_message(message_id)
                msg.read()
                msg.close()
                client.acknowledge_message(message_id)
    return len(bodies) / (time.perf_counter() - start)


def _our_drain(sandbox: MeshSandbox, bodies) -> float:
    from registrations.services import inbound

    sandbox.reset()
    _send_all(bodies)
    start = time.perf_counter()
    stored = 0
    while result := inbound.poll_inbox():
        stored += len(result.stored)
        if not result.stored:
            break
    elapsed = time.perf_counter() - start
    if stored != len(bodies):
        raise RuntimeError(f"stored {stored} of {len(bodies)}")
    return len(bodies) / elapsed


def _poll_until_done(expected_tx: int, timeout: float) -> None:
    from registrations.tasks import poll_mesh_inbox

    deadline = time.monotonic() + timeout
    last_poll = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() - last_poll > 0.5:
            poll_mesh_inbox.delay()  # what beat does, at a benchmark-friendly interval
            last_poll = time.monotonic()
        if TxRow.objects.filter(status__in=TERMINAL).count() >= expected_tx:
            return
        time.sleep(0.05)
    raise RuntimeError("pipeline did not finish in time")


def _end_to_end(sandbox: MeshSandbox, bodies) -> tuple[float, int]:
    sandbox.reset()
    _send_all(bodies)
    start = time.perf_counter()
    _poll_until_done(len(bodies), timeout=600)
    elapsed = time.perf_counter() - start
    count = TxRow.objects.count()
    return count / elapsed, count


def _trickle_latency(sandbox: MeshSandbox, world: dict, count: int) -> dict:
    rng = random.Random(7)
    before = TxRow.objects.count()
    trickle = [_one(world, rng) for _ in range(count)]
    start_id = TxRow.objects.order_by("-id").values_list("id", flat=True).first() or 0
    from registrations.tasks import poll_mesh_inbox

    last_poll = 0.0
    for body, mailbox in trickle:
        _send_all([(body, mailbox)])
        if time.monotonic() - last_poll > 0.25:
            poll_mesh_inbox.delay()
            last_poll = time.monotonic()
        time.sleep(0.05)  # about 20 interchanges a second: well below capacity, so nothing queues
    _poll_until_done(before + count, timeout=120)
    latencies = [
        (processed - received).total_seconds()
        for processed, received in TxRow.objects.filter(id__gt=start_id)
        .annotate(stored_at=F("message__interchange__received_at"))
        .values_list("processed_at", "stored_at")
    ]
    cuts = statistics.quantiles(latencies, n=20)
    return {"p95": cuts[18], "p50": statistics.median(latencies)}
