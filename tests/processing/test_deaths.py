"""Deaths PDS learns of from elsewhere (#12 point 2): a formal death deducts once (F2 reason 1 with the
date of death to the practice), an informal one opens a case, a practice on NHAIS is left alone."""

import datetime as dt

import pytest
from factories import PatientFactory
from processing_support import g5, only_reply, process, replies
from test_remote_pds import remote_pds  # noqa: F401  (the fixture)

from exceptions.models import ExceptionCase
from pds.models import GPPeriod
from pds.services import record_death
from registrations.models import DeathNotice, Registration, TxStatus
from registrations.services import deaths
from registrations.tasks import act_on_deaths

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
JANE = "9434765919"
DIED = dt.date(2026, 11, 20)
TODAY = dt.date(2026, 11, 23)


def _died(world, ods="A10001", status="formal", number=JANE):
    patient = PatientFactory(nhs_number=number, name="STEVENS JANE", registered_at=ods)
    # PCRM registered her with Dr 281, so the F2 can name her GP (A10001 has two).
    gp = world.gps["new"] if ods == "A10001" else None
    if gp is not None:
        Registration.objects.create(nhs_number=number, practice=gp.practice, gp=gp, acceptance_date=dt.date(2020, 1, 6))
    record_death(patient, date=DIED, status=status, expected_version=None, by="gro", reason="death registered")
    return patient


def test_a_formal_death_deducts_once_with_reason_1_and_the_date_of_death(world):
    patient = _died(world)
    assert deaths.sweep(today=TODAY) == [DeathNotice.objects.get().pk]

    f2 = only_reply("F2")
    assert (f2.link.practice.ods_code, f2.status, f2.payload["gp_code"]) == ("A10001", "QUEUED", GP)
    assert (f2.payload["deduction_reason"], f2.payload["deduction_date"], f2.payload["nhs_number"]) == (
        "1",
        "2026-11-20",
        JANE,
    )
    period = GPPeriod.objects.get(patient=patient)
    assert (period.end, period.removal_reason) == (DIED, "1"), "registration ended"
    notice = DeathNotice.objects.get()
    assert notice.outcome == "DEDUCTED" and notice.deduction == f2
    assert notice.rule_trace[0]["check"] == "death in PDS" and "formal death" in notice.rule_trace[0]["why"]

    assert deaths.sweep(today=TODAY) == [] and deaths.act_on_death(JANE) is None, "once"
    assert act_on_deaths.apply().get() == 0
    assert len(replies(tx_type="F2")) == 1


def test_an_informal_death_opens_one_case_and_sends_nothing(world):
    _died(world, status="informal")
    deaths.sweep(today=TODAY)
    deaths.sweep(today=TODAY)

    case = ExceptionCase.objects.get()
    assert (case.kind, case.nhs_number, case.practice_ods) == ("DECEASED", JANE, "A10001")
    assert case.rule_trace[0]["result"] == "informal"
    assert replies() == []
    assert GPPeriod.objects.get(patient__nhs_number=JANE).end is None, "registration kept until verified"


def test_a_death_at_a_practice_still_on_nhais_is_left_to_nhais(world):
    _died(world, ods="K81001")
    assert deaths.sweep(today=TODAY) == [] and deaths.act_on_death(JANE) is None
    assert replies() == [] and not DeathNotice.objects.exists()


def test_the_practices_own_death_request_afterwards_changes_nothing(world):
    _died(world)
    deaths.sweep(today=TODAY)
    tx = process(world.gp_new, g5(53, GP, JANE, "1", on=DIED))[0]
    assert tx.status == TxStatus.DONE and "Already deducted" in tx.outcome
    assert len(replies(tx_type="F2")) == 1 and not ExceptionCase.objects.exists()


@pytest.mark.usefixtures("remote_pds")
def test_with_a_remote_pds_the_sweep_reads_the_patients_pcrm_registered(world):
    """The FHIR API cannot list deaths: the sweep reads each patient PCRM holds a registration for, and
    the deduction goes to PDS as a PATCH (the local store is not touched: remote_pds makes it fail)."""
    patient = _died(world)
    assert deaths.sweep(today=TODAY) == [DeathNotice.objects.get().pk]
    f2 = only_reply("F2")
    assert (f2.payload["deduction_reason"], f2.payload["deduction_date"]) == ("1", DIED.isoformat())
    # Ended in PDS through the API, which dates the end itself (RemoteGateway.end_registration).
    assert GPPeriod.objects.get(patient=patient).end is not None
    assert deaths.sweep(today=TODAY) == [], "once"
