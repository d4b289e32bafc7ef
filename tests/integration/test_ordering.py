"""Ordered processing (#15, ADR 0015) through real worker processes: a partner's transactions are
decided in the order sent, and transactions about the same patient never out of order, with several
workers taking interleaved batches from two partners."""

import datetime as dt
from collections import Counter

import pytest
from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory
from harness import ordering_audit
from support import SENT_AT, g1_transaction, wait_for

from core.nhs_number import from_serial
from devtools import interchanges
from pds.models import GPPeriod, PatientAddress
from registrations.gplinks import Address, Transaction
from registrations.models import OutboxItem, Registration, TxStatus
from registrations.models import Transaction as TxRow
from registrations.tasks import poll_mesh_inbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PARTNERS = {"TES5": ("A10001", "GPMB00301", "4826940,281"), "TES6": ("A10002", "GPMB00302", "4826941,282")}
NEW_ROAD = Address("", "2 NEW ROAD", "", "LEEDS", "", "LS2 2BB")
AT_B = Address("", "3 OTHER ROAD", "", "YORK", "", "YO1 7HH")


@pytest.fixture
def partners():
    ha = HealthAuthorityFactory(cipher="XX1", link_code="XX11", migrated=True)
    for code, (ods, box, gp_code) in PARTNERS.items():
        practice = PracticeFactory(ods_code=ods, link_code=code, ha=ha, mesh_mailbox=box)
        national, local = gp_code.split(",")
        GPFactory(practice=practice, national_code=national, local_code=local)
        LinkFactory(practice=practice, ha=ha)


def g1(tn, number, partner, on):
    return g1_transaction(tn, number, gp_code=PARTNERS[partner][2], acceptance_date=on)


def g2(tn, number, partner, address):
    return Transaction(tn=tn, type="G2", gp_code=PARTNERS[partner][2], nhs_number=number, address=address)


def g5(tn, number, partner):
    return Transaction(
        tn=tn,
        type="G5",
        gp_code=PARTNERS[partner][2],
        nhs_number=number,
        deduction_reason="5",
        deduction_date=dt.date(2026, 11, 3),
    )


def interchange(partner: str, sis: int, messages: list[tuple[int, list[Transaction]]]) -> bytes:
    """One interchange from `partner` to XX11 (prepared at support.SENT_AT): a message per (SMS, transactions)."""
    msgs = [interchanges.message(sms, txs, cipher="XX1") for sms, txs in messages]
    return interchanges.edifact(interchanges.interchange(partner, "XX11", sis, SENT_AT, msgs))


def test_several_workers_keep_each_partner_and_each_patient_in_order(partners, mesh_as, celery_worker_process):
    numbers = [from_serial(71_000_000 + i * 13) for i in range(16)]
    for n in numbers:
        PatientFactory(nhs_number=n, name="STEVENS JANE", registered_at="Z99999")
    first, second = numbers[:8], numbers[8:]
    on = dt.date(2026, 11, 2)
    # A registers all sixteen and sends their new address in the same interchange (G1s, then G2s).
    a1 = interchange(
        "TES5",
        1,
        [
            (1, [g1(i + 1, n, "TES5", on) for i, n in enumerate(numbers)]),
            (2, [g2(i + 101, n, "TES5", NEW_ROAD) for i, n in enumerate(numbers)]),
        ],
    )
    # Then A deducts the first eight (emigrated) and amends the other eight again; B registers those
    # eight (a move from A, which gets an F2) and sends their address at B.
    a2 = interchange(
        "TES5",
        2,
        [
            (3, [g5(i + 201, n, "TES5") for i, n in enumerate(first)]),
            (4, [g2(i + 301, n, "TES5", NEW_ROAD) for i, n in enumerate(second)]),
        ],
    )
    b1 = interchange("TES6", 1, [(1, [g1(i + 1, n, "TES6", dt.date(2026, 11, 4)) for i, n in enumerate(second)])])
    b2 = interchange("TES6", 2, [(2, [g2(i + 101, n, "TES6", AT_B) for i, n in enumerate(second)])])

    celery_worker_process(concurrency=2)
    celery_worker_process(concurrency=2)
    with mesh_as("GPMB00301") as a:
        a.send_message("PCRMHUB01", a1, workflow_id="NHAIS_REG")
    poll_mesh_inbox.delay()
    with mesh_as("GPMB00301") as a, mesh_as("GPMB00302") as b:
        a.send_message("PCRMHUB01", a2, workflow_id="NHAIS_REG")
        b.send_message("PCRMHUB01", b1, workflow_id="NHAIS_REG")
        b.send_message("PCRMHUB01", b2, workflow_id="NHAIS_REG")

    def all_read():
        poll_mesh_inbox.delay()  # what beat does
        return TxRow.objects.count() >= 64

    wait_for(all_read, timeout=120, interval=1, message="every interchange read")

    pending = [TxStatus.PARSED, TxStatus.PROCESSING, TxStatus.RETRY_WAIT]
    wait_for(lambda: not TxRow.objects.filter(status__in=pending).exists(), timeout=180, message="all decided")

    assert Counter(TxRow.objects.values_list("status", flat=True)) == {TxStatus.DONE: 64}
    audit = ordering_audit()
    assert audit == {
        "decided": 64,
        "patient_violations": 0,
        "partner_violations": 0,
        "double_applied": 0,
        "examples": [],
    }
    assert Registration.objects.count() == 24
    assert OutboxItem.objects.filter(tx_type="F4").count() == 24
    assert OutboxItem.objects.filter(tx_type="F2").count() == 16
    for n in first:
        assert not GPPeriod.objects.filter(patient__nhs_number=n, end__isnull=True).exists()
    for n in second:
        assert GPPeriod.objects.get(patient__nhs_number=n, end__isnull=True).practice_ods == "A10002"
        assert PatientAddress.objects.get(patient__nhs_number=n, end__isnull=True).postcode == "YO1 7HH"
