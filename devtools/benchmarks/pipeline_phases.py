"""`bench pipeline-phases`: where a transaction's CPU goes, phase by phase, in one process.

The same traffic as `bench pipeline` (its World: ten practices, G1/G2/G3/G5 with ordering traps),
sent to a private MESH sandbox, then carried through the pipeline's own services in this process,
one phase at a time: poll (download, store, acknowledge), read (interchanges into transactions),
process (partner runs: decide and apply), relay (build and send RECEPs and replies). For each phase:
this process's CPU time and the SQL statements it ran, per transaction. No Celery and no other
process, so the figures do not move with the machine's load as much as wall-clock ones do; what
Celery adds per task is in `bench pipeline`'s cpu_ms_per_tx, not here.
"""

import time
from collections import Counter

from django.conf import settings
from django.db import connection

from . import pipeline


def run(options: dict) -> dict:
    with pipeline.scratch("bench_phases"):
        debug, settings.DEBUG = settings.DEBUG, False  # as production runs: no per-query bookkeeping
        try:
            return _phases(options.get("size") or 200)
        finally:
            settings.DEBUG = debug


def _phases(n: int) -> dict:
    from registrations.models import Direction, Interchange, Transaction
    from registrations.services import inbound, outbox, partner_run

    world = pipeline.World()
    items = world.plan(n)
    count = sum(i.transactions for i in items)
    pipeline._send_all(items)
    stored: list = []
    mailboxes: list[str] = []

    def read():
        for rows in stored:
            partner_run.read_stored(rows)
        mailboxes.extend(
            sorted(set(Interchange.objects.filter(direction=Direction.INBOUND).values_list("mesh_sender", flat=True)))
        )

    def process():
        for _ in range(5):  # a transaction waiting for another partner's earlier one goes on in a later pass
            for mailbox in mailboxes:
                partner_run.run(mailbox, budget_seconds=600)

    phases = {
        "poll": lambda: inbound.poll_inbox(on_batch=stored.append),
        "read": read,
        "process": process,
        "relay": outbox.relay,
    }
    figures: dict = {"interchanges": len(items), "transactions": count}
    total_cpu = total_queries = 0.0
    for name, phase in phases.items():
        statements = Counter()

        def counted(execute, sql, params, many, context, statements=statements):
            statements["n"] += 1
            return execute(sql, params, many, context)

        cpu = time.process_time()
        with connection.execute_wrapper(counted):
            phase()
        cpu = time.process_time() - cpu
        figures[f"{name}_cpu_ms_per_tx"] = round(1000 * cpu / count, 2)
        figures[f"{name}_queries_per_tx"] = round(statements["n"] / count, 2)
        total_cpu += cpu
        total_queries += statements["n"]
    figures["cpu_ms_per_tx"] = round(1000 * total_cpu / count, 2)
    figures["queries_per_tx"] = round(total_queries / count, 2)
    figures["outcomes"] = dict(Counter(Transaction.objects.values_list("status", flat=True)))
    return figures
