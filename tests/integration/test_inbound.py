"""The inbound path against the real MESH sandbox and PostgreSQL: store before acknowledge, bad input
kept and made visible, duplicates recorded without side effects."""

import pytest
from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory
from support import drain, g1_interchange

from exceptions.models import ExceptionCase
from registrations.models import Interchange as InterchangeRow
from registrations.models import InterchangeStatus, OutboxItem, TxStatus
from registrations.models import Transaction as TxRow
from registrations.services import inbound

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gp_link():
    ha = HealthAuthorityFactory(cipher="XX1", link_code="XX11", migrated=True)
    practice = PracticeFactory(ods_code="A10001", link_code="TES5", ha=ha, mesh_mailbox="GPMB00301")
    GPFactory(practice=practice, national_code="4826940", local_code="281")
    return LinkFactory(practice=practice, ha=ha)


def test_unreadable_interchange_is_stored_acknowledged_invalid_and_visible(mesh, mesh_as, gp_link):
    garbage = b"UNB+UNOA:2+TES5+XX11+261102:0900+00000001'UNH+1+FHSREG:0:1:FH:FHS001'BGM+++507'\xff\xfe broken"
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", garbage, workflow_id="NHAIS_REG")

    result = drain()

    row = InterchangeRow.objects.get()
    assert bytes(row.raw) == garbage, "the raw bytes are kept exactly"
    assert row.status == InterchangeStatus.INVALID
    assert "segment" in row.error.lower()
    case = ExceptionCase.objects.get(kind="INVALID_INTERCHANGE")
    assert case.interchange_id == row.pk and case.evidence["codec_error"] == row.error
    assert result.acknowledged == 1
    # Acknowledged, so not fetched again: no crash loop, nothing new on the next poll.
    assert drain().stored == []
    with mesh_as("PCRMHUB01") as pcrm:
        assert pcrm.list_messages() == []


def test_crash_between_store_and_acknowledge_processes_once(mesh, mesh_as, gp_link):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="Z99999")
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", g1_interchange(), workflow_id="NHAIS_REG")

    def crash(message_id):
        raise SystemExit("power cut before the acknowledgement")

    with pytest.raises(SystemExit):
        inbound.poll_inbox(on_stored=lambda pk: None, before_ack=crash)
    assert InterchangeRow.objects.count() == 1, "stored before the crash"
    with mesh_as("PCRMHUB01") as pcrm:
        assert len(pcrm.list_messages()) == 1, "still in the inbox: never acknowledged"

    # After the restart the message is acknowledged without a second copy; ingest happens once.
    result = inbound.poll_inbox(on_stored=lambda pk: None)
    assert result.stored == [] and result.acknowledged == 1
    row = InterchangeRow.objects.get()
    first = inbound.ingest_interchange(row.pk)
    again = inbound.ingest_interchange(row.pk)
    assert len(first.new_transaction_ids) == 1 and again.new_transaction_ids == []
    assert TxRow.objects.count() == 1


def test_same_interchange_under_a_new_mesh_id_is_a_duplicate_receipted_again(mesh, mesh_as, gp_link):
    PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="Z99999")
    body = g1_interchange()
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", body, workflow_id="NHAIS_REG", local_id="first")
    drain()
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", body, workflow_id="NHAIS_REG", local_id="again")
    drain()

    first, second = InterchangeRow.objects.filter(direction="in").order_by("id")
    assert first.status == InterchangeStatus.PARSED
    assert second.status == InterchangeStatus.DUPLICATE and second.duplicate_of == first
    assert list(TxRow.objects.order_by("id").values_list("status", "is_duplicate")) == [
        (TxStatus.DONE, False),
        (TxStatus.DUPLICATE, True),
    ]
    # A GP re-sends when its RECEP was lost: the duplicate is skipped but acknowledged, with the same answer.
    receps = list(OutboxItem.objects.filter(kind="RECEP").order_by("id"))
    assert [r.in_reply_to_id for r in receps] == [first.pk, second.pk]
    assert receps[0].payload == receps[1].payload == {"message_codes": {"1": "CP"}, "interchange_code": "OK"}
    assert OutboxItem.objects.filter(tx_type="F4").count() == 1, "the duplicate had no side effects"


def _store_and_ingest(body: bytes, mesh_id: str) -> inbound.IngestResult:
    row, _ = inbound.store_inbound(
        mesh_message_id=mesh_id,
        body=body,
        workflow="NHAIS_REG",
        message_type="DATA",
        sender="GPMB00301",
        recipient="PCRMHUB01",
    )
    return inbound.ingest_interchange(row.pk)


def test_sequence_gap_is_reported_only_when_the_number_never_arrives(gp_link):
    assert _store_and_ingest(g1_interchange(sis=1, tn=1), "m1").suspected_gap is None
    lost = _store_and_ingest(g1_interchange(sis=3, tn=3), "m3").suspected_gap
    assert lost["sis"] == [2] and lost["sms"] == [2]

    assert inbound.confirm_sequence_gap(**lost) is True
    case = ExceptionCase.objects.get(kind="SEQUENCE_GAP")
    assert case.evidence["missing_sis"] == [2] and "2" in case.summary


def test_out_of_order_arrival_is_not_a_gap(gp_link):
    _store_and_ingest(g1_interchange(sis=1, tn=1), "m1")
    suspected = _store_and_ingest(g1_interchange(sis=3, tn=3), "m3").suspected_gap
    _store_and_ingest(g1_interchange(sis=2, tn=2), "m2")  # late, but it came

    assert inbound.confirm_sequence_gap(**suspected) is False
    assert not ExceptionCase.objects.filter(kind="SEQUENCE_GAP").exists()
