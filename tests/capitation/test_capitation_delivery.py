"""Delivery to PCSE through the real MESH sandbox: the files arrive, acknowledgement is noticed, and a
send that keeps failing becomes an exception case."""

import pytest
from capitation_population import CLOSING_DAY, Q
from django.conf import settings
from harness import free_port

from exceptions.models import ExceptionCase
from registrations.capitation import close, delivery, snapshot
from registrations.models import QuarterStatus

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def generated(world):
    result = close.close_quarter(quarter_end=Q, by="tester", today=CLOSING_DAY)
    return snapshot.take_snapshot(result.quarter.pk, today=CLOSING_DAY)


def pcse_inbox(mesh_as) -> dict:
    """What PCSE's mailbox holds: {filename: (message id, workflow, body)}."""
    with mesh_as(settings.MESH_PCSE_MAILBOX) as client:
        out = {}
        for message_id in client.list_messages():
            message = client.retrieve_message(message_id)
            out[message.filename] = (message_id, message.workflow_id, message.read())
        return out


def test_the_csv_and_summary_reach_pcse_and_acknowledgement_is_recorded(generated, mesh, mesh_as):
    quarter = delivery.send_to_pcse(generated.pk)

    assert quarter.status == QuarterStatus.SENT and quarter.sent_at is not None
    inbox = pcse_inbox(mesh_as)
    csv_id, workflow, body = inbox["pcrm-capitation-2026-03-31.csv"]
    assert (csv_id, workflow, body) == (quarter.csv_message_id, "PCRM_CAPITATION", bytes(generated.csv))
    summary_id, _, summary = inbox["pcrm-capitation-2026-03-31.json"]
    assert (summary_id, summary) == (quarter.summary_message_id, bytes(generated.summary))

    # Not acknowledged yet: nothing changes.
    assert delivery.check_acknowledgements() == []
    with mesh_as(settings.MESH_PCSE_MAILBOX) as client:
        client.acknowledge_message(csv_id)
    assert delivery.check_acknowledgements() == []  # one of two is not enough
    with mesh_as(settings.MESH_PCSE_MAILBOX) as client:
        client.acknowledge_message(summary_id)
    assert delivery.check_acknowledgements() == [quarter.pk]
    quarter.refresh_from_db()
    assert quarter.status == QuarterStatus.ACKNOWLEDGED and quarter.acknowledged_at is not None


def test_sending_again_sends_only_what_mesh_has_not_accepted(generated, mesh, mesh_as):
    quarter = delivery.send_to_pcse(generated.pk)
    assert delivery.send_to_pcse(generated.pk).status == QuarterStatus.SENT  # already sent: nothing new
    # As if the summary's send had failed after the CSV went.
    quarter.status, quarter.summary_message_id = QuarterStatus.GENERATED, ""
    quarter.save()

    again = delivery.send_to_pcse(generated.pk)

    assert again.status == QuarterStatus.SENT
    assert again.csv_message_id == quarter.csv_message_id
    with mesh_as(settings.MESH_PCSE_MAILBOX) as client:
        assert len(client.list_messages()) == 3  # CSV once, summary twice


def test_a_send_that_keeps_failing_is_retried_then_opened_as_a_case(generated, mesh, mesh_as, settings):
    settings.MESH_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    retries = []
    for _ in range(3):
        with pytest.raises(delivery.TRANSPORT_ERRORS) as failure:
            delivery.send_to_pcse(generated.pk)
        retries.append(delivery.record_failure(generated.pk, str(failure.value), max_attempts=3))

    assert retries == [True, True, False]
    generated.refresh_from_db()
    assert generated.status == QuarterStatus.FAILED and generated.send_attempts == 3
    assert "Connection" in generated.last_error
    case = ExceptionCase.objects.get()
    assert case.kind == "MESH_REPORT"
    assert case.summary == "Capitation for the quarter ending 31 March 2026 could not be sent to PCSE after 3 attempts"
    assert case.evidence["pcse_mailbox"] == settings.MESH_PCSE_MAILBOX

    # Once MESH is back, a person sends it again.
    settings.MESH_URL = mesh
    delivery.allow_resend(generated.pk)
    assert delivery.send_to_pcse(generated.pk).status == QuarterStatus.SENT
    generated.refresh_from_db()
    assert (generated.send_attempts, generated.last_error, generated.failed_at) == (1, "", None)
    assert set(pcse_inbox(mesh_as)) == {"pcrm-capitation-2026-03-31.csv", "pcrm-capitation-2026-03-31.json"}


def test_a_quarter_still_generating_is_not_sent(world, mesh, mesh_as):
    quarter = close.close_quarter(quarter_end=Q, by="tester", today=CLOSING_DAY).quarter
    assert delivery.send_to_pcse(quarter.pk).status == QuarterStatus.GENERATING
    assert pcse_inbox(mesh_as) == {}
