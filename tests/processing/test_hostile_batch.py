"""A hostile batch through the real MESH sandbox, PostgreSQL and a real Celery worker (issue 13).

Over-long headers, bad compression, NUL bytes, an unknown workflow, spoofed and unknown senders,
reused numbers, a partly bad interchange, a negative RECEP and an unmatched one, then good traffic.
Every message must be stored and visible, nothing changed that should not be, and the good traffic
sent after the poison processed within a bounded time. Run with -s to see the figures:

    .venv/bin/pytest tests/processing/test_hostile_batch.py -s -p no:cacheprovider
"""

import time
from collections import Counter

import pytest
from django.utils import timezone
from factories import PatientFactory
from processing_support import address, edifact, g1, g1_message, g2, relay
from support import GP_CODE, drain, wait_for

from devtools import interchanges
from exceptions.models import ExceptionCase
from pds.models import Patient
from registrations.gplinks import build_recep, parse_interchange
from registrations.models import Interchange as InterchangeRow
from registrations.models import InterchangeStatus, OutboxItem, TxStatus
from registrations.models import Transaction as TxRow
from registrations.tasks import poll_mesh_inbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PCRM = "PCRMHUB01"
# From sending the good traffic (after the whole hostile batch) to its approval being decided, on a
# 2-core machine shared with other test runs: generous, but bounded.
GOOD_TRAFFIC_BOUND_SECONDS = 90


def test_hostile_batch_is_stored_visible_harmless_and_never_delays_good_traffic(
    world, patient, mesh_as, celery_worker_process
):
    # Before the batch: PCRM approved an acceptance from FAR5, so a RECEP can reject it.
    PatientFactory(nhs_number="9999999999", name="STEVENS JANE", registered_at="B20002")
    to_far = interchanges.message(1, [g1(1, "4826942,283", nhs_number="9999999999")], cipher="COV")
    with mesh_as("GPMB00303") as far:
        far.send_message(PCRM, edifact("FAR5", 1, to_far, recipient="COV1"), workflow_id="NHAIS_REG")
    drain()
    relay()
    with mesh_as("GPMB00303") as far:
        [mid] = far.list_messages(workflow_filter="NHAIS_REG")
        sent_to_far = parse_interchange(far.retrieve_message(mid).read())
    address_before = list(Patient.objects.get(pk=patient.pk).addresses.values_list("road", "post_town"))
    before = InterchangeRow.objects.filter(direction="in").count()

    unknown_patient = "9876543210"
    moved = address(road="9 NEW ROAD", town="YORK", postcode="YO1 1AA")
    broken_second = edifact("TES5", 3, g1_message(3, 3, unknown_patient), g1_message(4, 4, unknown_patient))
    head, tail = broken_second.split(b"UNH+00000004", 1)
    broken_second = head + b"UNH+00000004" + tail.replace(b"RFF+TN:4'", b"RFF+XX:4'", 1)
    nul = edifact("TES5", 2, g1_message(2, 2, unknown_patient, free_text="SEE NOTES")).replace(
        b"SEE NOTES", b"SEE\x00NOTES"
    )
    spoofed = edifact(
        "TES5",
        5,
        interchanges.message(5, [g2(5, GP_CODE, patient.nhs_number, address=moved)], cipher="XX1"),
    )
    now = timezone.localtime()
    rejecting = build_recep(
        sent_to_far, sis=2, sms=2, now=now, message_codes={sent_to_far.messages[0].sms: "CA"}, interchange_code="ER"
    )
    unmatched = build_recep(sent_to_far, sis=3, sms=3, now=now).replace(
        b"RFF+RIS:%08d" % sent_to_far.sis, b"RFF+RIS:00004242"
    )
    huge_sms = edifact("TES5", 6, g1_message(6, 6, unknown_patient)).replace(b"UNH+00000006", b"UNH+123456789012")
    long_local_id = {"mex-LocalID": "L" * 300}
    not_gzip = {"Content-Encoding": "gzip"}
    reg, rcp = "NHAIS_REG", "NHAIS_RECEP"
    hostile = [
        # (mailbox, body, workflow, headers for a raw POST (None: an ordinary send), what it is)
        ("GPMB00301", edifact("TES5", 1, g1_message(1, 1, unknown_patient)), reg, long_local_id, "over-long local id"),
        ("GPMB00301", b"UNB+UNOA:2+TES5+XX11+261103:0930+00000009'", reg, not_gzip, "bad compression"),
        ("GPMB00301", nul, reg, None, "NUL byte"),
        ("GPMB00301", b"some other service's file", "NOT_GP_LINKS", None, "unknown workflow"),
        ("GPMB00399", spoofed, reg, None, "spoofed sender"),
        ("GPMB00398", edifact("ZZZ5", 1, g1_message(1, 1, unknown_patient)), reg, None, "unknown link code"),
        ("GPMB00398", edifact("TES5" + "X" * 40, 1, g1_message(1, 1, unknown_patient)), reg, None, "long UNB sender"),
        ("GPMB00301", edifact("TES5", 2, g1_message(2, 2, "9999999999")), reg, None, "reused numbers"),
        ("GPMB00301", broken_second, reg, None, "partly bad interchange"),
        ("GPMB00301", b"\x00\xff garbage, not EDIFACT", reg, None, "unreadable"),
        ("GPMB00301", huge_sms, reg, None, "SMS no RECEP can quote"),
        ("GPMB00303", rejecting, rcp, None, "negative RECEP"),
        ("GPMB00303", unmatched, rcp, None, "RECEP for an unknown SIS"),
    ]
    for mailbox, body, workflow, raw_headers, _ in hostile:
        with mesh_as(mailbox) as client:
            if raw_headers is None:
                client.send_message(PCRM, body, workflow_id=workflow)
            else:
                client._session.post(
                    f"{client._url}/messageexchange/{mailbox}/outbox",
                    data=body,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "mex-To": PCRM,
                        "mex-WorkflowID": workflow,
                        **raw_headers,
                    },
                ).raise_for_status()

    # Good traffic, sent after all of it: Jane Stevens joins TES5.
    worker = celery_worker_process(concurrency=2)
    started = time.monotonic()
    with mesh_as("GPMB00301") as gp:
        gp.send_message(PCRM, edifact("TES5", 4, g1_message(5, 5, patient.nhs_number)), workflow_id="NHAIS_REG")
    poll_mesh_inbox.delay()

    def good_done():
        return TxRow.objects.filter(sender="TES5", sis=4, status=TxStatus.DONE).exists()

    wait_for(good_done, timeout=GOOD_TRAFFIC_BOUND_SECONDS, message="the good acceptance to be approved")
    good_seconds = time.monotonic() - started
    assert worker.proc.poll() is None

    sent = len(hostile) + 1
    wait_for(
        lambda: (
            InterchangeRow.objects.filter(direction="in").count() - before == sent
            and not InterchangeRow.objects.filter(direction="in", status=InterchangeStatus.RECEIVED).exists()
        ),
        timeout=60,
        message="every message stored and read",
    )
    with mesh_as(PCRM) as pcrm:
        assert pcrm.list_messages() == [], "everything acknowledged: nothing waits unseen"

    rows = list(InterchangeRow.objects.filter(direction="in").order_by("id")[before:])
    statuses = Counter(row.status for row in rows)
    kinds = Counter(ExceptionCase.objects.values_list("kind", flat=True))
    # Every hostile message is visible to a person, as a case on it or on what it concerns.
    assert kinds["QUARANTINED_MESSAGE"] == 1
    assert kinds["UNKNOWN_WORKFLOW"] == 1
    assert kinds["UNAUTHENTICATED_PARTNER"] == 3  # spoofed, unknown link code, over-long sender
    assert kinds["REUSED_NUMBER"] == 1  # SIS 2 sent twice with other content: whichever came second
    # The unreadable one, the one whose SMS no RECEP could quote, and message 4 of the partly bad one.
    assert kinds["INVALID_INTERCHANGE"] == 3
    assert kinds["NEGATIVE_RECEP"] == 1 and kinds["UNMATCHED_RECEP"] == 1
    assert statuses[InterchangeStatus.HELD] == 3 and statuses[InterchangeStatus.QUARANTINED] == 1
    # Nothing changed that should not have: the spoofed amendment left the address alone.
    assert list(Patient.objects.get(pk=patient.pk).addresses.values_list("road", "post_town")) == address_before
    assert not TxRow.objects.filter(type="G2").exists()
    # The partly bad interchange was answered message by message, and its good message processed.
    partly = next(r for r in rows if r.sis == 3 and r.sender == "TES5")
    assert dict(partly.messages.values_list("sms", "recep_code")) == {3: "CP", 4: "CA"}
    assert OutboxItem.objects.filter(kind="RECEP", in_reply_to=partly).get().payload["interchange_code"] == "ER"

    print(
        f"\nhostile batch: {len(hostile)} hostile + 1 good message sent; {len(rows)} stored "
        f"({dict(statuses)}); cases opened: {dict(kinds)}; good traffic approved {good_seconds:.1f} s after "
        f"it was sent (bound {GOOD_TRAFFIC_BOUND_SECONDS} s; 2 shared cores)"
    )
