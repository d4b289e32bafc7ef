"""G2 amendments, G3 removals and G5 deduction requests through the real pipeline, row by row."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.utils import timezone
from factories import PatientFactory
from processing_support import address, g2, g3, g5, only_reply, process, replies

from exceptions.models import ExceptionCase
from pds.models import GPPeriod, Patient
from pds.selectors import get_patient
from pds.services import change_address, record_death
from registrations.models import FP69Flag
from registrations.rules.base import Trace
from registrations.services import fp69
from registrations.services.apply import change_address as apply_address

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
JANE = "9434765919"


def _at(ods="A10001", **kw):
    def setup(world):
        return PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at=ods, **kw)

    return setup


def _dead(world):
    patient = _at()(world)
    record_death(patient, date=dt.date(2026, 10, 30), status="formal", expected_version=None, by="test", reason="t")


def _sensitive(world):
    Patient.objects.filter(pk=_at()(world).pk).update(sensitive=True)


def _flagged(world):
    _at()(world)
    fp69.mark_returned_mail(JANE, by="test", on=dt.date(2026, 10, 1))


def _in_days(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


NEW_ADDRESS = address(road="7 NEW STREET", town="LEEDS", postcode="LS2 7AB")


@dataclass
class Row:
    id: str
    tx: Callable
    status: str
    kind: str | None = None
    replies: dict = field(default_factory=dict)
    setup: Callable = _at()
    settings: dict = field(default_factory=dict)
    cipher: str | None = None


ROWS = [
    # G2 amendments
    Row("address change goes to PDS", lambda: g2(51, GP, JANE, address=NEW_ADDRESS), "DONE"),
    Row("address with a bad postcode", lambda: g2(51, GP, JANE, address=address(postcode="NOT A PC")), "MANUAL",
        "INVALID_ADDRESS"),
    Row("address with the postcode erased", lambda: g2(51, GP, JANE, address=address(postcode=None)), "MANUAL",
        "INVALID_ADDRESS"),
    Row("address with neither house nor road", lambda: g2(51, GP, JANE, address=address(road="", house="")),
        "MANUAL", "INVALID_TRANSACTION"),
    Row("surname change is a request", lambda: g2(51, GP, JANE, surname="JONES"), "MANUAL", "DEMOGRAPHIC_CHANGE"),
    Row("birth date change is a request", lambda: g2(51, GP, JANE, birth_date=dt.date(1980, 5, 18)), "MANUAL",
        "DEMOGRAPHIC_CHANGE"),
    Row("sex change is a request", lambda: g2(51, GP, JANE, sex="1"), "MANUAL", "DEMOGRAPHIC_CHANGE"),
    Row("the same surname again changes nothing", lambda: g2(51, GP, JANE, surname="STEVENS"), "DONE"),
    Row("drugs dispensed only: recorded", lambda: g2(51, GP, JANE, drugs_dispensed="Y"), "DONE"),
    Row("from a practice the patient has left", lambda: g2(51, GP, JANE, address=NEW_ADDRESS), "MANUAL",
        "CONFLICTING_REGISTRATION", setup=_at("B20002")),
    Row("reply to an FP69 notice", lambda: g2(51, GP, JANE, free_text="PATIENT SEEN 1/10/26 STILL AT ADDRESS"),
        "MANUAL", "FP69_RESPONSE", setup=_flagged),
    Row("sensitive record", lambda: g2(51, GP, JANE, address=NEW_ADDRESS), "MANUAL", "SENSITIVE", setup=_sensitive),
    Row("deceased patient", lambda: g2(51, GP, JANE, address=NEW_ADDRESS), "MANUAL", "DECEASED", setup=_dead),
    Row("unknown patient", lambda: g2(51, GP, "9999999999", address=NEW_ADDRESS), "MANUAL", "NO_TRACE"),
    # G3 removals
    Row("out-of-area removal is reviewed", lambda: g3(52, GP, JANE), "MANUAL", "REMOVAL_REVIEW"),
    Row("removal of a patient PDS does not know", lambda: g3(52, GP, "9999999999"), "MANUAL", "NO_TRACE"),
    # G5 deduction requests
    Row("death confirmed by PDS: F2 reason 1", lambda: g5(53, GP, JANE, "1"), "DONE", replies={"F2": "A10001"},
        setup=_dead),
    Row("death not known to PDS", lambda: g5(53, GP, JANE, "1"), "MANUAL", "DEDUCTION_REVIEW"),
    Row("emigration: F2 reason 5", lambda: g5(53, GP, JANE, "5"), "DONE", replies={"F2": "A10001"}),
    Row("emigration set to review", lambda: g5(53, GP, JANE, "5"), "MANUAL", "DEDUCTION_REVIEW",
        settings={"PROCESSING_EMIGRATION_AUTO": False}),
    Row("other reason", lambda: g5(53, GP, JANE, "13", free_text="LEFT THE AREA"), "MANUAL", "DEDUCTION_REVIEW"),
    Row("a reason a GP may not ask for", lambda: g5(53, GP, JANE, "2"), "MANUAL", "INVALID_TRANSACTION"),
    Row("patient not on this practice's list", lambda: g5(53, GP, JANE, "5"), "MANUAL", "DEDUCTION_REVIEW",
        setup=_at("B20002")),
    Row("sensitive record", lambda: g5(53, GP, JANE, "5"), "MANUAL", "SENSITIVE", setup=_sensitive),
    Row("unknown GP", lambda: g5(53, "9999999,999", JANE, "5"), "MANUAL", "UNKNOWN_GP"),
    # Held deductions and deaths (issue #12 points 2 and 3)
    Row("emigration dated in the future: held, nothing sent yet", lambda: g5(53, GP, JANE, "5", on=_in_days(9)),
        "DONE"),
    Row("out-of-area removal starts the notice itself when allowed", lambda: g3(52, GP, JANE), "DONE",
        settings={"PROCESSING_REMOVAL_AUTO": True}),
    Row("out-of-area removal of a restricted record is reviewed even when allowed", lambda: g3(52, GP, JANE),
        "MANUAL", "REMOVAL_REVIEW", setup=_sensitive, settings={"PROCESSING_REMOVAL_AUTO": True}),
    # HA boundaries (issue #12 point 5)
    Row("amendment for an HA still on NHAIS: never processed", lambda: g2(51, GP, JANE, address=NEW_ADDRESS),
        "MANUAL", "INVALID_TRANSACTION", cipher="BE"),
    Row("deduction request naming another PCRM HA than the one it reached", lambda: g5(53, GP, JANE, "5"),
        "MANUAL", "INVALID_TRANSACTION", cipher="COV"),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.tx().type} {r.id}" for r in ROWS])
def test_patient_transaction(row, world, settings):
    for name, value in row.settings.items():
        setattr(settings, name, value)
    row.setup(world)
    tx = process(world.gp_new, row.tx(), cipher=row.cipher)[-1]

    assert tx.status == row.status, tx.outcome
    cases = list(ExceptionCase.objects.filter(transaction=tx))
    assert [c.kind for c in cases] == ([row.kind] if row.kind else [])
    for case in cases:
        assert case.rule_trace == tx.rule_trace and case.evidence["transaction"]["tn"] == tx.tn
    sent = sorted((i.tx_type, i.link.practice.ods_code) for i in replies() if i.caused_by_id == tx.pk)
    assert sent == sorted(row.replies.items())  # the exact list: a second reply of a type is not swallowed


def test_address_change_replaces_the_whole_address_in_pds(world):
    patient = _at()(world)
    process(world.gp_new, g2(51, GP, JANE, address=NEW_ADDRESS))
    current = get_patient(JANE).patient.current_address
    assert (current.road, current.post_town, current.postcode) == ("7 NEW STREET", "LEEDS", "LS2 7AB")
    assert get_patient(JANE).patient.version == patient.version + 1


def test_an_unsent_postcode_is_kept_and_an_erased_line_is_blank(world):
    _at()(world)
    process(world.gp_new, g2(51, GP, JANE, address=address(house="ROSE COTTAGE", road=None, postcode="")))
    current = get_patient(JANE).patient.current_address
    assert (current.house, current.road, current.postcode) == ("ROSE COTTAGE", "", "LS1 4AP")


def test_demographic_request_shows_both_sides_and_applies_the_address(world):
    _at()(world)
    tx = process(world.gp_new, g2(51, GP, JANE, surname="JONES", forenames=["JANET"], address=NEW_ADDRESS))[0]
    case = ExceptionCase.objects.get(transaction=tx)
    changes = {c["item"]: (c["pds"], c["requested"]) for c in case.evidence["requested_changes"]}
    assert changes == {"surname": ("STEVENS", "JONES"), "forenames": (["JANE"], ["JANET"])}
    assert get_patient(JANE).patient.current_address.road == "7 NEW STREET", "the address went ahead"
    assert get_patient(JANE).patient.usual_name.family == "STEVENS", "the name waits for a person"
    assert "address already updated" in case.summary


def test_version_conflict_on_an_address_is_reread_and_applied(world):
    stale = _at()(world)
    # Someone else changes the record after processing read it: the version PCRM holds is now stale.
    change_address(
        get_patient(JANE).patient,
        address={"road": "9 OTHER ROAD", "post_town": "LEEDS", "postcode": "LS3 1AA"},
        start=dt.date(2026, 11, 1),
        expected_version=None,
        by="other",
        reason="x",
    )
    trace = Trace()
    values = {
        "house": "",
        "road": "7 NEW STREET",
        "locality": "",
        "post_town": "LEEDS",
        "county": "",
        "postcode": "LS2 7AB",
    }
    after = apply_address(stale, values, reason="test", trace=trace)
    assert [s["result"] for s in trace.steps] == ["version conflict", "address changed"]
    assert after.version == 3 and get_patient(JANE).patient.current_address.road == "7 NEW STREET"


def test_death_deduction_ends_the_registration_and_tells_the_practice(world):
    _dead(world)
    tx = process(world.gp_new, g5(53, GP, JANE, "1", free_text="DIED AT HOME"))[0]
    f2 = only_reply("F2")
    assert f2.payload == {"gp_code": GP, "deduction_reason": "1", "deduction_date": "2026-10-30", "nhs_number": JANE}
    period = GPPeriod.objects.get(patient__nhs_number=JANE, practice_ods="A10001")
    assert period.end == dt.date(2026, 10, 30) and period.removal_reason == "1"
    assert "death in PDS" in [s["check"] for s in tx.rule_trace]


def test_deduction_ends_an_open_fp69_notice(world):
    _flagged(world)
    process(world.gp_new, g5(53, GP, JANE, "5"))
    assert FP69Flag.objects.get().status == "SUPERSEDED"


def test_deduction_for_a_superseded_number_answers_with_the_number_the_gp_used(world):
    from pds.services import merge_patients

    retained = _at()(world)
    duplicate = PatientFactory(nhs_number="9990000018", name="STEVENS JANE")
    merge_patients(
        retained=retained,
        duplicate=duplicate,
        retained_version=None,
        duplicate_version=None,
        by="test",
        reason="duplicate",
    )
    tx = process(world.gp_new, g5(53, GP, "9990000018", "5"))[0]
    assert tx.status == "DONE"
    assert only_reply("F2").payload["nhs_number"] == "9990000018"
    assert GPPeriod.objects.get(patient=retained).end == dt.date(2026, 10, 30)
