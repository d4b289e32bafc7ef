"""Sequence numbers wrap from 99,999,999 to 1 (protocol 1.5: "wraps to 1, 0 is skipped"), end to end:
a real worker takes the interchanges from the MESH sandbox, decides them and relays the answers, and
what reached the practices' mailboxes is read back and parsed.

Outbound, the SIS and SMS counters of both links and the HA's TN counter start at their maximum, so
the first interchange, message and transaction number PCRM allocates on each is 1. Inbound, the
practice's own SIS and SMS cross the wrap; that is the next number, not a gap, so no sequence-gap case
opens once the worker's delayed gap check has had its time. A real gap after the wrap (SIS 2 never
sent) is then reported, as the control: the checker was running and counts on from 1.
"""

import time

import pytest
from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory
from support import beat, g1_batch, wait_for

from exceptions.models import ExceptionCase
from registrations.gplinks import parse_interchange
from registrations.models import Direction, HealthAuthority, InterchangeStatus, Link, OutboxItem, OutboxStatus
from registrations.models import Interchange as InterchangeRow
from registrations.models import Transaction as TxRow
from registrations.services.sequence import MAX_SEQUENCE

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

JANE, ANNE, OMAR = "9434765919", "9434765870", "9730000018"
GRACE = 3  # seconds the worker waits before confirming a suspected gap


@pytest.fixture
def links():
    ha = HealthAuthorityFactory(cipher="XX1", link_code="XX11", migrated=True)
    new = PracticeFactory(ods_code="A10001", link_code="TES5", ha=ha, mesh_mailbox="GPMB00301")
    old = PracticeFactory(ods_code="B20002", link_code="OLD5", ha=ha, mesh_mailbox="GPMB00302")
    GPFactory(practice=new, national_code="4826940", local_code="281")
    GPFactory(practice=old, national_code="4826941", local_code="282")
    for practice in (new, old):
        LinkFactory(practice=practice, ha=ha)
    Link.objects.update(last_sis_sent=MAX_SEQUENCE, last_sms_sent=MAX_SEQUENCE)
    # The practice's last interchange was SIS 99,999,998: the next two are 99,999,999 and then 1.
    Link.objects.filter(practice=new).update(last_sis_received=MAX_SEQUENCE - 1, last_sms_received=MAX_SEQUENCE - 1)
    HealthAuthority.objects.filter(pk=ha.pk).update(last_tn_sent=MAX_SEQUENCE)
    for number in (JANE, ANNE, OMAR):
        PatientFactory(nhs_number=number, name="STEVENS JANE", registered_at="B20002")


def _all_sent() -> bool:
    outbound = InterchangeRow.objects.filter(direction=Direction.OUTBOUND)
    return (
        outbound.exists()
        and not OutboxItem.objects.filter(status=OutboxStatus.QUEUED).exists()
        and not outbound.exclude(status=InterchangeStatus.SENT).exists()
    )


def _relay_until_all_sent(seconds: float = 90) -> None:
    """Send beat's relay entry every two seconds until every answer is in a sent interchange."""
    deadline = time.monotonic() + seconds
    while not _all_sent():
        assert time.monotonic() < deadline, "timed out waiting for every answer to be sent"
        beat("outbox-relay")
        time.sleep(2)


def _received(mesh_as, mailbox: str):
    with mesh_as(mailbox) as client:
        return [parse_interchange(client.retrieve_message(m).read()) for m in client.list_messages()]


def _numbers(interchanges) -> tuple[list[int], list[int], list[int]]:
    """The SIS, SMS and TN numbers a practice received, sorted (a RECEP has one message of its own)."""
    sis = sorted(ic.sis for ic in interchanges)
    sms = sorted(n for ic in interchanges for n in ([ic.recep.sms] if ic.recep else [m.sms for m in ic.messages]))
    tns = sorted(tx.tn for ic in interchanges for m in ic.messages for tx in m.transactions)
    return sis, sms, tns


def test_sequence_numbers_wrap_to_1_both_ways_through_the_real_worker(links, mesh_as, celery_worker_process):
    celery_worker_process(env={"SEQUENCE_GAP_GRACE_SECONDS": str(GRACE)})
    with mesh_as("GPMB00301") as gp:
        for sis, number, tn in ((MAX_SEQUENCE, JANE, 41), (1, ANNE, 42)):
            gp.send_message("PCRMHUB01", g1_batch(sis, [number], first_tn=tn), workflow_id="NHAIS_REG")
    beat("mesh-poll")
    wait_for(lambda: TxRow.objects.filter(status="DONE").count() == 2, timeout=90, message="both acceptances")
    _relay_until_all_sent()

    # Inbound: the practice's numbers crossed the wrap; the link now stands at 1.
    new = Link.objects.get(practice__ods_code="A10001")
    assert (new.last_sis_received, new.last_sms_received) == (1, 1)

    # Outbound, as the practices read it: numbering restarted at 1 on each link, none at 0 or past the maximum.
    to_new = _received(mesh_as, "GPMB00301")  # two RECEPs and the approvals (F4s quote the GP's own TNs)
    sis, sms, tns = _numbers(to_new)
    assert (sis, sms) == (list(range(1, len(to_new) + 1)), list(range(1, len(sms) + 1)))
    assert sorted(ic.recep.interchange_sis for ic in to_new if ic.recep) == [1, MAX_SEQUENCE]
    assert tns == [41, 42]
    assert (new.last_sis_sent, new.last_sms_sent) == (len(sis), len(sms))
    to_old = _received(mesh_as, "GPMB00302")  # the deductions (F2s), numbered from the HA's TN counter
    sis, sms, tns = _numbers(to_old)
    assert (sis, sms, tns) == (list(range(1, len(to_old) + 1)), list(range(1, len(sms) + 1)), [1, 2])
    assert [tx.type for ic in to_old for m in ic.messages for tx in m.transactions] == ["F2", "F2"]
    assert HealthAuthority.objects.get(cipher="XX1").last_tn_sent == 2

    # The control: SIS 2 is never sent, SIS 3 is. Only that gap is reported, after the grace; nothing about the wrap.
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", g1_batch(3, [OMAR], first_tn=43), workflow_id="NHAIS_REG")
    beat("mesh-poll")
    case = wait_for(lambda: ExceptionCase.objects.filter(kind="SEQUENCE_GAP").first(), timeout=60, message="gap")
    assert (case.evidence["missing_sis"], case.evidence["missing_sms"]) == ([2], [2])
    assert list(ExceptionCase.objects.values_list("kind", flat=True)) == ["SEQUENCE_GAP"], "no case for the wrap"
