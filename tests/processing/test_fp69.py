"""The FP69 cycle: returned mail -> F9 with an expiry -> F10 when the address is confirmed, or F2 when
the notice runs out (the beat job)."""

import datetime as dt

import pytest
from factories import PatientFactory
from processing_support import only_reply

from pds.models import GPPeriod
from registrations.models import FP69Flag
from registrations.services import fp69
from registrations.tasks import expire_fp69_flags

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

JANE = "9434765919"


@pytest.fixture
def jane(world):
    return PatientFactory(nhs_number=JANE, name="STEVENS JANE MARY", registered_at="A10001")


def test_returned_mail_sends_an_f9_with_a_six_month_expiry(jane):
    flag = fp69.mark_returned_mail(JANE, by="agent", on=dt.date(2026, 11, 3), free_text="Letter returned")
    assert (flag.expires_on, flag.reason, flag.practice.ods_code) == (dt.date(2027, 5, 3), "8", "A10001")
    f9 = only_reply("F9")
    assert f9.payload == {
        "gp_code": "4826940,281",
        "fp69_reason": "8",
        "fp69_expiry": "2027-05-03",
        "nhs_number": JANE,
        "surname": "STEVENS",
        "forenames": ["JANE", "MARY"],
        "birth_date": "1980-05-17",
        "free_text": "LETTER RETURNED",
        "address": {
            "house": "",
            "road": "1 HIGH STREET",
            "locality": "",
            "post_town": "LEEDS",
            "county": "",
            "postcode": "LS1 4AP",
        },
    }


def test_the_notice_period_is_a_setting(jane, settings):
    settings.FP69_EXPIRY_MONTHS = 3
    assert fp69.mark_returned_mail(JANE, by="agent", on=dt.date(2026, 11, 30)).expires_on == dt.date(2027, 2, 28)


def test_one_open_notice_at_a_time_and_only_for_registered_patients(jane):
    fp69.mark_returned_mail(JANE, by="agent")
    with pytest.raises(fp69.AlreadyFlagged):
        fp69.mark_returned_mail(JANE, by="agent")
    PatientFactory(nhs_number="9434765870", name="SMITH ANNE")
    with pytest.raises(fp69.NotRegistered):
        fp69.mark_returned_mail("9434765870", by="agent")


def test_removing_the_flag_sends_f10(jane):
    fp69.mark_returned_mail(JANE, by="agent")
    flag = fp69.remove_flag(JANE, by="agent")
    assert flag.status == "REMOVED" and flag.closing.tx_type == "F10"
    with pytest.raises(fp69.NoOpenFlag):
        fp69.remove_flag(JANE, by="agent")


def test_expiry_deducts_with_the_configured_reason(jane, settings):
    fp69.mark_returned_mail(JANE, by="agent", on=dt.date(2026, 5, 1))
    assert fp69.expire_due(today=dt.date(2026, 10, 31)) == [], "not yet"

    settings.FP69_EXPIRY_DEDUCTION_REASON = "13"
    assert expire_fp69_flags.apply().get() == 1

    flag = FP69Flag.objects.get()
    assert (flag.status, flag.closing.tx_type) == ("EXPIRED", "F2")
    f2 = only_reply("F2")
    assert (f2.payload["deduction_reason"], f2.payload["deduction_date"]) == ("13", "2026-11-01")
    period = GPPeriod.objects.get(patient=jane)
    assert period.end == dt.date(2026, 11, 1) and period.removal_reason == "13"
    assert expire_fp69_flags.apply().get() == 0, "each notice expires once"


def test_default_expiry_reason_is_returned_undelivered(jane):
    fp69.mark_returned_mail(JANE, by="agent", on=dt.date(2026, 1, 1))
    fp69.expire_due(today=dt.date(2026, 11, 3))
    assert only_reply("F2").payload["deduction_reason"] == "14"
