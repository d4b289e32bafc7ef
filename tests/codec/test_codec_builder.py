"""Generation: exact segments for each type, envelope counts, escaping, numbering, grouping."""

from __future__ import annotations

import copy
import datetime as dt
import pickle

import pytest
from support import WHEN, segments_of, single

from registrations.gplinks import (
    ABSENT,
    Address,
    CodecError,
    Interchange,
    Transaction,
    build_interchange,
    group_messages,
    parse_interchange,
)


def body(tx: Transaction) -> list[str]:
    """The transaction's own segments from a one-transaction interchange."""
    segs = segments_of(build_interchange(single(tx)))
    start = 6 if tx.type != "F8" else 7
    return segs[start:-2]


def roundtrip(tx: Transaction) -> Transaction:
    (msg,) = parse_interchange(build_interchange(single(tx)), strict=True).messages
    (back,) = msg.transactions
    return back


def test_envelope_uses_the_live_ha_form_and_counts_segments():
    tx = Transaction(tn=13, type="F4", gp_code="2750922,295", nhs_number="9434765919")
    segs = segments_of(build_interchange(single(tx)))
    assert segs == [
        "UNB+UNOA:2+XX11+TES5+240701:0930+00000001++FHSREG+++FHSA EDI TRANSFERS",
        "UNH+00000001+FHSREG:0:1:FH:FHS001",
        "BGM+++507",
        "NAD+FHS+XX1:954",
        "DTM+137:202407010930:203",
        "RFF+950:F4",
        "S01+1",
        "RFF+TN:13",
        "NAD+GP+2750922,295:900",
        "S02+2",
        "PNA+PAT+9434765919:OPI",
        "UNT+11+00000001",
        "UNZ+1+00000001",
    ]


def test_output_looks_like_nhais_files_one_segment_per_line():
    data = build_interchange(single(Transaction(tn=1, type="F4", gp_code="2750922,295")))
    assert data.endswith(b"UNZ+1+00000001'")
    assert b"'\nUNH+" in data


def test_g1_segment_order_matches_section_4_1():
    tx = Transaction(
        tn=17,
        type="G1",
        gp_code="4826940,281",
        residential_institute="RT",
        previous_gp="DR BLACK",
        previous_ha="LNS",
        acceptance_code="A",
        acceptance_type="3",
        drugs_dispensed="Y",
        acceptance_date=dt.date(1992, 1, 13),
        place_of_birth="BURY",
        free_text="GP NOTES",
        nhs_number="9434765919",
        surname="STEVENS",
        forenames=["CHARLES", "ANTHONY", "JOHN PAUL"],
        title="MR",
        birth_date=dt.date(1991, 11, 6),
        sex="1",
        address=Address("", "OLD LANE", "ST PAULS CRAY", "ORPINGTON", "KENT", "BR6  7EW"),
        previous_address=["HORSFORTH", "LEEDS"],
        previous_surname="SMITH",
    )
    assert body(tx) == [
        "S01+1",
        "RFF+TN:17",
        "NAD+GP+4826940,281:900",
        "NAD+RIC+RT:956",
        "NAD+PGP+++DR BLACK",
        "NAD+PFH+LNS:954",
        "HEA+ACD+A:ZZZ",
        "HEA+ATP+3:ZZZ",
        "HEA+DM+Y:ZZZ",
        "DTM+956:19920113:102",
        "LOC+950+BURY",
        "FTX+RGI+++GP NOTES",
        "S02+2",
        "PNA+PAT+9434765919:OPI+++SU:STEVENS+FO:CHARLES+TI:MR+MI:ANTHONY+FS:JOHN PAUL",
        "DTM+329:19911106:102",
        "PDI+1",
        "NAD+PAT++??:OLD LANE:ST PAULS CRAY:ORPINGTON:KENT+++++BR6  7EW",
        "NAD+PER++HORSFORTH:LEEDS",
        "S02+2",
        "PNA+PER++++SU:SMITH",
    ]
    assert roundtrip(tx) == tx


def test_g1_without_nhs_number_keeps_empty_identification_and_name_gaps():
    tx = Transaction(
        tn=1,
        type="G1",
        gp_code="4826940,281",
        acceptance_code="A",
        acceptance_type="2",
        acceptance_date=dt.date(1992, 1, 14),
        place_of_birth="GLASGOW",
        surname="PATTERSON",
        title="MRS",
        sex="2",
        address=Address("FLAT 1", "", "", "LEEDS", "", ""),
    )
    assert "PNA+PAT++++SU:PATTERSON++TI:MRS" in body(tx)
    assert "NAD+PAT++FLAT 1:::LEEDS:" in body(tx)
    assert roundtrip(tx) == tx


def test_g2_amendment_erasures_and_whole_address():
    tx = Transaction(
        tn=1,
        type="G2",
        gp_code="2750922,295",
        residential_institute=None,
        drugs_dispensed=None,
        nhs_number="9999999999",
        surname="ROBINSON-PATTERSON",
        forenames=None,
        title="MRS",
        address=Address("HOLLY COTTAGE", None, "LITTLE HAMLET", "BROMLEY", "KENT", None),
        previous_surname=None,
    )
    assert body(tx) == [
        "S01+1",
        "RFF+TN:1",
        "NAD+GP+2750922,295:900",
        "NAD+RIC+%:956",
        "HEA+DM+%:ZZZ",
        "S02+2",
        "PNA+PAT+9999999999:OPI+++SU:ROBINSON-PATTERSON+FO:%+TI:MRS",
        "NAD+PAT++HOLLY COTTAGE:%:LITTLE HAMLET:BROMLEY:KENT+++++%",
        "S02+2",
        "PNA+PER++++SU:%",
    ]
    assert roundtrip(tx) == tx


def test_g2_changing_only_the_middle_name():
    tx = Transaction(tn=2, type="G2", gp_code="2750922,295", nhs_number="9999999999", forenames=["", "JANE"])
    assert "PNA+PAT+9999999999:OPI++++++MI:JANE" in body(tx)
    assert roundtrip(tx) == tx


def test_g3_removal():
    tx = Transaction(
        tn=1, type="G3", gp_code="4826940,281", free_text="NOW LIVES 24 MILES AWAY", nhs_number="9434765919"
    )
    assert body(tx) == [
        "S01+1",
        "RFF+TN:1",
        "NAD+GP+4826940,281:900",
        "FTX+RGI+++NOW LIVES 24 MILES AWAY",
        "S02+2",
        "PNA+PAT+9434765919:OPI",
    ]
    assert roundtrip(tx) == tx


def test_g5_deduction_request():
    tx = Transaction(
        tn=1,
        type="G5",
        gp_code="4826940,281",
        deduction_reason="1",
        deduction_date=dt.date(1991, 12, 25),
        free_text="DIED ON HOLIDAY IN MAJORCA",
        nhs_number="9434765919",
    )
    assert body(tx)[3:6] == ["GIS+1:ZZZ", "DTM+961:19911225:102", "FTX+RGI+++DIED ON HOLIDAY IN MAJORCA"]
    assert roundtrip(tx) == tx


def test_f1_amendment_with_amended_nhs_number():
    tx = Transaction(
        tn=101,
        type="F1",
        gp_code="4826940,281",
        drugs_dispensed="Y",
        nhs_number="9434765919",
        surname="MORRIS",
        address=Address("", "136 HIGH STREET", "", "BROMLEY", "KENT", "BR11 5RE"),
        amended_nhs_number="9999999999",
        previous_surname="ANDREWS",
    )
    assert body(tx)[-4:-2] == [
        "PNA+PAT+9434765919:OPI+++SU:MORRIS",
        "NAD+PAT++??:136 HIGH STREET::BROMLEY:KENT+++++BR11 5RE",
    ]
    assert body(tx)[-2:] == ["S02+2", "PNA+PER+9999999999:API+++SU:ANDREWS"]
    assert roundtrip(tx) == tx


def test_f1_amended_nhs_number_alone():
    tx = Transaction(tn=5, type="F1", gp_code="4826940,281", nhs_number="9434765919", amended_nhs_number="9999999999")
    assert body(tx)[-1] == "PNA+PER+9999999999:API"
    assert roundtrip(tx) == tx


def test_f2_deduction_with_new_ha():
    tx = Transaction(
        tn=102,
        type="F2",
        gp_code="4826940,281",
        new_ha="COV",
        deduction_reason="2",
        deduction_date=dt.date(1992, 1, 25),
        nhs_number="9434765919",
    )
    assert body(tx) == [
        "S01+1",
        "RFF+TN:102",
        "NAD+GP+4826940,281:900",
        "NAD+NFH+COV:954",
        "GIS+2:ZZZ",
        "DTM+961:19920125:102",
        "S02+2",
        "PNA+PAT+9434765919:OPI",
    ]
    assert roundtrip(tx) == tx


def test_f3_rejection_escapes_the_full_character_set():
    text = "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890 .,-()/=!\"%&*;<>'+:?"
    tx = Transaction(tn=12, type="F3", gp_code="4826940,281", free_text=text)
    assert body(tx)[-1] == "FTX+RGI+++ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890 .,-()/=!\"%&*;<>?'?+?:??"
    assert roundtrip(tx) == tx


def test_f8_close_quarter_without_s01():
    tx = Transaction(tn=99, type="F8", quarter_end=dt.date(1991, 12, 31))
    segs = segments_of(build_interchange(single(tx)))
    assert segs[4:10] == [
        "DTM+137:202407010930:203",
        "DTM+206:19911231:102",
        "RFF+950:F8",
        "RFF+TN:99",
        "GIS+Q:ZZZ",
        "UNT+9+00000001",
    ]
    assert roundtrip(tx) == tx


def test_f9_fp69_prior_notification_with_post_town_only_address():
    tx = Transaction(
        tn=1,
        type="F9",
        gp_code="2750922,295",
        fp69_reason="8",
        fp69_expiry=dt.date(1992, 7, 25),
        free_text="PATIENT THOUGHT TO BE IN SCOTLAND",
        nhs_number="9434765919",
        surname="STEVENS",
        forenames=["CHARLES"],
        birth_date=dt.date(1940, 5, 23),
        address=Address("", "", "", "ORPINGTON", "", ""),
    )
    assert body(tx)[3:6] == ["HEA+FRN+8:ZZZ", "DTM+962:19920725:102", "FTX+RGI+++PATIENT THOUGHT TO BE IN SCOTLAND"]
    assert body(tx)[-1] == "NAD+PAT++??:::ORPINGTON:"
    assert roundtrip(tx) == tx
    assert roundtrip(tx).errors == []


def test_f10_and_f11():
    f10 = Transaction(tn=10817565, type="F10", gp_code="9990335,PLP570", nhs_number="4444444444")
    assert body(f10)[1] == "RFF+TN:10817565"
    assert roundtrip(f10) == f10
    f11 = Transaction(
        tn=209715, type="F11", gp_code="9990335,PLP570", free_text="PATIENT WILL BE REMOVED", nhs_number="3333333333"
    )
    assert roundtrip(f11) == f11


def test_obsolete_transactions_are_relayed_verbatim():
    raw = ["S01+1", "RFF+TN:3", "NAD+GP+4826940,281:900", "S02+2", "PNA+PAT+JET46A46:OPI"]
    tx = Transaction(tn=3, type="F5", raw_segments=raw, gp_code="4826940,281")
    assert body(tx) == raw


def test_tn_is_emitted_without_padding():
    ic = parse_interchange(b"UNB+UNOA:2+SO01+WHI5+200601:1751+00000007'UNH+00000001+FHSREG:0:1:FH:FHS001'"
                           b"BGM+++507'NAD+FHS+SO:954'RFF+950:F10'S01+1'RFF+TN:00000001'NAD+GP+9990335,PLP570:900'"
                           b"S02+2'PNA+PAT+4444444444:OPI'UNT+10+00000001'UNZ+1+00000007'")  # fmt: skip
    assert ic.messages[0].transactions[0].tn == 1
    assert "RFF+TN:1" in segments_of(build_interchange(ic))


def test_batches_many_messages_and_many_transactions():
    pairs = [
        ("XX1", Transaction(tn=1, type="F4", gp_code="2750922,295")),
        ("XX1", Transaction(tn=2, type="F2", gp_code="2750922,295", deduction_reason="1",
                            deduction_date=dt.date(2024, 1, 2), nhs_number="9434765919")),
        ("YY2", Transaction(tn=3, type="F4", gp_code="2750922,295")),
        ("XX1", Transaction(tn=4, type="F4", gp_code="2750922,295", nhs_number="9999999999")),
    ]  # fmt: skip
    messages = group_messages(pairs, first_sms=41)
    assert [(m.sms, m.type, m.ha_cipher, [t.tn for t in m.transactions]) for m in messages] == [
        (41, "F4", "XX1", [1, 4]),
        (42, "F2", "XX1", [2]),
        (43, "F4", "YY2", [3]),
    ]
    ic = Interchange(sender="XX11", recipient="TES5", sis=99, prepared_at=WHEN, messages=messages)
    data = build_interchange(ic)
    segs = segments_of(data)
    assert segs[-1] == "UNZ+3+00000099"
    back = parse_interchange(data, strict=True)
    assert back == ic


def test_group_messages_wraps_sms_after_99999999():
    pairs = [("A", Transaction(tn=1, type="F4")), ("B", Transaction(tn=2, type="F4"))]
    assert [m.sms for m in group_messages(pairs, first_sms=99_999_999)] == [99_999_999, 1]


def test_group_messages_splits_f8_by_quarter_end():
    q1, q2 = dt.date(2024, 3, 31), dt.date(2024, 6, 30)
    pairs = [
        ("XX1", Transaction(tn=1, type="F8", quarter_end=q1)),
        ("XX1", Transaction(tn=2, type="F8", quarter_end=q2)),
    ]
    messages = group_messages(pairs, first_sms=1)
    assert [(m.quarter_end, len(m.transactions)) for m in messages] == [(q1, 1), (q2, 1)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sis": 0}, "SIS must be an integer"),
        ({"sis": 100_000_000}, "SIS must be an integer"),
        ({"sender": ""}, "sender must be a non-empty string"),
        ({"messages": []}, "at least one message"),
        ({"prepared_at": dt.datetime(1999, 1, 1, tzinfo=dt.UTC)}, "year 1999"),
    ],
)
def test_unbuildable_interchanges_raise_codec_error(change, message):
    ic = single(Transaction(tn=1, type="F4", gp_code="2750922,295"))
    for key, value in change.items():
        setattr(ic, key, value)
    with pytest.raises(CodecError, match=message):
        build_interchange(ic)


@pytest.mark.parametrize(
    ("tx", "message"),
    [
        (Transaction(tn=0, type="F4"), "transaction number"),
        (Transaction(tn=1, type="F4", gp_code=123), "gp_code must be text"),
        (Transaction(tn=1, type="F3", free_text="TWO\nLINES"), "line break"),
        (Transaction(tn=1, type="F3", free_text="EURO \u20ac"), "cannot be sent in a UNOA interchange"),
        (Transaction(tn=1, type="F9", forenames="JOHN"), "forenames must be a list"),
        (Transaction(tn=1, type="F9", address="1 HIGH ST"), "address must be an Address"),
        (Transaction(tn=1, type="F8"), "quarter_end"),
    ],
)
def test_unbuildable_transactions_raise_codec_error(tx, message):
    with pytest.raises(CodecError, match=message):
        build_interchange(single(tx))


def test_message_and_transaction_types_must_agree():
    ic = single(Transaction(tn=1, type="F4"))
    ic.messages[0].type = "F2"
    with pytest.raises(CodecError, match="holds a F4 transaction"):
        build_interchange(ic)


def test_build_never_raises_anything_but_codec_error():
    with pytest.raises(CodecError):
        build_interchange("not an interchange")  # type: ignore[arg-type]
    ic = single(Transaction(tn=1, type="F4"))
    ic.messages[0].transactions = [object()]  # type: ignore[list-item]
    with pytest.raises(CodecError):
        build_interchange(ic)


def test_absent_is_a_falsy_singleton_that_survives_copies():
    assert not ABSENT
    assert repr(ABSENT) == "ABSENT"
    assert copy.deepcopy(ABSENT) is ABSENT
    assert pickle.loads(pickle.dumps(ABSENT)) is ABSENT
