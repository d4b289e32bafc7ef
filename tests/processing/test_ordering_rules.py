"""What waits for what in a partner run (#15, ADR 0015), in-process: behind a transient failure the
patient's later transactions wait, then are held with a case saying what they wait for; behind a case
they wait only where they depend on it; other patients' transactions go on."""

import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from factories import PatientFactory
from processing_support import address, g1, g2, g5

from exceptions.models import ExceptionCase
from pds.models import PatientAddress
from registrations.models import Interchange as InterchangeRow
from registrations.models import Transaction as TxRow
from registrations.models import TxStatus
from registrations.services import inbound, partner_run, processing

pytestmark = pytest.mark.django_db(transaction=True)

GP = "4826940,281"
BOB = "9434765870"
MAILBOX = "GPMB00301"


def run() -> partner_run.RunResult:
    inbound.poll_inbox()
    return partner_run.run(MAILBOX)


def by_tn() -> dict[int, TxRow]:
    return {tx.tn: tx for tx in TxRow.objects.filter(sender="TES5")}


def retry_due_now(tx_id: int) -> None:
    # Not a status change: moves the clock of its backoff, as time passing would.
    TxRow.objects.filter(pk=tx_id).update(updated_at=timezone.now() - dt.timedelta(hours=1))


def test_behind_a_transient_failure_the_patient_waits_then_is_held_with_a_case(world, patient, settings):
    settings.PROCESSING_MAX_ATTEMPTS = 2
    settings.PROCESSING_LOCK_TIMEOUT_MS = 200
    PatientFactory(nhs_number=BOB, name="BROWN BOB", registered_at="A10001")
    world.gp_new.send(
        g1(1, GP),
        g2(2, GP, "9434765919", address=address("2 NEW ROAD", postcode="LS2 2BB")),
        g2(3, GP, BOB, address=address("9 BOB ROAD", postcode="LS9 9BB")),
    )
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute("BEGIN")
        other.execute("SELECT 1 FROM pds_patient WHERE id = %s FOR UPDATE", [patient.pk])

        first = run()
        tx = by_tn()
        assert tx[1].status == TxStatus.RETRY_WAIT, "Jane's record is locked: a passing failure"
        assert tx[2].status == TxStatus.PARSED, "her amendment waits for her registration"
        assert f"Waiting for transaction {tx[1].pk}" in tx[2].last_error
        assert tx[3].status == TxStatus.DONE, "another patient's amendment goes on"
        assert first.again_in is not None and first.again_in <= partner_run.BACKOFF_CAP_SECONDS

        retry_due_now(tx[1].pk)
        partner_run.run(MAILBOX)
        other.execute("ROLLBACK")

    tx = by_tn()
    assert tx[1].status == TxStatus.DEAD
    assert tx[2].status == TxStatus.MANUAL, "held: no longer waiting silently"
    held = ExceptionCase.objects.get(kind="WAITING_BEHIND")
    assert held.transaction_id == tx[2].pk
    assert held.evidence["waits_for_transaction"] == tx[1].pk
    assert f"waits for transaction {tx[1].pk}" in held.summary
    assert PatientAddress.objects.get(patient=patient, end__isnull=True).postcode == "LS1 4AP", "nothing applied"

    # A person reprocesses the registration, then the amendment: both land, in order.
    processing.reprocess(tx[1].pk)
    partner_run.run(MAILBOX)
    processing.reprocess(tx[2].pk)
    partner_run.run(MAILBOX)
    tx = by_tn()
    assert [tx[1].status, tx[2].status] == [TxStatus.DONE, TxStatus.DONE]
    assert tx[1].processed_at < tx[2].processed_at
    assert PatientAddress.objects.get(patient=patient, end__isnull=True).postcode == "LS2 2BB"


def test_behind_a_case_only_what_depends_on_it_waits(world, settings):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="A10001")
    world.gp_new.send(g2(1, GP, "9434765919", surname="JONES"))  # a name change: a person decides
    world.gp_new.send(g5(2, GP, "9434765919", reason="5"))  # emigrated: does not depend on her name
    world.gp_new.send(g2(3, GP, "9434765919", address=address("2 NEW ROAD", postcode="LS2 2BB")))
    result = run()
    tx = by_tn()
    assert tx[1].status == TxStatus.MANUAL
    assert tx[2].status == TxStatus.DONE, "independent of the amendment a person is deciding"
    assert tx[3].status == TxStatus.PARSED, "a later amendment waits for the earlier one"
    assert "waits for a person" in tx[3].last_error
    # Two decided, the third neither decided nor held, and no wake-up set: no busy wait, the sweeper looks
    # again later. (result.waiting counts looks, not transactions: a pass that made progress looks again.)
    assert (result.decided, result.held, result.again_in) == (2, 0, None), result
    assert not ExceptionCase.objects.filter(kind="WAITING_BEHIND").exists()


def test_behind_a_registration_a_person_is_deciding_everything_about_the_patient_waits(world):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="B20002", deceased=True)
    world.gp_new.send(g1(1, GP), g5(2, GP, "9434765919", reason="5"))
    run()
    tx = by_tn()
    assert tx[1].status == TxStatus.MANUAL
    assert tx[2].status == TxStatus.PARSED


def test_a_partner_run_stops_at_a_transaction_waiting_for_an_unread_interchange(world, monkeypatch):
    """Found by the soak: the first of a partner's transactions waited for another partner's interchange
    stored before it and still being read; that interchange was read in the moment before the next
    transaction was looked at, so the next one went on and overtook the first. Everything after a
    transaction that waits for an unread interchange waits for it too: the run stops there."""
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="A10001")
    PatientFactory(nhs_number=BOB, name="BROWN BOB", registered_at="A10001")
    # Stored first, read last; about someone else, so that once it is read nothing waits for it.
    world.gp_old.send(g5(1, "4826941,282", "9123456787", reason="5"))
    world.gp_new.send(
        g2(1, GP, "9434765919", address=address("2 NEW ROAD", postcode="LS2 2BB")),
        g2(2, GP, BOB, address=address("9 BOB ROAD", postcode="LS9 9BB")),
    )
    inbound.poll_inbox()
    unread, ours = InterchangeRow.objects.order_by("pk")
    inbound.ingest_interchange(ours.pk)

    real = processing.process_transaction
    looked_at = []

    def read_meanwhile(pk, **kwargs):
        done = real(pk, **kwargs)
        looked_at.append(pk)
        if len(looked_at) == 1:
            inbound.ingest_interchange(unread.pk)  # the poller finishes reading it, just then
        return done

    monkeypatch.setattr(processing, "process_transaction", read_meanwhile)
    first = partner_run.run(MAILBOX)
    tx = by_tn()
    assert tx[1].status == TxStatus.PARSED, "waits for the other partner's interchange to be read"
    assert tx[2].status == TxStatus.PARSED, "and so does everything after it: not overtaking"
    assert looked_at == [tx[1].pk]
    assert first.decided == 0 and first.again_in is not None

    monkeypatch.setattr(processing, "process_transaction", real)
    partner_run.run(MAILBOX)
    tx = by_tn()
    assert [tx[1].status, tx[2].status] == [TxStatus.DONE, TxStatus.DONE]
    assert tx[1].processed_at <= tx[2].processed_at


def test_one_partners_run_failing_does_not_hold_up_the_others_in_its_task(world, monkeypatch):
    """Partners share a run task (a poll's many partners cost a few tasks): a run that fails unexpectedly
    is logged and left to the sweeper, and the task goes on to the next partner's run."""
    from registrations import tasks

    PatientFactory(nhs_number=BOB, name="BROWN BOB", registered_at="B20002")
    # The old practice's first: a transaction waits for any interchange stored before its own to be read.
    world.gp_old.send(g2(1, "4826941,282", BOB, address=address("9 BOB ROAD", postcode="LS9 9BB")))
    world.gp_new.send(g2(1, GP, "9123456787", address=address("2 NEW ROAD", postcode="LS2 2BB")))
    inbound.poll_inbox()
    real = partner_run.run

    def new_practice_run_fails(mailbox, **kwargs):
        if mailbox == MAILBOX:
            raise RuntimeError("an unexpected fault in this partner's run")
        return real(mailbox, **kwargs)

    monkeypatch.setattr(partner_run, "run", new_practice_run_fails)
    decided = tasks.run_partners([MAILBOX, "GPMB00302"])

    assert decided == 1
    assert TxRow.objects.get(sender="OLD5").status == TxStatus.DONE, "the next partner's run went on"
    assert InterchangeRow.objects.get(mesh_sender=MAILBOX).status == "RECEIVED", "left unread for the sweeper"


def test_a_shared_run_task_out_of_time_queues_every_partner_it_did_not_finish(monkeypatch):
    """The soft time limit ends a shared run task in its first partner's run: that partner and the ones
    not started yet are queued again at once, in a new task on the real broker, rather than waiting for
    their old "queued" marks to expire or for the sweeper."""
    import json

    import redis
    from celery.exceptions import SoftTimeLimitExceeded
    from django.core.cache import cache

    from pcrm_site.celery import app
    from registrations import tasks

    partners = ["GPMB00301", "GPMB00302", "GPMB00303"]
    client = redis.Redis.from_url(app.conf.broker_url)  # the test Redis (tests/conftest.py)
    app.control.purge()
    cache.delete_many([f"partner-run-queued:{m}" for m in partners])
    try:
        tasks.queue_partner_runs(partners)  # marks all three queued, as a poll would
        app.control.purge()  # this test runs the task itself, below

        def out_of_time(mailbox, **kwargs):
            raise SoftTimeLimitExceeded()

        monkeypatch.setattr(partner_run, "run", out_of_time)
        with pytest.raises(SoftTimeLimitExceeded):
            tasks.run_partners(partners)

        queued = [json.loads(raw)["headers"] for raw in client.lrange(app.conf.task_default_queue, 0, -1)]
        requeued = sorted(
            m for h in queued if h["task"].endswith("run_partners") for m in partners if m in h["argsrepr"]
        )
        assert requeued == partners, "every partner the task did not finish has a run queued again"
    finally:
        app.control.purge()
        cache.delete_many([f"partner-run-queued:{m}" for m in partners])
        client.close()
