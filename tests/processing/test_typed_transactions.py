"""Typed transactions end to end (#11, ADR 0018): rules and services read the codec's typed transaction,
built once from what is stored; an outbox item carries a typed F-transaction, read and written through
one accessor over its JSON column; and deciding a G1 reads the patient's PDS record once."""

import datetime as dt

import pytest
from processing_support import address, g1, g2, process, replies

from pds.gateway import LocalGateway
from registrations import gplinks
from registrations.models import OutboxItem
from registrations.models import Transaction as TxRow
from registrations.services import outbox
from registrations.services.outbound import outbound

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
OLD_GP = "4826941,282"
JANE = "9434765919"


def test_the_stored_transaction_is_read_as_the_codec_types_it_once_per_row(world, patient):
    [tx] = process(world.gp_new, g1(41, GP))
    row = TxRow.objects.get(pk=tx.pk)

    sent = row.parsed
    assert isinstance(sent, gplinks.Transaction)
    assert row.parsed is sent, "built once, not again on every read"
    assert (sent.type, sent.tn, sent.nhs_number) == ("G1", 41, JANE)
    assert (sent.acceptance_date, sent.birth_date) == (dt.date(2026, 11, 2), dt.date(1980, 5, 17))
    assert sent.free_text is gplinks.ABSENT, "an item the GP did not send is ABSENT, not a missing key"
    assert sent.address == gplinks.Address(road="1 HIGH STREET", post_town="LEEDS", postcode="LS1 4AP")


@pytest.fixture
def pds_reads(monkeypatch):
    """The NHS numbers read through the gateway's `get`, in order (the real read still runs)."""
    reads = []
    real_get = LocalGateway.get

    def counting_get(self, nhs_number):
        reads.append(nhs_number)
        return real_get(self, nhs_number)

    monkeypatch.setattr(LocalGateway, "get", counting_get)
    return reads


def test_deciding_and_applying_a_g1_reads_the_patient_record_once(world, patient, pds_reads):
    [tx] = process(world.gp_new, g1(41, GP))

    assert tx.status == "DONE", tx.outcome
    assert sorted(r.tx_type for r in replies()) == ["F2", "F4"]
    assert pds_reads == [JANE], "the rule's read is passed down to apply, never repeated"


def test_deciding_and_applying_a_g2_address_change_reads_the_patient_record_once(world, patient, pds_reads):
    [tx] = process(world.gp_old, g2(42, OLD_GP, JANE, address=address(road="9 NEW ROAD", postcode="LS2 7AB")))

    assert (tx.status, tx.outcome) == ("DONE", "Address updated in PDS")
    assert pds_reads == [JANE]


def test_an_outbox_item_carries_a_typed_transaction_over_the_same_json(world):
    link = world.old.links.get()  # Old Surgery is single-handed, so its GP is certain
    deduction = outbound(
        "F2", gp_code="4826941,282", deduction_reason="3", deduction_date=dt.date(2026, 11, 2), nhs_number=JANE
    )

    item = outbox.queue_transaction(link=link, send=deduction)

    assert item.status == "QUEUED", item.error
    # The column keeps the shape queries and pages read: only the items sent, dates as ISO text.
    assert item.payload == {
        "gp_code": "4826941,282",
        "nhs_number": JANE,
        "deduction_reason": "3",
        "deduction_date": "2026-11-02",
    }
    back = OutboxItem.objects.get(pk=item.pk).outbound
    assert (back.type, back.deduction_date, back.new_ha) == ("F2", dt.date(2026, 11, 2), gplinks.ABSENT)
    assert deduction.tn == 0, "the producer's value is not changed by queueing it"

    outbox.build_pending(now=dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC))
    item.refresh_from_db()
    assert item.outbound.tn == item.tn > 0, "read back with the TN the relay gave it"
