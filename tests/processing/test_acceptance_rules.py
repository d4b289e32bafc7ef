"""G1 acceptance, every rule and outcome, through the real pipeline: a GP system sends the interchange
over the MESH sandbox, PCRM stores, parses and decides it, and the replies are read from the outbox.

Each row is one situation the National Back Office meets, the outcome it expects, and the replies the
GP systems must get (transaction type -> the practice that receives it).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from factories import LinkFactory, PatientFactory
from processing_support import GP as GPSystem
from processing_support import g1, only_reply, process, replies

from exceptions.models import ExceptionCase
from pds.models import GPPeriod, Patient
from pds.selectors import get_patient
from pds.services import merge_patients
from registrations.models import OutboxItem, Registration, TxStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GP = "4826940,281"
JANE = "9434765919"


def _nothing(world):
    return None


@dataclass
class Row:
    id: str
    tx: Callable
    status: str
    kind: str | None = None
    replies: dict = field(default_factory=dict)
    setup: Callable = _nothing
    cipher: str | None = None
    settings: dict = field(default_factory=dict)
    via: str | None = None  # the HA link code the GP system addresses (UNB recipient), if not its own


def _patient_at(ods, number=JANE, **kw):
    def setup(world):
        PatientFactory(nhs_number=number, name=kw.pop("name", "STEVENS JANE"), registered_at=ods, **kw)

    return setup


def _unregistered(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE")


def _merged(world):
    # Jane's old number 9990000018 was merged into her retained record.
    retained = PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    duplicate = PatientFactory(nhs_number="9990000018", name="STEVENS JANE")
    merge_patients(
        retained=retained,
        duplicate=duplicate,
        retained_version=None,
        duplicate_version=None,
        by="test",
        reason="duplicate",
    )


def _merged_elsewhere(world):
    retained = PatientFactory(nhs_number=JANE, name="OTHERPERSON MARY", registered_at="B20002")
    duplicate = PatientFactory(nhs_number="9990000018", name="STEVENS JANE")
    merge_patients(
        retained=retained,
        duplicate=duplicate,
        retained_version=None,
        duplicate_version=None,
        by="test",
        reason="duplicate",
    )


def _registered_later(world):
    patient = PatientFactory(nhs_number=JANE, name="STEVENS JANE")
    GPPeriod.objects.create(patient=patient, practice_ods="B20002", start=dt.date(2026, 11, 20))


def _twins(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    PatientFactory(nhs_number="9434765870", name="STEVENS JANE", registered_at="C30003")


def _sibling(world):
    # A mistyped NHS number that lands on a real person: Jane's twin sister, same surname, birth date,
    # sex and address. Only the forename tells them apart.
    PatientFactory(nhs_number=JANE, name="STEVENS JOAN", registered_at="B20002")


def _born_7_may(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002", birth_date=dt.date(1980, 5, 7))


def _double_barrelled(world):
    PatientFactory(nhs_number=JANE, name="STEVENS-JONES MARY-JANE ANN", registered_at="B20002")


def _rejected_earlier(world):
    _patient_at("B20002")(world)
    process(world.gp_new, g1(40, GP), cipher="COV")


ROWS = [
    Row("transfer within the HA: F4 to the new GP, F2 reason 3 to the old",
        lambda w: g1(41, GP), "DONE", replies={"F4": "A10001", "F2": "B20002"}, setup=_patient_at("B20002")),
    Row("move between HAs: F2 reason 2 with the new HA",
        lambda w: g1(41, GP), "DONE", replies={"F4": "A10001", "F2": "C30003"}, setup=_patient_at("C30003")),
    Row("first registration anywhere: F4 only",
        lambda w: g1(41, GP, kind="2"), "DONE", replies={"F4": "A10001"}, setup=_unregistered),
    Row("previous practice not a GP Links partner: F4 only",
        lambda w: g1(41, GP), "DONE", replies={"F4": "A10001"}, setup=_patient_at("Z99999")),
    Row("previous practice under an HA still on NHAIS: F4 only",
        lambda w: g1(41, GP), "DONE", replies={"F4": "A10001"}, setup=_patient_at("K81001")),
    Row("type 3 transfer-in", lambda w: g1(41, GP, kind="3"), "DONE", replies={"F4": "A10001", "F2": "B20002"},
        setup=_patient_at("B20002")),
    Row("type 4 immigrant with an NHS number", lambda w: g1(41, GP, kind="4"), "DONE", replies={"F4": "A10001"},
        setup=_unregistered),
    Row("internal transfer (I) to another GP of the same practice: F4, no F2",
        lambda w: g1(41, "4826944,285", code="I"), "DONE", replies={"F4": "A10001"}, setup=_patient_at("A10001")),
    Row("same GP, new HA (S) at the practice PDS shows: F4",
        lambda w: g1(41, GP, code="S"), "DONE", replies={"F4": "A10001"}, setup=_patient_at("A10001")),
    Row("superseded number that agrees: re-keyed, F4 carries the retained number",
        lambda w: g1(41, GP, nhs_number="9990000018"), "DONE", replies={"F4": "A10001", "F2": "B20002"},
        setup=_merged),
    Row("R re-sent after our wrong-HA F3: approved",
        lambda w: g1(42, GP, code="R"), "DONE", replies={"F3": "A10001", "F4": "A10001", "F2": "B20002"},
        setup=_rejected_earlier),
    Row("wrong HA: F3 rejection quoting the TN", lambda w: g1(41, GP), "REJECTED", replies={"F3": "A10001"},
        setup=_patient_at("B20002"), cipher="COV"),
    Row("wrong HA with rejections switched off: a case", lambda w: g1(41, GP), "MANUAL", "INVALID_TRANSACTION",
        setup=_patient_at("B20002"), cipher="COV", settings={"PROCESSING_WRONG_HA_REJECTS": False}),
    Row("GP notes present", lambda w: g1(41, GP, free_text="PATIENT HAS A GUIDE DOG"), "MANUAL", "FREE_TEXT",
        setup=_patient_at("B20002")),
    Row("D: the practice disputes a deduction", lambda w: g1(41, GP, code="D"), "MANUAL", "ACCEPTANCE_CHECK",
        setup=_patient_at("B20002")),
    Row("R with no earlier rejection", lambda w: g1(41, GP, code="R"), "MANUAL", "ACCEPTANCE_CHECK",
        setup=_patient_at("B20002")),
    Row("I but PDS shows another practice", lambda w: g1(41, GP, code="I"), "MANUAL", "ACCEPTANCE_CHECK",
        setup=_patient_at("B20002")),
    Row("unknown GP code", lambda w: g1(41, "9999999,999"), "MANUAL", "UNKNOWN_GP", setup=_patient_at("B20002")),
    Row("breaks GP Links rules (type 3 without previous GP)",
        lambda w: g1(41, GP, kind="3", previous_gp=None), "MANUAL", "INVALID_TRANSACTION",
        setup=_patient_at("B20002")),
    Row("legacy NHS number", lambda w: g1(41, GP, nhs_number="RAT56"), "MANUAL", "LEGACY_NHS_NUMBER"),
    Row("NHS number unknown to PDS", lambda w: g1(41, GP, nhs_number="9999999999"), "MANUAL", "NO_TRACE"),
    Row("superseded number whose retained record differs", lambda w: g1(41, GP, nhs_number="9990000018"),
        "MANUAL", "SUPERSEDED_NUMBER", setup=_merged_elsewhere),
    Row("deceased", lambda w: g1(41, GP), "MANUAL", "DECEASED", setup=_patient_at("B20002", deceased=True)),
    Row("sensitive record", lambda w: g1(41, GP), "MANUAL", "SENSITIVE",
        setup=lambda w: Patient.objects.filter(pk=PatientFactory(nhs_number=JANE, name="STEVENS JANE",
                                                                  registered_at="B20002").pk).update(sensitive=True)),
    Row("surname differs", lambda w: g1(41, GP, surname="ZZYZX"), "MANUAL", "DEMOGRAPHIC_MISMATCH",
        setup=_patient_at("B20002")),
    Row("birth date differs", lambda w: g1(41, GP, birth_date=dt.date(1981, 5, 17)), "MANUAL",
        "DEMOGRAPHIC_MISMATCH", setup=_patient_at("B20002")),
    Row("sex differs", lambda w: g1(41, GP, sex="1"), "MANUAL", "DEMOGRAPHIC_MISMATCH", setup=_patient_at("B20002")),
    Row("already registered at this practice", lambda w: g1(41, GP), "MANUAL", "ALREADY_REGISTERED",
        setup=_patient_at("A10001")),
    Row("a later registration exists in PDS", lambda w: g1(41, GP), "MANUAL", "CONFLICTING_REGISTRATION",
        setup=_registered_later),
    Row("type 2 without an NHS number, nobody matches", lambda w: g1(41, GP, kind="2", nhs_number=None,
        place_of_birth="LEEDS", surname="NOBODYATALL"), "MANUAL", "NHS_NUMBER_ALLOCATION"),
    Row("type 2 without an NHS number, traced to one record: F4 carries it",
        lambda w: g1(41, GP, kind="2", nhs_number=None, place_of_birth="LEEDS"), "DONE",
        replies={"F4": "A10001", "F2": "B20002"}, setup=_patient_at("B20002")),
    Row("type 4 without an NHS number, two records fit equally", lambda w: g1(41, GP, kind="4", nhs_number=None,
        place_of_birth="LAGOS"), "MANUAL", "MULTIPLE_MATCHES", setup=_twins),
    Row("type 3 without an NHS number, nobody matches", lambda w: g1(41, GP, kind="3", nhs_number=None,
        place_of_birth="LEEDS", surname="NOBODYATALL"), "MANUAL", "NO_TRACE"),
    # Certain identity before any automatic change (issue #12)
    Row("mistyped NHS number lands on a twin: forename differs, a case and nothing sent",
        lambda w: g1(41, GP), "MANUAL", "DEMOGRAPHIC_MISMATCH", setup=_sibling),
    Row("different forename", lambda w: g1(41, GP, forenames=("SARAH",)), "MANUAL", "DEMOGRAPHIC_MISMATCH",
        setup=_patient_at("B20002")),
    Row("forename given as an initial: tolerated", lambda w: g1(41, GP, forenames=("J",)), "DONE",
        replies={"F4": "A10001", "F2": "B20002"}, setup=_patient_at("B20002")),
    Row("forenames in another order: tolerated", lambda w: g1(41, GP, forenames=("ANN", "JANE")), "DONE",
        replies={"F4": "A10001", "F2": "B20002"}, setup=_patient_at("B20002", name="STEVENS JANE ANN")),
    Row("hyphenated names sent with spaces: tolerated",
        lambda w: g1(41, GP, surname="STEVENS JONES", forenames=("MARY JANE",)), "DONE",
        replies={"F4": "A10001", "F2": "B20002"}, setup=_double_barrelled),
    Row("with an NHS number but no birth date: nothing confirms it", lambda w: g1(41, GP, kind="2", birth_date=None),
        "MANUAL", "DEMOGRAPHIC_MISMATCH", setup=_patient_at("B20002")),
    Row("with an NHS number, day and month transposed", lambda w: g1(41, GP, birth_date=dt.date(1980, 7, 5)),
        "MANUAL", "DEMOGRAPHIC_MISMATCH", setup=_born_7_may),
    Row("no NHS number and no birth date: surname and postcode never match", lambda w: g1(41, GP, kind="2",
        nhs_number=None, birth_date=None, place_of_birth="LEEDS"), "MANUAL", "MULTIPLE_MATCHES",
        setup=_patient_at("B20002")),
    Row("no NHS number, day and month transposed: a person chooses", lambda w: g1(41, GP, kind="2",
        nhs_number=None, birth_date=dt.date(1980, 7, 5), place_of_birth="LEEDS"), "MANUAL", "MULTIPLE_MATCHES",
        setup=_born_7_may),
    Row("no NHS number, the only candidate is the twin with another forename", lambda w: g1(41, GP, kind="2",
        nhs_number=None, place_of_birth="LEEDS"), "MANUAL", "MULTIPLE_MATCHES", setup=_sibling),
    # HA boundaries (issue #12 point 5)
    Row("NAD+FHS names an HA still on NHAIS: never processed, nothing sent", lambda w: g1(41, GP), "MANUAL",
        "INVALID_TRANSACTION", setup=_patient_at("B20002"), cipher="BE"),
    Row("NAD+FHS names an HA not in reference data", lambda w: g1(41, GP), "MANUAL", "INVALID_TRANSACTION",
        setup=_patient_at("B20002"), cipher="ZZ9"),
    Row("NAD+FHS is the practice's HA but the interchange reached another HA: F3", lambda w: g1(41, GP),
        "REJECTED", replies={"F3": "A10001"}, setup=_patient_at("B20002"), cipher="XX1", via="COV1"),
    Row("no NHS number, hyphenated names: traced", lambda w: g1(41, GP, kind="2", nhs_number=None,
        surname="STEVENS JONES", forenames=("MARY JANE",), place_of_birth="LEEDS"), "DONE",
        replies={"F4": "A10001", "F2": "B20002"}, setup=_double_barrelled),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_acceptance(row, world, settings):
    for name, value in row.settings.items():
        setattr(settings, name, value)
    row.setup(world)
    sender = world.gp_new
    if row.via:
        LinkFactory(practice=world.new, ha=world.cov)  # authenticated for COV1, but its HA is XX1
        sender = GPSystem(world.gp_new.mesh_as, world.new, row.via)
    tx = process(sender, row.tx(world), cipher=row.cipher)[-1]

    assert tx.status == row.status, tx.outcome
    cases = list(ExceptionCase.objects.filter(transaction=tx))
    if row.kind:
        assert [c.kind for c in cases] == [row.kind]
        case = cases[0]
        assert case.rule_trace and case.rule_trace == tx.rule_trace
        assert case.evidence["transaction"]["tn"] == tx.tn
        assert any(step["result"] for step in case.rule_trace)
    else:
        assert cases == []
    # The exact list: a second F4 or F2 would be a bug, so no dict that would swallow it.
    sent = sorted((item.tx_type, item.link.practice.ods_code) for item in replies())
    assert sent == sorted(row.replies.items())


def test_approval_updates_pds_and_history_and_answers_both_practices(world, patient):
    tx = process(world.gp_new, g1(41, GP))[0]

    periods = {p.practice_ods: p for p in GPPeriod.objects.filter(patient=patient)}
    assert periods["B20002"].end == dt.date(2026, 11, 2)
    assert periods["A10001"].start == dt.date(2026, 11, 2) and periods["A10001"].end is None
    reg = Registration.objects.get(transaction=tx)
    assert (reg.practice.ods_code, reg.gp.gp_code, reg.acceptance_code, reg.acceptance_type) == ("A10001", GP, "A", "1")
    f4, f2 = replies()
    assert (f4.tx_type, f4.quoted_tn, f4.payload) == ("F4", 41, {"gp_code": GP})
    assert f2.payload == {
        "gp_code": "4826941,282",
        "deduction_reason": "3",
        "deduction_date": "2026-11-02",
        "nhs_number": JANE,
    }
    checks = [s["check"] for s in tx.rule_trace]
    assert checks[:3] == ["validation", "GP code", "health authority"]
    assert "reply" in checks and "deduction" in checks


def test_move_between_has_sends_reason_2_with_the_new_ha(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="C30003")
    process(world.gp_new, g1(41, GP))
    f2 = only_reply("F2")
    assert (f2.payload["deduction_reason"], f2.payload["new_ha"], f2.ha_cipher) == ("2", "XX1", "COV")


def test_superseded_number_is_rekeyed_and_the_approval_carries_the_retained_number(world):
    _merged(world)
    tx = process(world.gp_new, g1(41, GP, nhs_number="9990000018"))[0]
    f4 = only_reply("F4")
    assert f4.payload == {"gp_code": GP, "nhs_number": JANE}
    assert get_patient(JANE).patient.current_gp.practice_ods == "A10001"
    assert any(s["result"] == "superseded, re-keyed" for s in tx.rule_trace)


def test_wrong_ha_rejection_says_which_ha(world, patient):
    process(world.gp_new, g1(41, GP), cipher="COV")
    f3 = only_reply("F3")
    assert f3.quoted_tn == 41 and f3.payload["free_text"].startswith("WRONG HA - TRY ")
    assert not GPPeriod.objects.filter(practice_ods="A10001").exists(), "PDS untouched"


def test_every_case_explains_itself_with_evidence(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    tx = process(world.gp_new, g1(41, GP, surname="ZZYZX"))[0]
    case = ExceptionCase.objects.get(transaction=tx)
    assert case.nhs_number == JANE and case.practice_ods == "A10001" and case.ha_cipher == "XX1"
    assert case.evidence["pds"]["surname"] == "STEVENS" and case.evidence["pds"]["version"] == 1
    assert case.evidence["practice"]["ods_code"] == "A10001"
    last = case.rule_trace[-1]
    assert (last["check"], last["result"]) == ("demographics", "differ") and "surname" in last["why"]


def test_a_trace_without_a_birth_date_shows_the_candidates_and_changes_nothing(world):
    patient = PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    tx = process(world.gp_new, g1(41, GP, kind="2", nhs_number=None, birth_date=None, place_of_birth="LEEDS"))[0]

    case = ExceptionCase.objects.get(transaction=tx)
    assert case.kind == "MULTIPLE_MATCHES" and replies() == []
    assert [c["nhs_number"] for c in case.evidence["candidates"]] == [JANE]
    assert case.evidence["candidates"][0]["score"] < 0.85, "not normalised over the items supplied"
    step = next(s for s in tx.rule_trace if s["check"] == "PDS trace")
    assert step["result"] == "no birth date" and "never matches" in step["why"]
    assert not GPPeriod.objects.filter(patient=patient, practice_ods="A10001").exists(), "PDS untouched"


def test_a_twin_reached_by_a_mistyped_number_is_named_in_the_trace(world):
    _sibling(world)
    tx = process(world.gp_new, g1(41, GP))[0]
    step = next(s for s in tx.rule_trace if s["check"] == "demographics")
    assert step["result"] == "differ" and "forename" in step["why"] and "birth date" not in step["why"]
    assert replies() == []


def test_competing_acceptances_from_two_practices_go_to_a_person(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="Z99999")
    first = process(world.gp_old, g1(41, "4826941,282", free_text="NEW PATIENT"))[0]
    second = process(world.gp_new, g1(42, GP))[0]
    assert first.status == TxStatus.MANUAL and second.status == TxStatus.MANUAL
    assert ExceptionCase.objects.get(transaction=second).kind == "CONFLICTING_REGISTRATION"


def test_trace_supplies_the_number_and_the_case_shows_candidates_with_reasons(world):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    tx = process(world.gp_new, g1(41, GP, kind="2", nhs_number=None, place_of_birth="LEEDS"))[0]
    assert only_reply("F4").payload == {"gp_code": GP, "nhs_number": JANE}
    assert any(s["check"] == "PDS trace" and s["result"] == "one match" for s in tx.rule_trace)

    other = process(world.gp_new, g1(42, GP, nhs_number="9999999999"))[0]
    case = ExceptionCase.objects.get(transaction=other)
    assert case.kind == "NO_TRACE" and case.rule_trace[-1]["result"] == "not found"
    best = case.evidence["candidates"][0]
    assert best["nhs_number"] == JANE and best["score"] >= 0.85
    assert {m["item"] for m in best["matches"]} >= {"surname", "forename", "birth date"}


def test_a_case_stopped_by_policy_still_shows_who_the_patient_is(world, patient):
    tx = process(world.gp_new, g1(41, GP, free_text="PATIENT HAS A GUIDE DOG"))[0]
    case = ExceptionCase.objects.get(transaction=tx)
    assert case.evidence["pds"]["nhs_number"] == JANE
    assert case.evidence["registrations"] == []
    assert case.rule_trace[-1]["check"] == "GP notes", "the look-up is evidence, not the reason"


def test_same_gp_new_ha_closes_the_old_has_list_with_reason_6(world, mesh_as):
    from factories import LinkFactory
    from processing_support import GP as GPSystem

    LinkFactory(practice=world.far, ha=world.xx1)  # a boundary practice, linked to both HAs
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="C30003")
    via_xx1 = GPSystem(mesh_as, world.far, "XX11")
    tx = process(via_xx1, g1(41, "4826942,283", code="S", kind="3", previous_ha="COV"), cipher="XX1")[0]

    assert tx.status == TxStatus.DONE, tx.outcome
    f4, f2 = replies()
    assert (f4.tx_type, f4.ha_cipher, f4.link.practice.ods_code) == ("F4", "XX1", "C30003")
    assert (f2.tx_type, f2.ha_cipher, f2.payload["deduction_reason"]) == ("F2", "COV", "6")
    assert GPPeriod.objects.get(patient__nhs_number=JANE).practice_ods == "C30003", "PDS unchanged"


def test_no_reply_on_a_link_an_nhais_ha_still_runs(world):
    """A practice under an HA still on NHAIS writes to PCRM's HA by mistake: PCRM must not answer on
    NHAIS's link (it would break NHAIS's numbering), so a person sorts it out."""
    from processing_support import GP as GPSystem

    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    stray = GPSystem(world.gp_new.mesh_as, world.nhais, "XX11")
    # There is no NHA5-XX11 link, so the partner is not authenticated for it: nothing is read or answered.
    assert process(stray, g1(41, "4826943,284"), cipher="XX1") == []
    case = ExceptionCase.objects.get()
    assert case.kind == "UNAUTHENTICATED_PARTNER" and "no link between NHA5 and XX11" in case.summary
    assert replies() == [] and not OutboxItem.objects.exists()
