"""F1 amendments to GPs (#12 point 4): when PDS holds something the practice's system does not because of
PCRM — a re-keyed NHS number, or a name, birth date or sex a person changed on a case — the practice is
told with an F1. Through the real pipeline and resolution services."""

import pytest
from factories import PatientFactory
from processing_support import address, g2, g5, only_reply, process, replies

from exceptions.models import ExceptionCase
from exceptions.services import resolution
from pds.services import merge_patients
from registrations.models import TxStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
JANE = "9434765919"
OLD = "9990000018"


def _merged_at_the_practice():
    retained = PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="A10001")
    duplicate = PatientFactory(nhs_number=OLD, name="STEVENS JANE")
    merge_patients(
        retained=retained, duplicate=duplicate, retained_version=None, duplicate_version=None, by="nbo", reason="dup"
    )


def test_an_amendment_under_a_superseded_number_tells_the_practice_the_new_one(world):
    _merged_at_the_practice()
    tx = process(world.gp_new, g2(51, GP, OLD, address=address(road="7 NEW STREET", postcode="LS2 7AB")))[0]
    assert tx.status == TxStatus.DONE, tx.outcome
    f1 = only_reply("F1")
    assert f1.status == "QUEUED", f1.error
    assert f1.link.practice.ods_code == "A10001" and f1.caused_by_id == tx.pk
    assert (f1.payload["nhs_number"], f1.payload["amended_nhs_number"], f1.payload["gp_code"]) == (OLD, JANE, GP)
    step = next(s for s in tx.rule_trace if s["check"] == "amendment to the GP")
    assert step["result"] == "F1 queued" and f"TN {tx.tn}" in step["why"]


def test_a_deduction_request_under_a_superseded_number_deducts_and_tells_the_new_number(world):
    _merged_at_the_practice()
    process(world.gp_new, g5(53, GP, OLD, "5"))
    assert only_reply("F2").payload["nhs_number"] == OLD, "the F2 quotes the number the practice used"
    assert only_reply("F1").payload["amended_nhs_number"] == JANE


def test_no_f1_when_switched_off(world, settings):
    settings.PROCESSING_F1_ON_REKEY = False
    _merged_at_the_practice()
    process(world.gp_new, g5(53, GP, OLD, "5"))
    assert [r.tx_type for r in replies()] == ["F2"]


def test_a_change_a_person_accepts_on_a_case_goes_back_to_the_practice(world, agent):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="A10001")
    tx = process(world.gp_new, g2(51, GP, JANE, surname="JONES"))[0]
    case = ExceptionCase.objects.get(transaction=tx)
    result = resolution.accept_change(case, by=agent, reason_code="EVIDENCE_SEEN")
    assert result.sent == ["F1"]
    f1 = only_reply("F1")
    assert (f1.link.practice.ods_code, f1.payload["nhs_number"], f1.payload["surname"]) == ("A10001", JANE, "JONES")
    assert f1.status == "QUEUED", f1.error


def test_corrections_f1_is_a_setting(world, agent, settings):
    settings.PROCESSING_F1_ON_CORRECTION = False
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="A10001")
    tx = process(world.gp_new, g2(51, GP, JANE, surname="JONES"))[0]
    resolution.accept_change(ExceptionCase.objects.get(transaction=tx), by=agent, reason_code="EVIDENCE_SEEN")
    assert replies() == []
