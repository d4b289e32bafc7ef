"""Shadow run: PCRM's real rules decide NHAIS's traffic without any effect, and each transaction type's
decision is compared with NHAIS's answer (agreed, disagreed, unmatched), with the rule trace kept."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from factories import PatientFactory
from support_migration import person, write_interchange

from exceptions.models import AuditEvent, ExceptionCase
from migration.models import ShadowResult
from migration.services.shadow import run_shadow
from pds.models import Patient
from registrations.models import HealthAuthority, Interchange, OutboxItem, Registration, Transaction

pytestmark = pytest.mark.django_db

GP1 = "4800110,110"  # at K81001, link PAL5
GP2 = "4800120,120"  # at K81002, link PAM5


class Files:
    """GP->HA interchanges NHAIS received, and the HA->GP answers it sent, numbered per link."""

    def __init__(self, tmp_path):
        self.inbound, self.outbound = tmp_path / "inbound", tmp_path / "nhais"
        self.inbound.mkdir()
        self.outbound.mkdir()
        self.sis: dict[str, int] = {}
        self.ha_tn = 900

    def _next(self, key: str) -> int:
        self.sis[key] = self.sis.get(key, 0) + 1
        return self.sis[key]

    def gp(self, link: str, tx: dict) -> dict:
        write_interchange(self.inbound, link, "BE01", self._next("in" + link), tx)
        return tx

    def nhais(self, link: str, kind: str, **items) -> None:
        if kind not in ("F3", "F4"):
            self.ha_tn += 1
            items.setdefault("tn", self.ha_tn)
        write_interchange(self.outbound, "BE01", link, self._next("out" + link), short(kind, **items))


def short(kind: str, tn: int, gp_code: str, nhs_number: str | None = None, **items) -> dict:
    """A transaction in the codec's JSON shape."""
    return {"tn": tn, "type": kind, "gp_code": gp_code, "nhs_number": nhs_number, "errors": [], "warnings": [], **items}


def shadow(nhais_ha, files):
    return run_shadow(nhais_ha.ha, files.inbound, files.outbound, by="tester")


def verdicts(run) -> dict[tuple[str, int], tuple[str, str, str]]:
    return {(r.type, r.tn): (r.verdict, r.pcrm_answer, r.nhais_answer) for r in run.results.all()}


@pytest.fixture
def movers(nhais_ha):
    """Two patients registered in another HA, about to move to a BE practice."""
    return [
        PatientFactory(nhs_number="9000000017", name="BROWN ANNE", registered_at="C85001"),
        PatientFactory(nhs_number="9000000025", name="GREEN RUTH", registered_at="C85001"),
        PatientFactory(nhs_number="9000000033", name="WHITE EMMA", registered_at="C85001"),
    ]


def test_acceptances_are_matched_by_link_and_tn(nhais_ha, movers, tmp_path):
    files = Files(tmp_path)
    files.gp("PAL5", person(11, "9000000017", "BROWN", "ANNE", GP1))  # both approve
    files.nhais("PAL5", "F4", tn=11, gp_code=GP1)
    files.gp("PAL5", person(12, "9000000025", "GREEN", "RUTH", GP1, free_text="CARER"))  # PCRM: a person
    files.nhais("PAL5", "F4", tn=12, gp_code=GP1)
    files.gp("PAM5", person(13, "9000000033", "WHITE", "EMMA", GP2))  # NHAIS's answer not in the set
    files.gp("PAM5", person(14, "9000000017", "BROWN", "ANNE", GP2, acceptance_code="R"))  # PCRM: person; NHAIS: F3
    files.nhais("PAM5", "F3", tn=14, gp_code=GP2, free_text="WRONG HA - TRY SURREY")
    run = shadow(nhais_ha, files)
    assert verdicts(run) == {
        ("G1", 11): ("agreed", "F4", "F4"),
        ("G1", 12): ("disagreed", "person: FREE_TEXT", "F4"),
        ("G1", 13): ("unmatched", "F4", "none"),
        ("G1", 14): ("disagreed", "person: ACCEPTANCE_CHECK", "F3"),
    }
    assert run.by_type == {"G1": {"transactions": 4, "agreed": 1, "disagreed": 2, "unmatched": 1}}
    free_text = run.results.get(tn=12)
    assert [s["check"] for s in free_text.rule_trace][-1] == "GP notes"
    assert free_text.note == "PCRM would ask a person (FREE_TEXT); NHAIS sent F4."
    assert run.results.get(tn=14).nhais_detail["free_text"] == "WRONG HA - TRY SURREY"


def test_deduction_requests_are_matched_by_patient_practice_and_reason(nhais_ha, tmp_path):
    dead = PatientFactory(nhs_number="9000000041", name="BLACK ROSE", registered_at="K81001", deceased=True)
    emigrant = PatientFactory(nhs_number="9000000068", name="GREY IRIS", registered_at="K81001")
    files = Files(tmp_path)
    files.gp(
        "PAL5",
        short(
            type="G5",
            kind="G5",
            tn=21,
            gp_code=GP1,
            nhs_number=dead.nhs_number,
            deduction_reason="1",
            deduction_date="2024-01-02",
        ),
    )
    files.nhais(
        "PAL5", "F2", gp_code=GP1, nhs_number=dead.nhs_number, deduction_reason="1", deduction_date="2024-01-02"
    )
    files.gp(
        "PAL5",
        short(
            type="G5",
            kind="G5",
            tn=22,
            gp_code=GP1,
            nhs_number=emigrant.nhs_number,
            deduction_reason="5",
            deduction_date="2026-11-01",
        ),
    )
    files.nhais(
        "PAL5", "F2", gp_code=GP1, nhs_number=emigrant.nhs_number, deduction_reason="13", deduction_date="2026-11-01"
    )
    files.gp(
        "PAL5",
        short(
            type="G5",
            kind="G5",
            tn=23,
            gp_code=GP1,
            nhs_number="9434765919",
            deduction_reason="13",
            deduction_date="2026-11-02",
            free_text="LEFT",
        ),
    )
    files.nhais("PAL5", "F11", gp_code=GP1, nhs_number="9434765919", free_text="PATIENT WILL BE REMOVED IN 30 DAYS")
    run = shadow(nhais_ha, files)
    assert verdicts(run) == {
        ("G5", 21): ("agreed", "F2 reason 1", "F2 reason 1"),
        ("G5", 22): ("disagreed", "F2 reason 5", "F2 reason 13"),
        ("G5", 23): ("disagreed", "person: DEDUCTION_REVIEW", "F11"),
    }  # fmt: skip


def test_removals_and_amendments_agree_when_neither_answers(nhais_ha, tmp_path):
    files = Files(tmp_path)
    address = {
        "house": "",
        "road": "12 NEW ROAD",
        "locality": "",
        "post_town": "READING",
        "county": "",
        "postcode": "RG1 7AB",
    }
    files.gp("PAL5", short("G2", tn=31, gp_code=GP1, nhs_number="9434765919", address=address))
    files.gp("PAL5", short("G2", tn=32, gp_code=GP1, nhs_number="9000000009", address=address))
    files.nhais("PAL5", "F1", gp_code=GP1, nhs_number="9000000009", surname="JONES")
    files.gp("PAM5", short("G3", tn=33, gp_code=GP2, nhs_number="9434765870", free_text="MOVED AWAY"))
    files.nhais("PAM5", "F2", gp_code=GP2, nhs_number="9434765870", deduction_reason="9", deduction_date="2026-11-20")
    run = shadow(nhais_ha, files)
    result = verdicts(run)
    assert result[("G2", 31)] == ("agreed", "none", "none")
    assert result[("G2", 32)] == ("disagreed", "none", "F1")
    assert result[("G3", 33)][0] == "disagreed" and result[("G3", 33)][2] == "F2 reason 9"


def test_a_shadow_run_has_no_effect_on_pds_the_pipeline_or_the_queue(nhais_ha, movers, tmp_path):
    files = Files(tmp_path)
    files.gp("PAL5", person(11, "9000000017", "BROWN", "ANNE", GP1))
    files.gp(
        "PAL5",
        short(
            type="G5",
            kind="G5",
            tn=12,
            gp_code=GP1,
            nhs_number="9434765919",
            deduction_reason="5",
            deduction_date="2026-11-01",
        ),
    )
    files.nhais("PAL5", "F4", tn=11, gp_code=GP1)
    pds_before = list(Patient.objects.order_by("id").values("id", "version"))
    run = shadow(nhais_ha, files)
    assert run.agreed == 1 and run.results.get(tn=12).pcrm_answer == "F2 reason 5"  # both would have changed PDS
    assert list(Patient.objects.order_by("id").values("id", "version")) == pds_before
    for model in (Transaction, Interchange, OutboxItem, ExceptionCase, Registration):
        assert not model.objects.exists(), model.__name__
    assert not HealthAuthority.objects.get(cipher="BE").migrated
    assert AuditEvent.objects.get(action="migration_shadow_run").detail["transactions"] == 2


def test_the_command_prints_the_json_and_reports_unreadable_files(nhais_ha, movers, tmp_path):
    files = Files(tmp_path)
    files.gp("PAL5", person(11, "9000000017", "BROWN", "ANNE", GP1))
    files.nhais("PAL5", "F4", tn=11, gp_code=GP1)
    (files.inbound / "zz-garbage.edi").write_bytes(b"NOT EDIFACT")
    write_interchange(files.inbound, "PAM5", "KC01", 1, person(5, "9000000025", "GREEN", "RUTH", GP2), cipher="KC")
    out = StringIO()
    call_command(
        "migration",
        "shadow",
        "--ha",
        "BE",
        "--inbound",
        str(files.inbound),
        "--nhais-outbound",
        str(files.outbound),
        "--json",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    assert printed == {
        "transactions": 1,
        "agreed": 1,
        "disagreed": 0,
        "unmatched": 0,
        "agreement": 1.0,
        "by_type": {"G1": {"transactions": 1, "agreed": 1, "disagreed": 0, "unmatched": 0}},
    }
    assert ShadowResult.objects.get().verdict == "agreed"
    assert [u["file"] for u in ShadowResult.objects.get().run.unread] == ["zz-garbage.edi"]


def test_an_approval_within_the_ha_is_also_compared_on_the_f2_to_the_practice_left(nhais_ha, tmp_path):
    files = Files(tmp_path)
    # Aisha (at K81002, link PAM5) moves to K81001 (PAL5); Jane (at K81001) moves to K81002.
    files.gp("PAL5", person(41, "9434765870", "PATEL", "AISHA", GP1))
    files.nhais("PAL5", "F4", tn=41, gp_code=GP1)
    files.nhais("PAM5", "F2", gp_code=GP2, nhs_number="9434765870", deduction_reason="3", deduction_date="2026-11-16")
    files.gp("PAM5", person(42, "9434765919", "STEVENS", "JANE", GP2))
    files.nhais("PAM5", "F4", tn=42, gp_code=GP2)
    files.nhais("PAL5", "F2", gp_code=GP1, nhs_number="9434765919", deduction_reason="2", deduction_date="2026-11-16")
    run = shadow(nhais_ha, files)
    agreed, disagreed = run.results.get(tn=41), run.results.get(tn=42)
    assert agreed.verdict == "agreed"
    assert agreed.note == "Both approved and deducted from the old practice (PAM5) with reason 3."
    assert agreed.nhais_detail["old_practice_f2"]["deduction_reason"] == "3"
    assert disagreed.verdict == "disagreed"
    assert "PCRM would deduct from the old practice (PAL5) with reason 3; NHAIS used reason 2" in disagreed.note
