"""Golden files: the exact EDIFACT bytes a GP system receives over MESH for the canonical journeys.

Our own generated samples, kept under tests/golden/ and compared byte for byte with the relay's clock
pinned. After a deliberate change to the wire format, regenerate them with
`PCRM_UPDATE_GOLDEN=1 pytest tests/processing/test_golden.py` (every test then fails, saying which
file it rewrote: that run proves nothing), review the diff like code, and run again without it.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from factories import PatientFactory
from processing_support import address, g1, g2, g5, process, relay

from exceptions.models import ExceptionCase
from exceptions.services import resolution
from registrations.gplinks import parse_interchange
from registrations.models import Registration
from registrations.services import fp69

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
GP = "4826940,281"
JANE = "9434765919"


def received(gp, tx_type: str) -> bytes:
    with gp.mesh_as(gp.practice.mesh_mailbox) as client:
        for mid in client.list_messages(workflow_filter="NHAIS_REG"):
            body = client.retrieve_message(mid).read()
            if parse_interchange(body).messages[0].type == tx_type:
                return body
    raise AssertionError(f"{gp.practice.ods_code} received no {tx_type}")


def assert_golden(name: str, body: bytes) -> None:
    path = GOLDEN / f"{name}.edi"
    if os.environ.get("PCRM_UPDATE_GOLDEN"):
        # Rewriting is not a pass: comparing the file with what was just written would prove nothing.
        changed = not path.exists() or path.read_bytes() != body
        path.write_bytes(body)
        state = "rewritten" if changed else "unchanged"
        pytest.fail(f"PCRM_UPDATE_GOLDEN: {path.name} {state}; review the diff, then run without it")
    expected = path.read_bytes()
    # Compared segment by segment first, so a failure names the segment that changed.
    assert body.decode("ascii").split("'") == expected.decode("ascii").split("'")
    assert body == expected


def test_approval_and_deduction_to_the_old_practice(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="C30003")
    process(world.gp_new, g1(41, GP))
    relay()
    assert_golden("approval_f4", received(world.gp_new, "F4"))
    assert_golden("deduction_f2_new_ha", received(world.gp_far, "F2"))


def test_approval_with_the_nhs_number_pcrm_supplied(world, agent):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    tx = process(world.gp_new, g1(42, GP, nhs_number="9999999999"))[0]
    resolution.apply_with_patient(
        ExceptionCase.objects.get(transaction=tx), by=agent, nhs_number=JANE, reason_code="TRACED_MANUALLY"
    )
    relay()
    assert_golden("approval_f4_with_nhs_number", received(world.gp_new, "F4"))
    assert_golden("deduction_f2_same_ha", received(world.gp_old, "F2"))


def test_rejection_wrong_ha(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    process(world.gp_new, g1(43, GP), cipher="COV")
    relay()
    assert_golden("rejection_f3", received(world.gp_new, "F3"))


def test_deduction_request_rejection(world, agent):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="A10001")
    tx = process(world.gp_new, g5(44, GP, JANE, "13", free_text="LEFT THE AREA"))[0]
    resolution.refuse_deduction(ExceptionCase.objects.get(transaction=tx), by=agent, reason_code="REMOVAL_LATER")
    relay()
    assert_golden("deduction_rejection_f11", received(world.gp_new, "F11"))


def test_fp69_notice_and_flag_removal(world, agent):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="A10001")
    # A10001 has two GPs: an F9 names the patient's GP only when PCRM knows it (ADR 0010), never a guess.
    Registration.objects.create(
        nhs_number=JANE, practice=world.new, gp=world.gps["new"], acceptance_date=dt.date(2025, 1, 6)
    )
    fp69.mark_returned_mail(JANE, by="agent", on=dt.date(2026, 11, 3), free_text="MAIL RETURNED UNDELIVERED")
    relay()
    assert_golden("fp69_notice_f9", received(world.gp_new, "F9"))

    tx = process(world.gp_new, g2(45, GP, JANE, address=address(road="7 NEW STREET", postcode="LS2 7AB")))[0]
    resolution.remove_fp69_flag(ExceptionCase.objects.get(transaction=tx), by=agent, reason_code="ADDRESS_CHANGED")
    relay()
    assert_golden("fp69_flag_removal_f10", received(world.gp_new, "F10"))
