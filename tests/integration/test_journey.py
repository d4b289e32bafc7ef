"""One registration end to end through the real services: MESH sandbox, PostgreSQL, Redis, a Celery
worker process. A GP sends a type 1 acceptance; PDS moves the patient; the new GP gets an approval
and the old practice a deduction, both downloadable from their MESH mailboxes."""

import datetime as dt

import pytest
from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory
from support import g1_transaction, practice_interchange, wait_for

from exceptions.models import ExceptionCase
from pds.models import Patient
from registrations.gplinks import Transaction, parse_interchange
from registrations.models import Interchange as InterchangeRow
from registrations.models import InterchangeStatus, TxStatus
from registrations.models import Transaction as TxRow
from registrations.tasks import poll_mesh_inbox, relay_outbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def acceptance(*, tn, gp_code, nhs_number, surname, forenames, birth_date, sex="2") -> Transaction:
    return g1_transaction(
        tn, nhs_number, gp_code=gp_code, surname=surname, forenames=forenames, birth_date=birth_date, sex=sex
    )


@pytest.fixture
def world():
    ha = HealthAuthorityFactory(cipher="XX1", link_code="XX11", migrated=True)
    new = PracticeFactory(ods_code="A10001", link_code="NEW5", ha=ha, mesh_mailbox="GPMB00301")
    old = PracticeFactory(ods_code="B20002", link_code="OLD5", ha=ha, mesh_mailbox="GPMB00302")
    new_gp = GPFactory(practice=new, national_code="4826940", local_code="281")
    old_gp = GPFactory(practice=old, national_code="4826941", local_code="282")
    LinkFactory(practice=new, ha=ha)
    LinkFactory(practice=old, ha=ha)
    patient = PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="B20002")
    return {"ha": ha, "new": new, "old": old, "new_gp": new_gp, "old_gp": old_gp, "patient": patient}


def test_acceptance_travels_end_to_end(world, mesh_as, celery_worker_process):
    known = acceptance(
        tn=41,
        gp_code="4826940,281",
        nhs_number="9434765919",
        surname="STEVENS",
        forenames=["JANE"],
        birth_date=dt.date(1980, 5, 17),
    )
    unknown = acceptance(
        tn=42,
        gp_code="4826940,281",
        nhs_number="9999999999",
        surname="NOBODY",
        forenames=["NEIL"],
        birth_date=dt.date(1970, 1, 1),
        sex="1",
    )
    body = practice_interchange(
        1, [known, unknown], sender="NEW5", prepared_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    )
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", body, workflow_id="NHAIS_REG", local_id="gp-1")

    celery_worker_process(concurrency=2)
    poll_mesh_inbox.delay()

    patient = world["patient"]
    wait_for(lambda: Patient.objects.get(pk=patient.pk).current_gp.practice_ods == "A10001", message="PDS update")
    wait_for(lambda: ExceptionCase.objects.filter(kind="NO_TRACE").exists(), message="unknown-patient case")
    relay_outbox.delay()
    wait_for(
        lambda: InterchangeRow.objects.filter(direction="out", status="SENT").count() >= 3,
        message="RECEP, F4 and F2 sent",
    )

    # Stored raw, then acknowledged: the inbox is empty and the bytes are exactly what the GP sent.
    inbound = InterchangeRow.objects.get(direction="in")
    assert bytes(inbound.raw) == body
    assert inbound.status == InterchangeStatus.PARSED
    with mesh_as("PCRMHUB01") as pcrm:
        assert pcrm.list_messages() == []

    # PDS: new period from the acceptance date, the old one closed, the version bumped.
    patient.refresh_from_db()
    periods = {p.practice_ods: p for p in patient.gp_periods.all()}
    assert periods["B20002"].end == dt.date(2026, 11, 2)
    assert periods["A10001"].start == dt.date(2026, 11, 2) and periods["A10001"].end is None
    assert patient.version == 2
    assert set(TxRow.objects.values_list("tn", "status")) == {(41, TxStatus.DONE), (42, TxStatus.MANUAL)}

    # The new GP gets its RECEP and an F4 quoting its TN; the old practice gets an F2, reason 3.
    with mesh_as("GPMB00301") as gp:
        received = [parse_interchange(gp.retrieve_message(mid).read()) for mid in gp.list_messages()]
    recep = next(ic for ic in received if ic.recep is not None)
    assert recep.recep.interchange_sis == 1 and [m.sms for m in recep.recep.messages] == [1]
    approval = next(ic for ic in received if ic.recep is None)
    f4 = approval.messages[0]
    assert (f4.type, f4.ha_cipher) == ("F4", "XX1")
    assert [(t.tn, t.gp_code) for t in f4.transactions] == [(41, "4826940,281")]
    with mesh_as("GPMB00302") as old:
        ids = old.list_messages()
        assert len(ids) == 1
        deduction = parse_interchange(old.retrieve_message(ids[0]).read())
    f2 = deduction.messages[0].transactions[0]
    assert (f2.type, f2.nhs_number, f2.deduction_reason) == ("F2", "9434765919", "3")
    assert f2.deduction_date == dt.date(2026, 11, 2)
    assert (deduction.sender, deduction.recipient) == ("XX11", "OLD5")

    case = ExceptionCase.objects.get(kind="NO_TRACE")
    assert case.nhs_number == "9999999999"
    assert any(step["check"] == "PDS lookup" for step in case.rule_trace)
