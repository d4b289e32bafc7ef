"""Registration details PDS does not hold (#12 point 9): the dispensing marker (HEA+DM) and the
residential institute code (NAD+RIC) from a G1 are kept on the registration, and a G2 changes them."""

import pytest
from factories import PatientFactory
from processing_support import g1, g2, process

from registrations.models import Registration, TxStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
JANE = "9434765919"


def test_a_g1_keeps_dm_and_ric_and_a_g2_changes_and_erases_them(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    accepted = process(world.gp_new, g1(41, GP, drugs_dispensed="Y", residential_institute="RT"))[0]
    assert accepted.status == TxStatus.DONE, accepted.outcome
    reg = Registration.objects.get(transaction=accepted)
    assert (reg.dispensing, reg.residential_institute) == (True, "RT")

    amended = process(world.gp_new, g2(42, GP, JANE, residential_institute="HX"))[0]
    assert amended.status == TxStatus.DONE, amended.outcome
    reg.refresh_from_db()
    assert (reg.dispensing, reg.residential_institute) == (True, "HX"), "an item not sent is unchanged"
    step = next(s for s in amended.rule_trace if s["check"] == "registration details")
    assert step["result"] == "recorded" and "residential institute HX" in step["why"]

    process(world.gp_new, g2(43, GP, JANE, drugs_dispensed=None, residential_institute=None))
    reg.refresh_from_db()
    assert (reg.dispensing, reg.residential_institute) == (False, ""), "% erases"


def test_a_g1_without_dm_or_ric_stores_neither(world, patient):
    accepted = process(world.gp_new, g1(41, GP))[0]
    reg = Registration.objects.get(transaction=accepted)
    assert (reg.dispensing, reg.residential_institute) == (False, "")
