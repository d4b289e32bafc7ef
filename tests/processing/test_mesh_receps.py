"""RECEPs received from GP systems, against the real MESH sandbox and PostgreSQL: negative codes and
unknown SIS become cases, a late positive closes the missing-RECEP case, RECEP interchanges count in
the partner's numbering, and GP RECEPs for an HA still on NHAIS go to NHAIS untouched."""

import datetime as dt

import pytest
from django.utils import timezone
from processing_support import PINNED, edifact, g1, g1_message, relay
from support import drain

from exceptions.models import ExceptionCase
from registrations.gplinks import Interchange, Message, build_recep, parse_interchange
from registrations.models import Interchange as InterchangeRow
from registrations.models import InterchangeStatus
from registrations.services import inbound, recep

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PCRM = "PCRMHUB01"


def registration(sender: str, recipient: str, sis: int, sms: int, tn: int, cipher="XX1") -> bytes:
    return edifact(sender, sis, g1_message(sms, tn, cipher=cipher), recipient=recipient)


def send(mesh_as, mailbox: str, body: bytes, workflow="NHAIS_REG") -> None:
    with mesh_as(mailbox) as client:
        client.send_message(PCRM, body, workflow_id=workflow)


def approval_sent(world, patient, mesh_as) -> tuple[InterchangeRow, Interchange]:
    """The GP's G1 is approved; returns PCRM's F4 interchange row and the F4 as the GP system read it."""
    send(mesh_as, "GPMB00301", registration("TES5", "XX11", 1, 1, 1))
    drain()
    relay()
    row = InterchangeRow.objects.get(direction="out", workflow="NHAIS_REG", recipient="TES5")
    with mesh_as("GPMB00301") as client:
        ids = client.list_messages(workflow_filter="NHAIS_REG")
        return row, parse_interchange(client.retrieve_message(ids[0]).read())


def receipt(received: Interchange, *, sis: int, sms: int, **codes) -> bytes:
    return build_recep(received, sis=sis, sms=sms, now=timezone.localtime(), **codes)


def test_a_negative_recep_opens_a_case_on_what_it_rejects(world, patient, mesh_as):
    sent, received = approval_sent(world, patient, mesh_as)
    sms = received.messages[0].sms
    send(
        mesh_as,
        "GPMB00301",
        receipt(received, sis=2, sms=2, message_codes={sms: "CA"}, interchange_code="ER"),
        "NHAIS_RECEP",
    )
    drain()

    sent.refresh_from_db()
    assert sent.status == InterchangeStatus.NEGATIVE and sent.recep_code == "ER"
    assert list(sent.messages.values_list("recep_code", flat=True)) == ["CA"]
    [case] = ExceptionCase.objects.filter(kind="NEGATIVE_RECEP")
    assert case.interchange_id == sent.pk and "ER" in case.summary
    assert case.evidence["rejected_messages"][0]["code"] == "CA"
    assert case.evidence["rejected_messages"][0]["transactions"][0]["type"] == "F4"
    later = timezone.now() + dt.timedelta(days=5)
    assert sent.pk not in recep.report_missing_receps(now=later, after=dt.timedelta(hours=48)), "answered negatively"


def test_a_recep_for_an_interchange_never_sent_opens_a_case(world, patient, mesh_as):
    _, received = approval_sent(world, patient, mesh_as)
    received.sis = 4242
    send(mesh_as, "GPMB00301", receipt(received, sis=2, sms=2), "NHAIS_RECEP")
    drain()

    row = InterchangeRow.objects.get(direction="in", workflow="NHAIS_RECEP")
    [case] = ExceptionCase.objects.filter(kind="UNMATCHED_RECEP")
    assert case.interchange_id == row.pk and "4242" in case.summary


def test_a_late_positive_recep_closes_the_missing_recep_case(world, patient, mesh_as):
    sent, received = approval_sent(world, patient, mesh_as)
    later = timezone.now() + dt.timedelta(hours=49)
    assert sent.pk in recep.report_missing_receps(now=later, after=dt.timedelta(hours=48))
    missing = ExceptionCase.objects.get(kind="MISSING_RECEP", interchange=sent)

    send(mesh_as, "GPMB00301", receipt(received, sis=2, sms=2), "NHAIS_RECEP")
    drain()

    missing.refresh_from_db()
    sent.refresh_from_db()
    assert sent.status == InterchangeStatus.ACKNOWLEDGED
    assert missing.status == "CLOSED" and missing.events.filter(action="closed").exists()


def test_recep_interchanges_share_the_partners_numbering_so_they_are_never_gaps(world, patient, mesh_as):
    # Like NHS Digital's adaptor: registrations and RECEPs drawn from one SIS/SMS series per link.
    _, received = approval_sent(world, patient, mesh_as)  # the G1 was SIS 1, SMS 1
    stored = []
    send(mesh_as, "GPMB00301", receipt(received, sis=2, sms=2), "NHAIS_RECEP")
    send(mesh_as, "GPMB00301", registration("TES5", "XX11", 3, 3, 2))
    inbound.poll_inbox(on_stored=stored.append)
    results = [inbound.ingest_interchange(pk) for pk in stored]

    assert [r.suspected_gap for r in results] == [None, None]
    assert not ExceptionCase.objects.filter(kind="SEQUENCE_GAP").exists()
    link = world.new.links.get()
    assert (link.last_sis_received, link.last_sms_received) == (3, 3)


def test_gp_receps_for_an_ha_still_on_nhais_go_to_nhais_untouched(world, mesh_as):
    # NHAIS sent NHA5 an interchange; the GP's RECEP for it arrives in PCRM's mailbox (MESH routes GP Links here).
    from_nhais = Interchange(
        sender="BE01",
        recipient="NHA5",
        sis=77,
        prepared_at=PINNED,
        messages=[Message(sms=88, type="F4", ha_cipher="BE", transactions=[g1(5, "4826943,284")])],
    )
    from_nhais.messages[0].transactions[0].type = "F4"
    body = receipt(from_nhais, sis=9, sms=9)
    send(mesh_as, "GPMB00304", body, "NHAIS_RECEP")
    drain()
    relay()

    row = InterchangeRow.objects.get(direction="in")
    assert row.status == InterchangeStatus.FORWARDED
    with mesh_as("NHAISBE1") as nhais:
        [mid] = nhais.list_messages()
        message = nhais.retrieve_message(mid)
        assert message.read() == body and message.workflow_id == "NHAIS_RECEP"
    assert not ExceptionCase.objects.exists()
