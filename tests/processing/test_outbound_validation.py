"""What PCRM sends is checked before it goes (issue 13, point 9): PDS text normalised to GP Links,
the codec's own validation, no F2/F9/F10 with an empty or guessed NAD+GP, and a relay that refuses
one bad item instead of stopping. Real PostgreSQL; the built interchanges are read back by the codec."""

import datetime as dt

import pytest
from django.utils import timezone
from factories import PatientFactory

from exceptions.models import ExceptionCase
from registrations.gplinks import parse_interchange
from registrations.gplinks.validation import APPENDIX_K
from registrations.models import Interchange as InterchangeRow
from registrations.models import InterchangeStatus, OutboxItem, OutboxKind, OutboxStatus
from registrations.services import fp69, inbound, outbox
from registrations.services.outbound import outbound

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def built(item: OutboxItem):
    item.refresh_from_db()
    [tx] = [t for m in parse_interchange(bytes(item.interchange.raw)).messages for t in m.transactions]
    return tx


def test_pds_text_goes_out_upper_case_folded_appendix_k_and_bounded(world):
    # Old Surgery is single-handed, so its GP is certain.
    PatientFactory(nhs_number="9434765919", name="Müller-Łukasz Zoë", registered_at="B20002")
    note = "Post returned — « gone away » " * 20
    flag = fp69.mark_returned_mail("9434765919", by="tester", free_text=note)

    item = flag.notice
    assert item.status == OutboxStatus.QUEUED
    assert item.payload["surname"] == "MULLER-LUKASZ" and item.payload["forenames"] == ["ZOE"]
    outbox.build_pending(now=timezone.now())
    tx = built(item)
    assert tx.errors == [], "the codec's own validation passes on what was built"
    assert tx.surname == "MULLER-LUKASZ" and len(tx.free_text) <= 350
    assert set(tx.free_text) <= set(APPENDIX_K)


def test_no_f9_goes_out_with_a_guessed_gp(world):
    # New Surgery has two GPs and PCRM never recorded which one the patient is with.
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="A10001")
    flag = fp69.mark_returned_mail("9434765919", by="tester")

    item = flag.notice
    assert item.status == OutboxStatus.REFUSED and "would be a guess" in item.error
    case = ExceptionCase.objects.get(kind="OUTBOUND_REFUSED")
    assert case.nhs_number == "9434765919" and "F9" in case.summary
    assert outbox.build_pending(now=timezone.now()) == [], "nothing is built from it"


def test_a_deduction_naming_no_gp_is_refused_with_a_case(world):
    link = world.old.links.get()
    item = outbox.queue_transaction(
        link=link,
        send=outbound(
            "F2", gp_code="", deduction_reason="1", deduction_date=dt.date(2026, 11, 2), nhs_number="9434765919"
        ),
    )
    assert item.status == OutboxStatus.REFUSED and "no GP is known" in item.error
    assert ExceptionCase.objects.filter(kind="OUTBOUND_REFUSED").count() == 1


def test_one_item_that_cannot_be_built_never_stops_the_relay(world):
    link = world.old.links.get()
    unreadable = InterchangeRow.objects.create(
        direction="in", workflow="NHAIS_REG", raw=b"no longer EDIFACT", sha256="x", status=InterchangeStatus.PARSED
    )
    bad = OutboxItem.objects.create(
        kind=OutboxKind.RECEP, link=link, mesh_recipient="GPMB00302", ha_cipher="XX1", in_reply_to=unreadable
    )
    good = outbox.queue_transaction(link=link, send=outbound("F10", gp_code="4826941,282", nhs_number="9434765919"))

    built_ids = outbox.build_pending(now=timezone.now())

    bad.refresh_from_db()
    good.refresh_from_db()
    assert good.status == OutboxStatus.BATCHED and built_ids == [good.interchange_id]
    assert bad.status == OutboxStatus.REFUSED and "could not be built" in bad.error
    assert ExceptionCase.objects.get(kind="OUTBOUND_REFUSED").interchange_id == unreadable.pk


def test_an_sms_no_recep_could_quote_makes_the_interchange_invalid(world):
    from support import g1_interchange

    body = g1_interchange(sis=1).replace(b"UNH+00000001", b"UNH+123456789012")
    row, _ = inbound.store_inbound(
        mesh_message_id="BIG", body=body, workflow="NHAIS_REG", message_type="DATA", sender="GPMB00301", recipient=""
    )
    result = inbound.ingest_interchange(row.pk)
    assert result.status == InterchangeStatus.INVALID
    assert "cannot be acknowledged" in ExceptionCase.objects.get(kind="INVALID_INTERCHANGE").summary
    assert not OutboxItem.objects.exists()
