"""#12 points 6, 7 and 10 through the real pipeline and services: a restricted patient's move tells the
practice left nothing that locates them; an FP69 expiry re-checks PDS before deducting; F3 (and so the
R re-send rule) is only for a wrong HA."""

import datetime as dt

import pytest
from factories import PatientFactory
from processing_support import g1, only_reply, process, replies

from exceptions.models import ExceptionCase
from exceptions.services import resolution
from pds.models import Patient, PatientAddress
from pds.services import record_death
from registrations.models import FP69Flag, TxStatus
from registrations.services import fp69

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
JANE = "9434765919"


# --- point 6: sensitive patients ------------------------------------------------------------------------


@pytest.mark.parametrize("old_practice", ["C30003", "B20002"], ids=["another HA", "the same HA"])
def test_a_restricted_patients_old_practice_learns_nothing_that_locates_them(world, agent, old_practice):
    patient = PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at=old_practice)
    Patient.objects.filter(pk=patient.pk).update(sensitive=True)
    tx = process(world.gp_new, g1(41, GP))[0]
    case = ExceptionCase.objects.get(transaction=tx)
    assert case.kind == "SENSITIVE"

    resolution.apply_with_patient(case, by=agent, nhs_number=JANE, reason_code="SAME_PERSON_CONFIRMED")
    f2 = only_reply("F2")
    assert f2.link.practice.ods_code == old_practice
    assert f2.payload["deduction_reason"] == "13" and "new_ha" not in f2.payload
    tx.refresh_from_db()
    step = next(s for s in tx.rule_trace if s["result"] == "nothing that locates the patient")
    assert step["check"] == "sensitive flag" and "NAD+NFH" in step["why"]


def test_an_unrestricted_move_still_names_the_new_ha(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="C30003")
    process(world.gp_new, g1(41, GP))
    f2 = only_reply("F2")
    assert (f2.payload["deduction_reason"], f2.payload["new_ha"]) == ("2", "XX1")


# --- point 7: FP69 expiry re-checks PDS -----------------------------------------------------------------


@pytest.fixture
def flagged(world):
    patient = PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="A10001")
    fp69.mark_returned_mail(JANE, by="agent", on=dt.date(2026, 5, 1))
    return patient


def _died(patient):
    record_death(patient, date=dt.date(2026, 9, 1), status="informal", expected_version=None, by="t", reason="t")


def _restricted(patient):
    Patient.objects.filter(pk=patient.pk).update(sensitive=True)


def _moved(patient):
    PatientAddress.objects.filter(patient=patient).update(road="9 OTHER ROAD", start=dt.date(2026, 8, 1))


@pytest.mark.parametrize(
    ("change", "words"),
    [(_died, "death"), (_restricted, "restricted"), (_moved, "new address")],
    ids=["died", "restricted", "moved"],
)
def test_an_expiry_after_pds_changed_is_a_case_not_a_deduction(flagged, change, words):
    change(flagged)
    assert fp69.expire_due(today=dt.date(2026, 11, 2)) == [FP69Flag.objects.get().pk]

    flag = FP69Flag.objects.get()
    assert flag.status == "REVIEW"
    assert replies(tx_type="F2") == []
    case = ExceptionCase.objects.get(kind="FP69_RESPONSE")
    assert words in case.evidence["why"] and case.rule_trace[-1]["result"] == "expired, not deducted"
    assert fp69.expire_due(today=dt.date(2026, 11, 3)) == [], "one case, not one an hour"


def test_a_person_can_still_remove_the_flag_of_a_stopped_expiry(flagged, agent):
    _moved(flagged)
    fp69.expire_due(today=dt.date(2026, 11, 2))
    case = ExceptionCase.objects.get(kind="FP69_RESPONSE")
    resolution.remove_fp69_flag(case, by=agent, reason_code="ADDRESS_CONFIRMED")
    assert FP69Flag.objects.get().status == "REMOVED" and only_reply("F10")


def test_an_expiry_with_nothing_new_deducts(flagged):
    fp69.expire_due(today=dt.date(2026, 11, 2))
    assert FP69Flag.objects.get().status == "EXPIRED" and only_reply("F2").payload["deduction_reason"] == "14"


# --- point 10: F3 only for a wrong HA; R only after one ---------------------------------------------------


def test_an_r_resend_after_an_f3_that_was_not_for_a_wrong_ha_is_checked(world, agent, settings):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    settings.PROCESSING_F3_FOR_OTHER_REFUSALS = True  # as PCRM once did: F3 for any refusal
    first = process(world.gp_new, g1(40, GP, free_text="PLEASE CALL"))[0]
    resolution.reject_to_practice(
        ExceptionCase.objects.get(transaction=first), by=agent, reason_code="INSUFFICIENT_DETAILS"
    )
    assert only_reply("F3").payload["free_text"].startswith("INSUFFICIENT")

    resent = process(world.gp_new, g1(42, GP, code="R"))[0]
    assert resent.status == TxStatus.MANUAL
    assert ExceptionCase.objects.get(transaction=resent).kind == "ACCEPTANCE_CHECK"
    assert any(s["result"] == "R without a rejection" for s in resent.rule_trace)
