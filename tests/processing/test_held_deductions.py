"""Deductions that wait (#12 point 3): an approved out-of-area removal (G3) gives the patient notice and
deducts at the end unless they register elsewhere; any deduction dated in the future (G3 or G5) waits
for its date. Through the real pipeline, the resolution services and the beat job."""

import datetime as dt

import pytest
from django.utils import timezone
from factories import PatientFactory
from processing_support import g1, g3, g5, only_reply, process, replies

from exceptions.models import ExceptionCase
from exceptions.services import resolution
from pds.models import GPPeriod
from registrations.models import PendingDeduction, TxStatus
from registrations.models import Transaction as TxRow
from registrations.selectors import waiting_deduction
from registrations.services import pending
from registrations.tasks import deduct_held

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
JANE = "9434765919"


@pytest.fixture
def jane(world):
    return PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="A10001")


def _approved_removal(world, agent, **kw):
    tx = process(world.gp_new, g3(52, GP, JANE))[0]
    resolution.approve_removal(
        ExceptionCase.objects.get(transaction=tx), by=agent, reason_code="OUT_OF_AREA_CONFIRMED", **kw
    )
    return tx


def test_an_approved_removal_waits_thirty_days_then_deducts_with_the_removal_reason(world, agent, jane):
    today = timezone.localdate()
    tx = _approved_removal(world, agent)

    held = PendingDeduction.objects.get()
    assert (held.status, held.due_on, held.reason, held.practice.ods_code) == (
        "PENDING",
        today + dt.timedelta(days=30),
        "9",
        "A10001",
    )
    assert held.transaction_id == tx.pk and held.case_id == ExceptionCase.objects.get(transaction=tx).pk
    assert replies() == [], "nothing is sent while the patient has notice"
    assert GPPeriod.objects.get(patient=jane).end is None, "PDS unchanged"
    assert waiting_deduction(JANE) == held, "visible while it waits"

    assert pending.deduct_due(today=held.due_on - dt.timedelta(days=1)) == []
    assert pending.deduct_due(today=held.due_on) == [held.pk]
    held.refresh_from_db()
    assert held.status == "DEDUCTED"
    f2 = only_reply("F2")
    assert (f2.payload["deduction_reason"], f2.payload["deduction_date"]) == ("9", held.due_on.isoformat())
    assert GPPeriod.objects.get(patient=jane).end == held.due_on
    tx.refresh_from_db()
    assert [s["result"] for s in tx.rule_trace if s["check"] == "pending deduction"] == ["due"]
    assert pending.deduct_due(today=held.due_on) == [], "once"


def test_the_notice_period_is_a_setting(world, agent, jane, settings):
    settings.REMOVAL_NOTICE_DAYS = 14
    _approved_removal(world, agent)
    assert PendingDeduction.objects.get().due_on == timezone.localdate() + dt.timedelta(days=14)


def test_registering_elsewhere_cancels_the_removal(world, agent, jane):
    _approved_removal(world, agent)
    moved = process(world.gp_old, g1(61, "4826941,282"))[0]
    assert moved.status == TxStatus.DONE, moved.outcome

    held = PendingDeduction.objects.get()
    assert held.status == "CANCELLED" and "registered with B20002" in held.note
    step = next(s for s in moved.rule_trace if s["check"] == "pending deduction")
    assert step["result"] == "cancelled"
    assert pending.deduct_due(today=held.due_on) == []
    # The transfer's own F2 (reason 3) to the practice left is the only deduction sent.
    assert only_reply("F2").payload["deduction_reason"] == "3"


def test_a_removal_found_elsewhere_on_its_date_is_cancelled_not_sent(world, agent, jane):
    _approved_removal(world, agent)
    GPPeriod.objects.filter(patient=jane).update(practice_ods="C30003")  # moved by a route outside PCRM
    held = PendingDeduction.objects.get()
    assert pending.deduct_due(today=held.due_on) == [held.pk]
    held.refresh_from_db()
    assert held.status == "CANCELLED" and "C30003" in held.note
    assert replies() == []


def test_an_immediate_removal_deducts_now(world, agent, jane):
    tx = process(world.gp_new, g3(52, GP, JANE))[0]
    resolution.approve_removal(ExceptionCase.objects.get(transaction=tx), by=agent, reason_code="IMMEDIATE")
    assert only_reply("F2").payload["deduction_date"] == timezone.localdate().isoformat()
    assert not PendingDeduction.objects.exists()


def test_a_clean_removal_starts_the_notice_itself_when_allowed(world, jane, settings):
    settings.PROCESSING_REMOVAL_AUTO = True
    tx = process(world.gp_new, g3(52, GP, JANE))[0]
    assert tx.status == TxStatus.DONE and "pending until" in tx.outcome
    assert PendingDeduction.objects.get().due_on == timezone.localdate() + dt.timedelta(days=30)
    assert replies() == [] and not ExceptionCase.objects.exists()
    assert any(s["check"] == "removal" and s["result"] == "notice period" for s in tx.rule_trace)


def test_a_future_dated_deduction_request_waits_for_its_date(world, jane):
    on = timezone.localdate() + dt.timedelta(days=12)
    tx = process(world.gp_new, g5(53, GP, JANE, "5", on=on))[0]
    assert tx.status == TxStatus.DONE and f"held until {on}" in tx.outcome
    held = PendingDeduction.objects.get()
    assert (held.due_on, held.reason) == (on, "5") and replies() == []
    step = next(s for s in tx.rule_trace if s["check"] == "deduction")
    assert step["result"] == f"held until {on}"

    assert deduct_held.apply().get() == 0, "not due today"
    assert pending.deduct_due(today=on) == [held.pk]
    f2 = only_reply("F2")
    assert (f2.payload["deduction_reason"], f2.payload["deduction_date"]) == ("5", on.isoformat())


def test_a_person_approving_a_future_dated_deduction_holds_it(world, agent, jane):
    on = timezone.localdate() + dt.timedelta(days=5)
    tx = process(world.gp_new, g5(53, GP, JANE, "13", on=on, free_text="LEFT THE AREA"))[0]
    resolution.approve_deduction(ExceptionCase.objects.get(transaction=tx), by=agent, reason_code="REASON_ACCEPTED")
    assert PendingDeduction.objects.get().due_on == on and replies() == []
    assert TxRow.objects.get(pk=tx.pk).status == TxStatus.DONE
