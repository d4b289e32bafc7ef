"""Close of quarter end to end with a real Celery worker, the MESH sandbox, PostgreSQL and Redis."""

import pytest
from capitation_population import Q, build_world
from celery.result import AsyncResult
from django.conf import settings
from django.db import connection, transaction
from factories import UserFactory
from harness import Worker, free_port
from support import wait_for

from exceptions.models import ExceptionCase
from pcrm_site.celery import app
from registrations.capitation import tasks
from registrations.models import QuarterClose, QuarterStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    return build_world()


def status_of(quarter_id: int) -> str:
    return QuarterClose.objects.get(pk=quarter_id).status


def test_a_closed_quarter_is_generated_and_sent_to_pcse_and_the_f8s_reach_the_practices(
    world, celery_worker_process, mesh_as
):
    celery_worker_process()
    with transaction.atomic():
        result = tasks.close_quarter(quarter_end=Q, by="admin")
    quarter = result.quarter
    assert result.created and quarter.task_id

    wait_for(lambda: status_of(quarter.pk) == QuarterStatus.SENT, timeout=60, message="capitation sent")
    quarter.refresh_from_db()
    task = AsyncResult(quarter.task_id, app=app)
    assert task.state == "SUCCESS"
    assert task.result == {"step": 4, "steps": 4, "text": "Stored", "patients": 11}  # English practices

    with mesh_as(settings.MESH_PCSE_MAILBOX) as pcse:
        received = {pcse.retrieve_message(m).filename: pcse.retrieve_message(m).read() for m in pcse.list_messages()}
    assert received == {
        "pcrm-capitation-2026-03-31.csv": bytes(quarter.csv),
        "pcrm-capitation-2026-03-31.json": bytes(quarter.summary),
    }
    # Every linked practice gets its F8 close-quarter notification over GP Links.
    for practice in world.practices.values():

        def f8_arrived(box=practice.mesh_mailbox):
            with mesh_as(box) as client:
                return [client.retrieve_message(m).read() for m in client.list_messages()]

        [body] = wait_for(f8_arrived, timeout=30, message=f"F8 for {practice.ods_code}")
        assert b"RFF+950:F8'" in body and b"DTM+206:20260331:102'" in body

    # Closing again (the scheduler, an hour later) does nothing new.
    with transaction.atomic():
        assert tasks.close_quarter(quarter_end=Q, by="scheduler").created is False
    assert QuarterClose.objects.count() == 1


def test_when_mesh_is_unreachable_the_worker_retries_then_opens_a_case(world, mesh, settings):
    app.control.purge()
    dead_mesh = f"http://127.0.0.1:{free_port()}"
    worker = Worker(
        database=connection.settings_dict["NAME"],
        # The test Redis database and this run's own queue (tests/conftest.py points Celery at both).
        broker=app.conf.broker_url,
        queue=app.conf.task_default_queue,
        mesh_url=dead_mesh,
        extra_env={"CAPITATION_SEND_MAX_ATTEMPTS": "2", "MESH_TIMEOUT_SECONDS": "2"},
    )
    try:
        with transaction.atomic():
            quarter = tasks.close_quarter(quarter_end=Q, by=UserFactory().username).quarter
        wait_for(lambda: status_of(quarter.pk) == QuarterStatus.FAILED, timeout=90, message="delivery failed")
    finally:
        worker.stop()
        app.control.purge()
    quarter.refresh_from_db()
    assert quarter.send_attempts == 2
    assert quarter.last_error
    case = ExceptionCase.objects.get(kind="MESH_REPORT")
    assert "could not be sent to PCSE" in case.summary
