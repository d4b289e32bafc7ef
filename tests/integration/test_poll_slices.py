"""A poll drains the MESH inbox in bounded slices and never stores a message ahead of one MESH
delivered before it (ADR 0015), against the real MESH sandbox and PostgreSQL.

The soak found both: a poll that drained a backlog for ever ran into its task's time limit, swallowed
the soft limit as a failed download and went on until it was killed; and a message left behind by a
failed download was stored after the ones delivered later, so it was processed after them."""

import pytest
import requests

from registrations.models import Interchange as InterchangeRow
from registrations.services import mesh_inbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PCRM = "PCRMHUB01"
GP = "GPMB00301"


@pytest.fixture
def small_batches(monkeypatch):
    # Five messages per stored batch, so a few messages show what fifty would.
    monkeypatch.setattr(mesh_inbox, "STORE_BATCH", 5)


def send(mesh_as, count: int) -> list[str]:
    with mesh_as(GP) as gp:
        return [gp.send_message(PCRM, f"message {i}".encode(), workflow_id="NHAIS_REG") for i in range(count)]


def stored_in_order() -> list[str]:
    return list(InterchangeRow.objects.order_by("pk").values_list("mesh_message_id", flat=True))


def expire(mesh: str, message_id: str) -> None:
    """MESH gives up on the message (an error event, as when it expires): its download answers 410 Gone."""
    requests.post(
        f"{mesh}/messageexchange/admin/message/{message_id}/event",
        json={"status": "error", "code": "14", "event": "TRANSFER", "description": "expired"},
        timeout=10,
    ).raise_for_status()


def inbox(mesh_as) -> list[str]:
    with mesh_as(PCRM) as pcrm:
        return pcrm.list_messages()


def test_a_spent_budget_ends_the_poll_and_the_next_goes_on_in_order(mesh, mesh_as, small_batches):
    sent = send(mesh_as, 12)

    first = mesh_inbox.poll_inbox(budget_seconds=0)

    assert first.more, "more is left, so the task polls again at once"
    # The budget is checked before each download (a slow MESH cannot hold a poll past it); a poll
    # always makes some progress, so a spent budget still stores and acknowledges one message.
    assert stored_in_order() == sent[:1], "one stored and acknowledged, then the budget ends the poll"
    assert inbox(mesh_as) == sent[1:], "the rest wait in the inbox, in the order MESH delivered them"

    polls = [first]
    while polls[-1].more:
        polls.append(mesh_inbox.poll_inbox(budget_seconds=0))
    assert [len(poll.stored) for poll in polls] == [1] * 12
    assert stored_in_order() == sent
    assert inbox(mesh_as) == []


def poll_losing_one(mesh, mesh_as):
    """Eight messages; once the first batch (five) is stored, and so between listing and downloading,
    MESH gives up on the seventh. Returns (sent, the lost one, the poll's result)."""
    sent = send(mesh_as, 8)

    def hook(rows):
        if rows and rows[-1].mesh_message_id == sent[4]:
            expire(mesh, sent[6])

    return sent, sent[6], mesh_inbox.poll_inbox(on_batch=hook)


def test_a_message_that_cannot_be_downloaded_stops_the_poll_so_nothing_overtakes_it(
    mesh, mesh_as, small_batches, settings
):
    settings.MESH_DOWNLOAD_PATIENCE_SECONDS = 120
    sent, gone, first = poll_losing_one(mesh, mesh_as)

    assert first.more and first.left == [gone]
    assert stored_in_order() == sent[:6], "stopped at the failed download: what came after is not stored"
    assert inbox(mesh_as) == [sent[7]]

    second = mesh_inbox.poll_inbox()
    assert not second.more
    assert stored_in_order() == sent[:6] + [sent[7]]


def test_after_its_attempts_a_message_that_cannot_be_downloaded_no_longer_holds_up_the_others(
    mesh, mesh_as, small_batches, settings
):
    settings.MESH_DOWNLOAD_PATIENCE_SECONDS = 0
    sent, gone, result = poll_losing_one(mesh, mesh_as)

    assert result.left == [gone] and not result.more
    assert stored_in_order() == sent[:6] + [sent[7]], "the poll went past it and stored the rest in order"
    assert inbox(mesh_as) == []
