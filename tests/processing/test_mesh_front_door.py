"""The MESH front door against the real MESH sandbox and PostgreSQL: no message can block the inbox,
act as a partner it is not, or vanish without a person seeing it (issue 13, points 1-8)."""

import gzip

import pytest
from factories import GPFactory, LinkFactory, PracticeFactory
from processing_support import PINNED, address, edifact, g1, g1_message, g2, relay
from support import drain

from devtools import interchanges
from exceptions.models import AuditEvent, ExceptionCase
from exceptions.services import resolution
from pds.models import Patient
from registrations.gplinks import parse_interchange
from registrations.models import Interchange as InterchangeRow
from registrations.models import InterchangeStatus, OutboxItem, TxStatus
from registrations.models import Message as MessageRow
from registrations.models import Transaction as TxRow
from registrations.services import inbound, mesh_inbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PCRM = "PCRMHUB01"


def send(mesh_as, mailbox: str, body: bytes, *, workflow="NHAIS_REG", **headers) -> str:
    with mesh_as(mailbox) as client:
        return client.send_message(PCRM, body, workflow_id=workflow, **headers)


def post_raw(mesh_as, mailbox: str, body: bytes, **headers) -> None:
    """A POST the way any MESH client may make it, headers and all (mesh-client would not send these)."""
    with mesh_as(mailbox) as client:
        response = client._session.post(
            f"{client._url}/messageexchange/{mailbox}/outbox",
            data=body,
            headers={
                "Content-Type": "application/octet-stream",
                "mex-To": PCRM,
                "mex-WorkflowID": "NHAIS_REG",
                **headers,
            },
        )
        response.raise_for_status()


def inbox_is_empty(mesh_as) -> bool:
    with mesh_as(PCRM) as client:
        return client.list_messages() == []


def cases(kind: str) -> list[ExceptionCase]:
    return list(ExceptionCase.objects.filter(kind=kind).order_by("id"))


# --- 1. per-message isolation, quarantine, decompression, bounded retries -------------------------


def test_over_long_headers_and_other_workflows_are_kept_acknowledged_and_shown(world, patient, mesh_as):
    long_id = "L" * 300
    send(mesh_as, "GPMB00301", edifact("TES5", 1, g1_message(1, 1)), local_id=long_id)
    send(mesh_as, "GPMB00301", b"a report for someone else", workflow="SOMEONE_ELSES_FLOW")
    send(mesh_as, "GPMB00301", edifact("TES5", 2, g1_message(2, 2, nhs_number="9999999999")))

    drain()

    rows = InterchangeRow.objects.filter(direction="in")
    assert rows.count() == 3 and inbox_is_empty(mesh_as)
    first, third = rows.filter(workflow="NHAIS_REG").order_by("sis")
    other = rows.get(workflow="SOMEONE_ELSES_FLOW")
    assert first.status == InterchangeStatus.PARSED
    assert first.mesh_headers["mex-localid"] == long_id, "the header is kept whole"
    assert len(first.local_id) == 64 and first.local_id.endswith("…"), "the column holds a bounded copy"
    assert other.status == InterchangeStatus.UNHANDLED and bytes(other.raw) == b"a report for someone else"
    [case] = cases("UNKNOWN_WORKFLOW")
    assert case.interchange_id == other.pk and "SOMEONE_ELSES_FLOW" in case.summary
    assert third.status == InterchangeStatus.PARSED, "traffic after them went through"


def test_bad_compression_is_quarantined_and_real_compression_is_undone(world, patient, mesh_as):
    post_raw(mesh_as, "GPMB00301", b"this was never gzip", **{"Content-Encoding": "gzip"})
    good = edifact("TES5", 1, g1_message(1, 1))
    post_raw(mesh_as, "GPMB00301", gzip.compress(good), **{"mex-Content-Compressed": "Y"})

    drain()

    bad = InterchangeRow.objects.get(direction="in", status=InterchangeStatus.QUARANTINED)
    ok = InterchangeRow.objects.exclude(pk=bad.pk).get(direction="in")
    assert bytes(bad.raw) == b"this was never gzip", "kept exactly as it came"
    [case] = cases("QUARANTINED_MESSAGE")
    assert case.interchange_id == bad.pk and "gzip" in case.summary
    assert ok.status == InterchangeStatus.PARSED and bytes(ok.raw) == good, "payload compression undone"
    assert TxRow.objects.get().status == TxStatus.DONE
    assert inbox_is_empty(mesh_as)


def test_a_nul_byte_is_stored_read_and_shown_without_a_crash_loop(world, patient, mesh_as):
    body = edifact("TES5", 1, g1_message(1, 1, free_text="SEE NOTES")).replace(b"SEE NOTES", b"SEE\x00NOTES")
    send(mesh_as, "GPMB00301", body)

    drain()

    row = InterchangeRow.objects.get(direction="in")
    assert bytes(row.raw) == body and row.status == InterchangeStatus.PARSED
    tx = TxRow.objects.get()
    assert "\x00" not in tx.data["free_text"] and "\ufffd" in tx.data["free_text"]
    assert tx.status == TxStatus.MANUAL and tx.cases.exists(), "a person sees it"
    assert inbound.stalled_work(older_than=PINNED.replace(year=2100), retry_grace=PINNED - PINNED) == (
        [],
        [],
    ), "nothing left for the sweeper to re-queue forever"


def test_an_unexpected_ingest_failure_is_retried_a_bounded_number_of_times_then_invalid(
    world, patient, mesh_as, settings, monkeypatch
):
    settings.INGEST_MAX_ATTEMPTS = 2
    send(mesh_as, "GPMB00301", edifact("TES5", 1, g1_message(1, 1)))
    stored = []
    mesh_inbox.poll_inbox(on_stored=stored.append)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in sequence checking")

    monkeypatch.setattr(inbound.sequence, "check", broken)
    first = inbound.ingest_interchange(stored[0])
    assert first.retry and first.status == InterchangeStatus.RECEIVED
    second = inbound.ingest_interchange(stored[0])
    assert not second.retry and second.status == InterchangeStatus.INVALID
    row = InterchangeRow.objects.get()
    assert row.ingest_attempts == 2 and "RuntimeError" in row.error
    assert TxRow.objects.count() == 0, "the failed attempts left nothing half-done"
    [case] = cases("INVALID_INTERCHANGE")
    assert case.interchange_id == row.pk


# --- 3. partner authentication -----------------------------------------------------------------


def test_a_spoofed_sender_changes_nothing_until_the_configuration_is_corrected(world, patient, mesh_as, agent):
    patient.refresh_from_db()
    version = patient.version
    amendment = g2(1, "4826940,281", "9434765919", address=address(road="9 NEW ROAD", town="YORK", postcode="YO1 1AA"))
    # TES5's link code, but from a mailbox that is not TES5's.
    send(
        mesh_as,
        "GPMB00399",
        edifact("TES5", 1, interchanges.message(1, [amendment], cipher="XX1")),
    )
    # A link code no practice has.
    send(mesh_as, "GPMB00398", edifact("ZZZ5", 1, g1_message(1, 1)))

    drain()
    relay()

    spoofed, unknown = InterchangeRow.objects.filter(direction="in").order_by("id")
    assert spoofed.status == unknown.status == InterchangeStatus.HELD
    assert TxRow.objects.count() == 0 and MessageRow.objects.filter(interchange__direction="in").count() == 0
    assert not OutboxItem.objects.exists(), "no RECEP to anyone, nothing forwarded"
    assert Patient.objects.get(pk=patient.pk).version == version, "PDS untouched"
    held = cases("UNAUTHENTICATED_PARTNER")
    assert [c.interchange_id for c in held] == [spoofed.pk, unknown.pk]
    assert "GPMB00399" in held[0].summary and "GPMB00301" in held[0].summary

    # Reprocessing before the fix changes nothing and says why.
    with pytest.raises(resolution.InvalidInput):
        resolution.reprocess(held[0], by=agent, reason_code="REFERENCE_DATA_FIXED")
    assert InterchangeRow.objects.get(pk=spoofed.pk).status == InterchangeStatus.HELD

    # The practice really did move mailbox: an administrator corrects it, then reprocessing carries it through.
    world.new.mesh_mailbox = "GPMB00399"
    world.new.save()
    resolution.reprocess(ExceptionCase.objects.get(pk=held[0].pk), by=agent, reason_code="REFERENCE_DATA_FIXED")
    spoofed.refresh_from_db()
    assert spoofed.status == InterchangeStatus.PARSED
    assert TxRow.objects.get().type == "G2"
    assert OutboxItem.objects.get(kind="RECEP").in_reply_to_id == spoofed.pk


def test_an_unknown_partner_is_held_until_it_is_added_then_reprocess_carries_it_through(world, patient, mesh_as, agent):
    """#14 point 7: a trading partner PCRM has never heard of. Nothing is applied or answered; the case
    says who it was; reprocess refuses until reference data knows the partner, then applies, answers the
    practice (RECEP and F4) and the old practice (F2) exactly once, and closes the case on the record."""
    tx = g1(1, "4826945,286")
    send(
        mesh_as,
        "GPMB00398",
        edifact("ZZZ5", 1, interchanges.message(1, [tx], cipher="XX1")),
    )

    drain()
    relay()

    held = InterchangeRow.objects.get(direction="in")
    assert held.status == InterchangeStatus.HELD and held.link_id is None
    assert not TxRow.objects.exists() and not OutboxItem.objects.exists(), "nothing applied, nothing answered"
    [case] = cases("UNAUTHENTICATED_PARTNER")
    assert case.interchange_id == held.pk and case.practice_ods == ""
    assert case.summary == "Unauthenticated partner: sender link code ZZZ5 is not a known practice"
    with pytest.raises(resolution.InvalidInput, match="still not authenticated"):
        resolution.reprocess(case, by=agent, reason_code="REFERENCE_DATA_FIXED")
    assert InterchangeRow.objects.get(pk=held.pk).status == InterchangeStatus.HELD
    assert ExceptionCase.objects.get(pk=case.pk).status == "OPEN" and not case.events.filter(action="reprocess")

    # The practice is genuine: an administrator adds it, its GP and its link, then the agent reprocesses.
    joined = PracticeFactory(ods_code="D40004", link_code="ZZZ5", ha=world.xx1, mesh_mailbox="GPMB00398")
    GPFactory(practice=joined, national_code="4826945", local_code="286")
    link = LinkFactory(practice=joined, ha=world.xx1)
    result = resolution.reprocess(ExceptionCase.objects.get(pk=case.pk), by=agent, reason_code="REFERENCE_DATA_FIXED")
    relay()

    held.refresh_from_db()
    assert (held.status, held.link_id) == (InterchangeStatus.PARSED, link.pk)
    assert TxRow.objects.get().status == TxStatus.DONE
    assert Patient.objects.get(pk=patient.pk).current_gp.practice_ods == "D40004"
    assert result.summary == "Interchange read again: parsed, 1 transactions"
    case = ExceptionCase.objects.get(pk=case.pk)
    assert (case.status, case.closed_by) == ("CLOSED", agent)
    assert list(case.events.values_list("action", "reason_code")) == [
        ("opened", ""),
        ("reprocess", "REFERENCE_DATA_FIXED"),
    ]
    assert AuditEvent.objects.get(action="case_reprocess", object_id=str(case.pk)).user == agent
    answered = [(i.kind, i.tx_type, i.link.practice.ods_code) for i in OutboxItem.objects.order_by("id")]
    assert answered == [("RECEP", "", "D40004"), ("TX", "F4", "D40004"), ("TX", "F2", "B20002")]
    with mesh_as("GPMB00398") as practice:
        got = [parse_interchange(practice.retrieve_message(m).read()) for m in practice.list_messages()]
    assert sorted((ic.recep is not None, ic.sis) for ic in got) == [(False, 2), (True, 1)]
    link.refresh_from_db()
    assert link.last_sis_received == 1, "the partner's numbering starts from the held interchange"


def test_an_inactive_link_holds_the_interchange(world, patient, mesh_as):
    link = world.new.links.get()
    link.active = False
    link.save()
    send(mesh_as, "GPMB00301", edifact("TES5", 1, g1_message(1, 1)))

    drain()

    assert InterchangeRow.objects.get(direction="in").status == InterchangeStatus.HELD
    assert "not active" in cases("UNAUTHENTICATED_PARTNER")[0].summary
    assert not TxRow.objects.exists()


# --- 4/5. RECEP for every interchange, reused numbers, per-message codes -------------------------


def test_a_partly_bad_interchange_is_answered_message_by_message(world, patient, mesh_as):
    good = g1_message(1, 1)
    broken = g1_message(2, 2, "9999999999")
    body = edifact("TES5", 1, good, broken)
    # Break message 2's structure: its S01 is no longer followed by RFF+TN.
    head, tail = body.split(b"UNH+00000002", 1)
    body = head + b"UNH+00000002" + tail.replace(b"RFF+TN:2'", b"RFF+XX:2'", 1)
    send(mesh_as, "GPMB00301", body)

    drain()
    relay()

    row = InterchangeRow.objects.get(direction="in")
    assert row.status == InterchangeStatus.PARSED
    assert dict(row.messages.values_list("sms", "recep_code")) == {1: "CP", 2: "CA"}
    assert TxRow.objects.get().status == TxStatus.DONE, "the good message was processed"
    [case] = cases("INVALID_INTERCHANGE")
    assert "Message 2" in case.summary and "CA" in case.summary
    recep = parse_interchange(bytes(InterchangeRow.objects.get(direction="out", workflow="NHAIS_RECEP").raw)).recep
    assert [(m.sms, m.code) for m in recep.messages] == [(1, "CP"), (2, "CA")]
    assert (recep.interchange_sis, recep.interchange_code, recep.message_count) == (1, "ER", 2)


def test_a_reused_transaction_number_with_new_content_opens_a_case_instead_of_vanishing(world, patient, mesh_as):
    send(mesh_as, "GPMB00301", edifact("TES5", 1, g1_message(1, 1)))
    drain()
    # Same SIS, SMS and TN, different patient.
    send(mesh_as, "GPMB00301", edifact("TES5", 1, g1_message(1, 1, nhs_number="9999999999")))
    drain()
    relay()

    original, reused = TxRow.objects.order_by("id")
    assert original.status == TxStatus.DONE
    assert reused.status == TxStatus.MANUAL and reused.is_duplicate and reused.duplicate_of == original
    [case] = cases("REUSED_NUMBER")
    assert case.transaction_id == reused.pk and "nhs_number" in case.evidence["items_that_differ"]
    assert not OutboxItem.objects.filter(kind="TX").exclude(caused_by=original).exists(), "only the original answered"
    assert OutboxItem.objects.filter(kind="RECEP").count() == 2, "both interchanges receipted"


def test_a_resent_interchange_with_a_new_timestamp_is_a_duplicate_and_receipted(world, patient, mesh_as):
    body = edifact("TES5", 1, g1_message(1, 1))
    send(mesh_as, "GPMB00301", body)
    drain()
    send(mesh_as, "GPMB00301", body.replace(b"261103:0930", b"261103:1015"))
    drain()

    assert list(TxRow.objects.order_by("id").values_list("status", flat=True)) == [TxStatus.DONE, TxStatus.DUPLICATE]
    assert not cases("REUSED_NUMBER")
    assert OutboxItem.objects.filter(kind="RECEP").count() == 2


def test_a_transaction_sent_again_beside_a_new_one_is_skipped_alone(world, patient, mesh_as):
    """Transaction-level duplicate: an interchange (other bytes, so not a duplicate as a whole) carries a
    transaction already received (same SIS, SMS and TN, same content) and a new one. The repeat is
    recorded as a duplicate and applied nowhere; the new one is decided; each interchange is receipted."""
    from factories import PatientFactory

    PatientFactory(nhs_number="9434765870", name="STEVENS JANE", registered_at="B20002")
    send(mesh_as, "GPMB00301", edifact("TES5", 1, g1_message(1, 1)))
    drain()
    send(mesh_as, "GPMB00301", edifact("TES5", 1, g1_message(1, 1), g1_message(2, 2, "9434765870")))
    drain()
    relay()

    rows = list(TxRow.objects.order_by("id").values_list("tn", "status", "is_duplicate"))
    assert rows == [(1, TxStatus.DONE, False), (1, TxStatus.DUPLICATE, True), (2, TxStatus.DONE, False)]
    duplicate = TxRow.objects.get(is_duplicate=True)
    assert duplicate.duplicate_of == TxRow.objects.get(tn=1, is_duplicate=False)
    # The interchange number was reused for other bytes: one case about the interchange, none about the
    # repeated transaction (same content: nothing for a person to decide).
    [reused] = cases("REUSED_NUMBER")
    assert reused.transaction_id is None and reused.evidence["sis"] == 1
    assert [(i.tx_type, i.caused_by.tn) for i in OutboxItem.objects.filter(kind="TX", tx_type="F4").order_by("id")] == [
        ("F4", 1),
        ("F4", 2),
    ]
    assert OutboxItem.objects.filter(kind="RECEP").count() == 2
