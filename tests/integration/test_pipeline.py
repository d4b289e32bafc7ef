"""Reliability of the pipeline against the real MESH sandbox, PostgreSQL, Redis and Celery workers."""

import datetime as dt
import time

import psycopg
import pytest
import requests
from django.db import OperationalError, connection
from django.utils import timezone
from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory
from support import drain, g1_batch, g1_interchange, wait_for

from core.nhs_number import from_serial
from exceptions.models import ExceptionCase
from pds.models import GPPeriod
from registrations.gplinks import (
    build_recep,
    parse_interchange,
)
from registrations.models import Interchange as InterchangeRow
from registrations.models import InterchangeStatus, OutboxItem, Registration, TxStatus
from registrations.models import Transaction as TxRow
from registrations.services import inbound, outbox, processing, recep
from registrations.tasks import poll_mesh_inbox, requeue_stalled

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def link():
    ha = HealthAuthorityFactory(cipher="XX1", link_code="XX11", migrated=True)
    practice = PracticeFactory(ods_code="A10001", link_code="TES5", ha=ha, mesh_mailbox="GPMB00301")
    GPFactory(practice=practice, national_code="4826940", local_code="281")
    return LinkFactory(practice=practice, ha=ha)


def test_same_mesh_message_stored_twice_is_one_row(link):
    first, created = inbound.store_inbound(
        mesh_message_id="ABC",
        body=b"x",
        workflow="NHAIS_REG",
        message_type="DATA",
        sender="GPMB00301",
        recipient="PCRMHUB01",
    )
    again, created_again = inbound.store_inbound(
        mesh_message_id="ABC",
        body=b"x",
        workflow="NHAIS_REG",
        message_type="DATA",
        sender="GPMB00301",
        recipient="PCRMHUB01",
    )
    assert created and not created_again and first.pk == again.pk
    assert InterchangeRow.objects.count() == 1


def test_recep_from_the_practice_marks_what_we_sent_acknowledged(mesh, mesh_as, link):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="Z99999")
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", g1_interchange(), workflow_id="NHAIS_REG")
    drain()
    outbox.relay()
    approval_row = InterchangeRow.objects.get(direction="out", workflow="NHAIS_REG")

    # The GP system receipts our approval interchange, as GP Links requires.
    with mesh_as("GPMB00301") as gp:
        ids = gp.list_messages(workflow_filter="NHAIS_REG")
        received = parse_interchange(gp.retrieve_message(ids[0]).read())
        receipt = build_recep(received, sis=2, sms=2, now=timezone.localtime())
        gp.send_message("PCRMHUB01", receipt, workflow_id="NHAIS_RECEP")
    drain()

    approval_row.refresh_from_db()
    assert approval_row.status == InterchangeStatus.ACKNOWLEDGED
    assert approval_row.recep_code == "OK" and approval_row.recep_at is not None
    assert list(approval_row.messages.values_list("recep_code", flat=True)) == ["CP"]
    assert InterchangeRow.objects.get(direction="in", workflow="NHAIS_RECEP").status == InterchangeStatus.RECEP


def test_missing_recep_raises_one_case_and_never_retransmits(mesh, mesh_as, link):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="Z99999")
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", g1_interchange(), workflow_id="NHAIS_REG")
    drain()
    outbox.relay()
    sent = InterchangeRow.objects.get(direction="out", workflow="NHAIS_REG")

    later = timezone.now() + dt.timedelta(hours=49)
    assert recep.report_missing_receps(now=later, after=dt.timedelta(hours=48)) == [sent.pk]
    assert recep.report_missing_receps(now=later, after=dt.timedelta(hours=48)) == []
    case = ExceptionCase.objects.get(kind="MISSING_RECEP")
    assert case.interchange_id == sent.pk and case.practice_ods == "A10001"
    outbox.relay()
    with mesh_as("GPMB00301") as gp:
        assert len(gp.list_messages(workflow_filter="NHAIS_REG")) == 1, "nothing was sent again"


def test_mesh_non_delivery_report_becomes_a_case_about_what_it_reports(mesh, mesh_as, link):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="Z99999")
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", g1_interchange(), workflow_id="NHAIS_REG")
    drain()
    outbox.relay()
    sent = InterchangeRow.objects.get(direction="out", workflow="NHAIS_REG")

    requests.post(
        f"{mesh}/messageexchange/admin/report",
        timeout=10,
        json={
            "mailbox_id": "PCRMHUB01",
            "code": "14",
            "description": "Message not collected by recipient",
            "workflow_id": "NHAIS_REG",
            "linked_message_id": sent.mesh_message_id,
            "status": "undeliverable",
        },
    ).raise_for_status()
    drain()

    case = ExceptionCase.objects.get(kind="MESH_REPORT")
    assert case.interchange_id == sent.pk
    report = InterchangeRow.objects.get(status=InterchangeStatus.REPORT)
    assert report.direction == "in" and case.evidence["report_interchange"] == report.pk


def test_crash_between_commit_and_send_resends_once(mesh, mesh_as, link):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="Z99999")
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", g1_interchange(), workflow_id="NHAIS_REG")
    drain()

    built = outbox.build_pending(now=timezone.now())  # committed, then the process "dies" before sending
    assert InterchangeRow.objects.filter(pk__in=built, status=InterchangeStatus.BUILT).count() == 2

    result = outbox.relay()  # the next run
    assert sorted(result.sent) == sorted(built) and result.built == []
    assert outbox.relay().sent == []
    with mesh_as("GPMB00301") as gp:
        by_workflow = sorted(gp.retrieve_message(m).workflow_id for m in gp.list_messages())
    assert by_workflow == ["NHAIS_RECEP", "NHAIS_REG"]


def test_locked_record_is_retried_then_dead_lettered_then_reprocessed(link, settings):
    settings.PROCESSING_MAX_ATTEMPTS = 2
    settings.PROCESSING_LOCK_TIMEOUT_MS = 200
    patient = PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="Z99999")
    row, _ = inbound.store_inbound(
        mesh_message_id="m1",
        body=g1_interchange(),
        workflow="NHAIS_REG",
        message_type="DATA",
        sender="GPMB00301",
        recipient="PCRMHUB01",
    )
    (tx_id,) = inbound.ingest_interchange(row.pk).new_transaction_ids

    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute("BEGIN")
        other.execute("SELECT 1 FROM pds_patient WHERE id = %s FOR UPDATE", [patient.pk])
        for expected in (TxStatus.RETRY_WAIT, TxStatus.DEAD):
            with pytest.raises(OperationalError, match="lock timeout"):
                processing.process_transaction(tx_id)
            assert processing.record_retry(tx_id, "lock timeout") == expected
        other.execute("ROLLBACK")

    dead = ExceptionCase.objects.get(kind="DEAD_LETTER")
    assert dead.transaction_id == tx_id
    assert not GPPeriod.objects.filter(practice_ods="A10001").exists(), "nothing half-applied"

    processing.reprocess(tx_id)
    assert processing.process_transaction(tx_id).status == TxStatus.DONE
    assert processing.process_transaction(tx_id).ran is False, "a finished transaction is a no-op"
    assert GPPeriod.objects.filter(patient=patient, practice_ods="A10001", end__isnull=True).count() == 1


def test_kill_9_of_the_worker_loses_nothing_and_applies_nothing_twice(
    mesh, mesh_as, link, celery_worker_process, settings
):
    """A bounded loop: kill the worker mid-flight, start another, and every transaction lands once."""
    numbers = [from_serial(70_000_000 + i * 11) for i in range(60)]
    for n in numbers:
        PatientFactory(nhs_number=n, name="STEVENS JANE", registered_at="Z99999")
    with mesh_as("GPMB00301") as gp:
        for k in range(6):
            gp.send_message(
                "PCRMHUB01", g1_batch(k + 1, numbers[k * 10 : (k + 1) * 10], 100 + k * 10), workflow_id="NHAIS_REG"
            )

    worker = celery_worker_process(concurrency=2)
    poll_mesh_inbox.delay()
    wait_for(lambda: TxRow.objects.filter(status=TxStatus.DONE).count() >= 5, timeout=180, message="some done")
    worker.kill_hard()
    done_at_kill = TxRow.objects.filter(status=TxStatus.DONE).count()
    assert done_at_kill < 60, "the kill must land mid-flight for this test to mean anything"

    celery_worker_process(concurrency=2)
    deadline = time.monotonic() + 90
    while TxRow.objects.filter(status=TxStatus.DONE).count() < 60 and time.monotonic() < deadline:
        # The sweeper re-queues what the dead worker held; idempotency makes any double delivery harmless.
        settings.STALLED_AFTER_SECONDS = 0
        requeue_stalled.apply()
        poll_mesh_inbox.delay()
        time.sleep(1)

    assert InterchangeRow.objects.filter(direction="in").count() == 6
    assert TxRow.objects.filter(status=TxStatus.DONE).count() == 60, f"{done_at_kill} were done at the kill"
    assert TxRow.objects.count() == 60
    assert Registration.objects.count() == 60
    assert OutboxItem.objects.filter(tx_type="F4").count() == 60
    assert OutboxItem.objects.filter(kind="RECEP").count() == 6
    for n in numbers:
        assert GPPeriod.objects.filter(patient__nhs_number=n, end__isnull=True).get().practice_ods == "A10001"
