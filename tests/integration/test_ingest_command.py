"""`manage.py gplinks ingest`: files through the same pipeline as MESH, synchronously, as a person runs it."""

import json
import os
import subprocess
import sys

import corpus
import pytest
from django.db import connection
from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory
from support import REPO, g1_batch, g1_interchange

from pds.models import Patient
from registrations.gplinks import parse_interchange
from registrations.models import OutboxItem

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def ingest(*paths, mesh_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "POSTGRES_DB": connection.settings_dict["NAME"], "MESH_URL": mesh_url}
    return subprocess.run(
        [sys.executable, "manage.py", "gplinks", "ingest", *map(str, paths), "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tes5():
    ha = HealthAuthorityFactory(cipher="XX1", link_code="XX11", migrated=True)
    practice = PracticeFactory(ods_code="A10001", link_code="TES5", ha=ha, mesh_mailbox="GPMB00301")
    GPFactory(practice=practice, national_code="4826940", local_code="281")
    return LinkFactory(practice=practice, ha=ha)


def test_ingest_reports_each_transaction_and_a_replay_is_all_duplicates(tes5, mesh, mesh_as, tmp_path):
    patient = PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="Z99999")
    ours = tmp_path / "acceptance.dat"
    ours.write_bytes(g1_interchange(sis=5, tn=77))
    noted = tmp_path / "with-notes.dat"
    noted.write_bytes(g1_batch(6, ["9000000009"], first_tn=78, free_text="PATIENT HAS A GUIDE DOG"))

    first = ingest(ours, noted, mesh_url=mesh)
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in first.stdout.splitlines()]
    assert rows[0] == {
        "interchange": {"sender": "TES5", "recipient": "XX11", "sis": 5},
        "sms": 5,
        "tn": 77,
        "type": "G1",
        "status": "DONE",
        "exception_kind": None,
        "outbound": [{"recipient": "TES5", "type": "F4", "tn": 77}],
    }
    assert rows[1]["status"] == "MANUAL" and rows[1]["exception_kind"] == "FREE_TEXT"  # it carries GP notes
    assert Patient.objects.get(pk=patient.pk).current_gp.practice_ods == "A10001"
    version = Patient.objects.get(pk=patient.pk).version
    with mesh_as("GPMB00301") as gp:
        assert len(gp.list_messages()) == 3, "two RECEPs and the F4 were sent"

    again = ingest(ours, noted, mesh_url=mesh)
    assert again.returncode == 0, again.stderr
    replay = [json.loads(line) for line in again.stdout.splitlines()]
    assert [r["status"] for r in replay] == ["DUPLICATE", "DUPLICATE"]
    assert all(r["outbound"] == [] for r in replay)
    assert Patient.objects.get(pk=patient.pk).version == version, "nothing changed"
    assert OutboxItem.objects.filter(kind="TX").count() == 1


def test_unreadable_or_missing_input_is_one_line_and_exit_1(tes5, mesh, tmp_path):
    garbage = tmp_path / "garbage.dat"
    garbage.write_bytes(b"\x00\x01 not edifact")
    missing = ingest(tmp_path / "nope.dat", mesh_url=mesh)
    assert missing.returncode == 1 and missing.stderr.strip().count("\n") == 0 and "no such file" in missing.stderr

    bad = ingest(garbage, mesh_url=mesh)
    assert bad.returncode == 0, "an unreadable interchange is stored and reported, not lost"
    (row,) = [json.loads(line) for line in bad.stdout.splitlines()]
    assert row["status"] == "INVALID" and row["exception_kind"] == "INVALID_INTERCHANGE"


def test_every_gp_to_ha_corpus_file_goes_through_the_pipeline(tes5, mesh, mesh_as):
    """Our corpus, as a GP would send it: every transaction is stored and reported (none lost, none
    unreadable), each interchange is acknowledged once, and the same interchanges again in other wire
    forms (different UNB application reference, newlines) are recognised as duplicates."""
    sent = [
        name
        for name in corpus.names()
        if name.startswith(
            ("g1-", "g2-", "g3-", "g5-", "gp-", "escapes-", "time-before-bst-starts", "time-after-bst-starts")
        )
    ]
    expected = [
        (msg.sms, tx.tn, tx.type)
        for name in sent
        for msg in parse_interchange(corpus.read(name)).messages
        for tx in msg.transactions
    ]
    result = ingest(*(corpus.DIR / name for name in sent), mesh_url=mesh)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["sms"], r["tn"], r["type"]) for r in rows] == expected
    assert {r["status"] for r in rows} <= {"DONE", "MANUAL"}, rows
    with mesh_as("GPMB00301") as gp:
        receps = [m for m in gp.list_messages() if b"RECEP" in gp.retrieve_message(m).read()]
    assert len(receps) == len(sent)

    again = ingest(
        *(corpus.DIR / name for name in ("variant-gp-unb-form.edi", "variant-adaptor-unb-form.edi")), mesh_url=mesh
    )
    assert [json.loads(line)["status"] for line in again.stdout.splitlines()] == ["DUPLICATE", "DUPLICATE"]
