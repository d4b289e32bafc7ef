"""Faults met by the real processes: Celery workers in their own processes, Redis, the MESH sandbox and a
remote PDS over HTTP. Nothing runs in-process with .apply().

The tests watch behaviour only: what reaches the MESH mailboxes and what the database says. Where beat
would act, they send beat's own schedule entries (conftest.beat), so they do not depend on how work is
dispatched behind those entries.
"""

import time

import pytest
from factories import ApiTokenFactory, PatientFactory
from faults_support import sent_to_practice
from support import beat, drain, g1_batch, g1_interchange, role_user, wait_for

from core import roles
from core.nhs_number import from_serial
from exceptions.models import ExceptionCase
from pds.models import GPPeriod
from registrations.models import Direction, InterchangeStatus, OutboxItem, OutboxStatus, Registration, TxStatus
from registrations.models import Interchange as InterchangeRow
from registrations.models import Transaction as TxRow

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

JANE = "9434765919"


def _send(open_mailbox, *bodies: bytes) -> None:
    with open_mailbox("GPMB00301") as gp:
        for body in bodies:
            gp.send_message("PCRMHUB01", body, workflow_id="NHAIS_REG")


def _all_sent() -> bool:
    """Every reply is in an interchange and every outbound interchange is sent."""
    outbound = InterchangeRow.objects.filter(direction=Direction.OUTBOUND)
    queued = OutboxItem.objects.filter(status=OutboxStatus.QUEUED)
    return outbound.exists() and not queued.exists() and not outbound.exclude(status=InterchangeStatus.SENT).exists()


def _as_beat_until(done, entries=("mesh-poll", "outbox-relay"), *, broker=None, seconds=120, each=None) -> None:
    """Send beat's entries every two seconds (beat's own period is shorter) until `done()` holds; `each`
    runs on every round (a supervisor's check, say)."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        if each is not None:
            each()
        for entry in entries:
            beat(entry, broker=broker)
        time.sleep(2)


def test_a_pds_failing_for_a_while_is_retried_by_the_worker_until_it_succeeds(
    mesh, mesh_as, link, flaky_pds, celery_worker_process
):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="Z99999")
    token = ApiTokenFactory(user=role_user(roles.ADMINISTRATOR, username="pcrm-processing"))
    pds = flaky_pds(failures=3)
    celery_worker_process(
        env={
            "PDS_BACKEND": "remote",
            "PDS_FHIR_URL": pds.url,
            "PDS_API_TOKEN": token.raw,
            "PDS_MAX_ATTEMPTS": "1",  # each task attempt meets one 503, so the retries are the worker's
            "PDS_BACKOFF_SECONDS": "0.01",
        }
    )
    _send(mesh_as, g1_interchange())
    beat("mesh-poll")

    tx = wait_for(lambda: TxRow.objects.filter(status=TxStatus.DONE).first(), timeout=120, message="decided")
    assert pds.failed == 3 and pds.passed >= 2, (pds.failed, pds.passed)
    assert tx.attempts >= 2 and tx.last_error == "", "a failed attempt recorded, then one that succeeded"
    assert not ExceptionCase.objects.exists()
    assert GPPeriod.objects.get(patient__nhs_number=JANE, end__isnull=True).practice_ods == "A10001"
    _as_beat_until(_all_sent)
    approvals, receipts = sent_to_practice(mesh_as)
    assert approvals == {JANE: 1} and receipts == {1: 1}


def test_mesh_down_while_the_relay_sends_then_each_interchange_goes_exactly_once(link, own_mesh):
    numbers = [from_serial(71_000_000 + i * 11) for i in range(3)]
    for n in numbers:
        PatientFactory(nhs_number=n, name="STEVENS JANE", registered_at="Z99999")
    _send(own_mesh.open, *(g1_batch(k + 1, [n], first_tn=10 + k) for k, n in enumerate(numbers)))
    drain()  # decided here: what is under test is the relay, in the worker, while MESH is down
    own_mesh.stop()
    worker = own_mesh.worker()
    for _ in range(3):
        beat("outbox-relay")
    wait_for(lambda: "ConnectionError" in worker.log_path.read_text(errors="replace"), timeout=60, message="a refusal")
    outbound = InterchangeRow.objects.filter(direction=Direction.OUTBOUND)
    assert not outbound.filter(status=InterchangeStatus.SENT).exists()

    own_mesh.restart()
    _as_beat_until(_all_sent, ["outbox-relay"])
    assert _all_sent()
    approvals, receipts = sent_to_practice(own_mesh.open)
    assert approvals == dict.fromkeys(numbers, 1)
    assert receipts == {1: 1, 2: 1, 3: 1}
    assert outbound.filter(workflow="NHAIS_RECEP").count() == 3, "one RECEP per interchange, never built twice"


def test_a_sequence_gap_is_confirmed_by_the_delayed_check_in_the_worker(mesh, mesh_as, link, celery_worker_process):
    for n in (JANE, "9434765870"):
        PatientFactory(nhs_number=n, name="STEVENS JANE", registered_at="Z99999")
    celery_worker_process(env={"SEQUENCE_GAP_GRACE_SECONDS": "6"})
    _send(mesh_as, g1_batch(1, [JANE], first_tn=1), g1_batch(3, ["9434765870"], first_tn=3))
    beat("mesh-poll")
    wait_for(lambda: TxRow.objects.filter(status=TxStatus.DONE).count() == 2, timeout=90, message="both decided")
    assert not ExceptionCase.objects.filter(kind="SEQUENCE_GAP").exists(), "SIS 2 may still be on its way"

    case = wait_for(lambda: ExceptionCase.objects.filter(kind="SEQUENCE_GAP").first(), timeout=60, message="gap")
    assert case.evidence["missing_sis"] == [2] and case.practice_ods == "A10001"
    assert "numbered SIS 2" in case.summary
    assert ExceptionCase.objects.count() == 1


def _backlog(mesh_as, count: int = 60, per: int = 10, base: int = 72_000_000) -> list[str]:
    numbers = [from_serial(base + i * 11) for i in range(count)]
    for n in numbers:
        PatientFactory(nhs_number=n, name="STEVENS JANE", registered_at="Z99999")
    _send(mesh_as, *(g1_batch(k + 1, numbers[k * per : (k + 1) * per], 100 + k * per) for k in range(count // per)))
    return numbers


def _assert_each_applied_and_sent_once(mesh_as, numbers: list[str], interchanges: int, note: str) -> None:
    assert TxRow.objects.filter(status=TxStatus.DONE).count() == len(numbers), note
    assert TxRow.objects.count() == len(numbers), note
    assert Registration.objects.count() == len(numbers), note
    assert OutboxItem.objects.filter(tx_type="F4").count() == len(numbers), note
    assert OutboxItem.objects.filter(kind="RECEP").count() == interchanges, note
    open_periods = GPPeriod.objects.filter(patient__nhs_number__in=numbers, end__isnull=True)
    assert sorted(open_periods.values_list("patient__nhs_number", flat=True)) == sorted(numbers), note
    approvals, receipts = sent_to_practice(mesh_as)
    doubles = {n: c for n, c in approvals.items() if c != 1}
    assert not doubles, f"approvals sent more than once: {doubles} ({note})"
    assert sorted(approvals) == sorted(numbers), f"approvals never sent: {set(numbers) - set(approvals)} ({note})"
    assert receipts == dict.fromkeys(range(1, interchanges + 1), 1), f"RECEPs: {receipts} ({note})"


def _recover(numbers: list[str], broker: str | None = None, each=None) -> None:
    """Act as beat does (the sweeper, the poll, the relay) until everything is decided and sent."""

    def finished() -> bool:
        return TxRow.objects.filter(status=TxStatus.DONE).count() == len(numbers) and _all_sent()

    entries = ("requeue-stalled", "mesh-poll", "outbox-relay")
    _as_beat_until(finished, entries, broker=broker, seconds=180, each=each)
    outbound = InterchangeRow.objects.filter(direction=Direction.OUTBOUND)
    assert finished(), (
        f"after recovery: {TxRow.objects.filter(status=TxStatus.DONE).count()} of {len(numbers)} decided, "
        f"{OutboxItem.objects.filter(status=OutboxStatus.QUEUED).count()} replies queued, "
        f"{outbound.exclude(status=InterchangeStatus.SENT).count()} of {outbound.count()} interchanges unsent"
    )


def test_kill_9_of_a_worker_mid_backlog_applies_and_sends_each_transaction_once(
    mesh, mesh_as, link, celery_worker_process
):
    numbers = _backlog(mesh_as)
    stalled_now = {"STALLED_AFTER_SECONDS": "0"}  # what the sweeper re-queues: anything not finished
    worker = celery_worker_process(concurrency=2, env=stalled_now)
    beat("mesh-poll")
    wait_for(lambda: TxRow.objects.filter(status=TxStatus.DONE).count() >= 5, timeout=180, message="some done")
    worker.kill_hard()
    # What was in flight: ingested but not decided when the worker died (its open database transactions
    # are rolled back with it, so none of these can be half done).
    in_flight = sorted(TxRow.objects.exclude(status=TxStatus.DONE).values_list("pk", "status"))
    done_at_kill = TxRow.objects.filter(status=TxStatus.DONE).count()
    assert done_at_kill < len(numbers), "the kill must land mid-flight for this test to mean anything"

    celery_worker_process(concurrency=2, env=stalled_now)
    _recover(numbers)
    note = f"{done_at_kill} done at the kill; in flight (id, status): {in_flight}"
    for pk, _status in in_flight:
        tx = TxRow.objects.get(pk=pk)
        if tx.nhs_number:
            assert Registration.objects.filter(nhs_number=tx.nhs_number).count() == 1, f"tx {pk}: {note}"
    _assert_each_applied_and_sent_once(mesh_as, numbers, interchanges=6, note=note)


def test_redis_restarted_mid_backlog_loses_nothing_and_applies_nothing_twice(
    mesh, mesh_as, link, private_redis, celery_worker_process
):
    numbers = _backlog(mesh_as, base=73_000_000)
    env = {"STALLED_AFTER_SECONDS": "0"}
    worker = celery_worker_process(concurrency=2, broker=private_redis.url, env=env)
    beat("mesh-poll", broker=private_redis.url)
    wait_for(lambda: TxRow.objects.filter(status=TxStatus.DONE).count() >= 5, timeout=180, message="some done")
    private_redis.stop()
    done_at_restart = TxRow.objects.filter(status=TxStatus.DONE).count()
    assert done_at_restart < len(numbers), "the restart must land mid-backlog for this test to mean anything"
    time.sleep(2)  # the worker meets the lost connection
    private_redis.start()
    # With kombu 5.7's Redis transport the worker may exit on the lost connection ("Unrecoverable error:
    # AttributeError ... 'hostname'"); deployment runs it under a supervisor that starts it again
    # (docs/deployment.md), which is what `supervise` does.
    workers = [worker]

    def supervise() -> None:
        if workers[-1].proc.poll() is not None:
            workers.append(celery_worker_process(concurrency=2, broker=private_redis.url, env=env))

    _recover(numbers, broker=private_redis.url, each=supervise)
    note = f"{done_at_restart} done at the restart; workers started: {len(workers)}"
    _assert_each_applied_and_sent_once(mesh_as, numbers, interchanges=6, note=note)
