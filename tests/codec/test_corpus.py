"""Our own fixture corpus (tests/fixtures/gplinks, made by tests/corpus.py): every file parses, to
exactly what it was built from, and together they cover what the protocol brief describes."""

from __future__ import annotations

import datetime as dt

import corpus
import pytest

from registrations.gplinks import ABSENT, Address, parse_interchange, validate_transaction

BUILT = sorted(corpus.built())
VARIANTS = sorted(name for name, base in corpus.HAND_WRITTEN.items() if base)


def parse(name: str):
    return parse_interchange(corpus.read(name), strict=True)


def test_the_folder_holds_exactly_the_corpus():
    assert corpus.names() == sorted({*corpus.expected_files(), *corpus.HAND_WRITTEN})


@pytest.mark.parametrize("name", sorted(corpus.expected_files()))
def test_each_generated_file_is_what_the_builder_writes_today(name):
    # A deliberate builder change: run `.venv/bin/python tests/corpus.py` and review the diff.
    assert corpus.read(name) == corpus.expected_files()[name]


@pytest.mark.parametrize("name", BUILT)
def test_each_built_file_parses_strictly_back_to_what_it_was_built_from(name, no_safety_net):
    ic = parse(f"{name}.edi")
    assert ic == corpus.built()[name]
    assert ic.warnings == []
    for tx in ic.transactions():
        assert (tx.errors, tx.warnings) == ([], [])
        assert validate_transaction(tx) == []


@pytest.mark.parametrize("name", VARIANTS)
def test_each_wire_variant_reads_as_its_built_original(name, no_safety_net):
    assert parse(name) == corpus.built()[corpus.HAND_WRITTEN[name]]


def test_the_variants_really_have_their_wire_shapes():
    assert b"\n" not in corpus.read("variant-no-newlines.edi")
    crlf = corpus.read("variant-crlf.edi")
    assert crlf.count(b"'\r\n") == 16 and crlf.replace(b"\r\n", b"").count(b"\n") == 0
    assert corpus.read("variant-no-final-terminator.edi").endswith(b"UNZ+1+00000301")
    assert b"RFF+TN:00000002'" in corpus.read("variant-zero-padded-tns.edi")
    assert parse("variant-gp-unb-form.edi").app_ref == "FHSREG"
    assert b"+00000108'" in corpus.read("variant-adaptor-unb-form.edi").split(b"\n")[0]


def test_obsolete_segments_are_skipped_and_the_rest_is_read():
    (tx,) = parse("variant-obsolete-segments.edi").transactions()
    assert (tx.acceptance_type, tx.nhs_number, tx.place_of_birth) == ("2", ABSENT, "GLASGOW")
    assert (tx.residential_institute, tx.drugs_dispensed) == ("RT", "Y")
    assert tx.address == Address("", "1 HIGH STREET", "", "LEEDS", "", "LS1 4AP")  # `??` = no house name
    assert tx.warnings == [] and tx.errors == []


def all_transactions():
    return [tx for name in BUILT for tx in parse(f"{name}.edi").transactions()]


def test_every_live_transaction_type_in_both_directions():
    gp_to_ha = {tx.type for name in BUILT for tx in parse(f"{name}.edi").transactions() if name[0] == "g"}
    ha_to_gp = {tx.type for name in BUILT for tx in parse(f"{name}.edi").transactions() if name[0] in "fh"}
    assert gp_to_ha == {"G1", "G2", "G3", "G5"}
    assert ha_to_gp == {"F1", "F2", "F3", "F4", "F8", "F9", "F10", "F11"}


def test_every_acceptance_type_and_code_and_deduction_request_reason():
    txs = all_transactions()
    assert {tx.acceptance_type for tx in txs if tx.type == "G1"} == {"1", "2", "3", "4"}
    assert [tx.acceptance_code for tx in parse("g1-every-acceptance-code.edi").transactions()] == list("ADRIS")
    assert [tx.deduction_reason for tx in parse("g5-deduction-requests-each-reason.edi").transactions()] == [
        "1",
        "5",
        "13",
    ]


def test_amendments_carry_new_values_and_erasures():
    (new,) = parse("g2-amendment-new-values.edi").transactions()
    assert new.forenames == ["JANE", "ADA"] and new.previous_surname == "STEVENS"
    (erased,) = parse("g2-amendment-erasures.edi").transactions()
    assert (erased.forenames, erased.title, erased.drugs_dispensed) == (None, None, None)
    assert (erased.residential_institute, erased.previous_surname) == (None, None)
    assert erased.address == Address("HOLLY COTTAGE", None, "LITTLE HAMLET", "LEEDS", None, None)
    assert erased.surname is ABSENT and erased.sex is ABSENT  # absent = unchanged
    f1 = parse("f1-amendments.edi").transactions()
    assert (f1[1].nhs_number, f1[1].amended_nhs_number, f1[1].nhs_number_legacy) == ("N/10/10", "9999999999", True)


def test_both_batch_shapes():
    gp = parse("gp-batch-g1-g2-g3.edi")
    assert [(m.sms, m.type, [tx.tn for tx in m.transactions]) for m in gp.messages] == [
        (212, "G1", [61]),
        (213, "G2", [62, 63]),
        (214, "G3", [64]),
    ]
    ha = parse("ha-batch-f4-f2-f9.edi")
    assert [(m.sms, m.type) for m in ha.messages] == [(409, "F4"), (410, "F2"), (411, "F9")]
    assert [len(m.transactions) for m in parse("f2-deductions.edi").messages] == [3]


def test_eight_digit_tn_and_close_quarter_without_s01():
    assert [tx.tn for tx in parse("f10-fp69-flag-removal.edi").transactions()] == [10817565]
    data = corpus.read("f8-close-quarter.edi").decode()
    assert "S01" not in data and "DTM+206:20260930:102'" in data
    (message,) = parse("f8-close-quarter.edi").messages
    assert message.quarter_end == dt.date(2026, 9, 30)


def test_escapes_and_the_whole_appendix_k_set():
    data = corpus.read("escapes-appendix-k.edi").decode()
    assert "FTX+RGI+++ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/=!\"%&*;<>?'?+?:??'" in data
    assert "SU:O?'BRIEN" in data and "FLAT 1?+2:10 ST. JOHN?'S ROAD:A?:B:LEEDS:WHAT??" in data
    (tx,) = parse("escapes-appendix-k.edi").transactions()
    assert tx.free_text == corpus.APPENDIX_K
    assert (tx.surname, tx.address.house, tx.address.county) == ("O'BRIEN", "FLAT 1+2", "WHAT?")


@pytest.mark.parametrize(
    ("name", "wire", "utc"),
    [
        ("time-before-bst-starts", "270328:0030", dt.datetime(2027, 3, 28, 0, 30, tzinfo=dt.UTC)),
        ("time-after-bst-starts", "270328:0230", dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC)),
        ("time-before-bst-ends", "271031:0030", dt.datetime(2027, 10, 30, 23, 30, tzinfo=dt.UTC)),
        ("time-after-bst-ends", "271031:0230", dt.datetime(2027, 10, 31, 2, 30, tzinfo=dt.UTC)),
    ],
)
def test_unb_times_are_uk_local_across_the_clock_changes(name, wire, utc):
    data = corpus.read(f"{name}.edi").decode()
    assert data.split("+")[4] == wire
    assert parse(f"{name}.edi").prepared_at == utc


def test_receps_both_ways_positive_and_negative():
    gp_ack = parse("recep-gp-acknowledges-ha-batch.edi")
    assert (gp_ack.sender, gp_ack.recipient, gp_ack.app_ref) == ("TES5", "XX11", "RECEP")
    assert [(m.sms, m.code) for m in gp_ack.recep.messages] == [(409, "CP"), (410, "CP"), (411, "CP")]
    assert (gp_ack.recep.interchange_sis, gp_ack.recep.interchange_code, gp_ack.recep.message_count) == (309, "OK", 3)
    ha_ack = parse("recep-ha-acknowledges-gp-batch.edi")
    assert (ha_ack.sender, ha_ack.recipient) == ("XX11", "TES5")
    negative = parse("recep-negative.edi").recep
    assert [(m.sms, m.code) for m in negative.messages] == [(212, "CP"), (213, "CA"), (214, "CP")]
    assert (negative.interchange_code, negative.message_count) == ("ER", 3)
    assert parse("recep-for-close-quarter.edi").recep.gp_code == "9999"
