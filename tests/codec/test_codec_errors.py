"""Unreadable input: a CodecError that names the segment and the problem, and nothing else."""

from __future__ import annotations

import corpus
import pytest

from registrations.gplinks import CodecError, parse_interchange

# Two approvals (corpus): 1 UNB, 2 UNH, 3 BGM, 4 NAD, 5 DTM, 6 RFF+950, 7 S01, 8 RFF+TN, 9 NAD+GP,
# 10 S02, 11 PNA, 12 S01, 13 RFF+TN, 14 NAD+GP, 15 UNT, 16 UNZ.
F4 = "f4-approvals.edi"


def broken(old: str, new: str) -> str:
    text = corpus.read(F4).decode()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "segment 1: empty input"),
        ("UNH+1+FHSREG:0:1:FH:FHS001'", "segment 1: an interchange must start with UNB"),
        ("UNB+UNOA:2+A'", "segment 1: UNB needs"),
        (12345, "expected bytes or str"),
    ],
)
def test_unreadable_input_names_the_problem(data, expected):
    with pytest.raises(CodecError, match=expected):
        parse_interchange(data)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("261102:0930", "261302:0930"), "segment 1: UNB date/time '261302:0930' is not YYMMDD:HHMM"),
        (("00000301++", "ABC++"), "segment 1: UNB interchange reference 'ABC' is not a number"),
        (("UNOA:2", "XXXX:2"), "segment 1: UNB syntax identifier 'XXXX'"),
        (("UNH+00000401", "UNH+X9"), "segment 2: UNH message reference 'X9' is not a number"),
        (("FHSREG:0:1", "PAYMUL:0:1"), "segment 2: message type 'PAYMUL'"),
        (("RFF+950:F4'", ""), "segment 2: message 00000401 has no RFF\\+950"),
        (("RFF+TN:2'", "RFF+TN:2X'"), "segment 8: transaction number '2X' is not a number"),
        (("RFF+TN:2'", ""), "segment 7: S01 is not followed by RFF\\+TN"),
        (("UNT+14+00000401'", ""), "message 00000401 \\(segment 2\\) is not closed by UNT"),
        (("UNZ+1+00000301'", ""), "interchange ends without UNZ"),
        (("UNT+14+00000401'", "UNT+14+00000401'XYZ+1'"), "segment 16: expected UNH or UNZ, found 'XYZ\\+1'"),
    ],
)
def test_unreadable_input_names_segment_and_problem(edit, expected):
    with pytest.raises(CodecError, match=expected):
        parse_interchange(broken(*edit))


def test_codec_error_carries_the_segment_number():
    with pytest.raises(CodecError) as info:
        parse_interchange(broken("RFF+TN:1'", "RFF+TN:?+'"))
    assert info.value.segment == 13
    assert "is not a number" in info.value.problem


def test_segments_after_unz_are_a_warning_or_strict_error():
    text = corpus.read(F4).decode() + "\nJUNK+1'"
    assert parse_interchange(text).warnings == ["segment 17: 1 segment(s) after UNZ ignored"]
    with pytest.raises(CodecError, match="segment 17: 1 segment"):
        parse_interchange(text, strict=True)


def test_unknown_segments_inside_a_transaction_are_warnings():
    ic = parse_interchange(broken("S02+2'", "ZZZ+1'XYZ+Q'HEA+XX+1:ZZZ'S02+2'"))
    first, second = ic.messages[0].transactions
    assert first.warnings == [
        "segment 10: unexpected ZZZ segment ignored",
        "segment 11: unexpected XYZ segment ignored",
        "segment 12: unexpected HEA+XX ignored",
    ]
    assert (first.nhs_number, second.warnings) == ("9999999999", [])


def test_wrong_date_format_qualifier_is_a_warning():
    text = corpus.read("f2-deductions.edi").replace(b"20261031:102", b"20261031:203")
    first, second, _ = parse_interchange(text).messages[0].transactions
    assert first.warnings == ["segment 12: date format '203' is not 102"]
    assert second.warnings == []


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\xff",
        b"\xff" * 100,
        "UNB+UNOA:2+A+B+200101:0000+1'UNZ+0+1'".encode("utf-16"),
        b"UNB'" * 10,
        b"?" * 50,
        b"'" * 50,
        b"UNB+UNOA:2+A+B+200101:0000+1'UNH+1+FHSREG'UNT+2+1'UNZ+1+1'",
    ],
)
def test_garbage_is_a_codec_error(data):
    with pytest.raises(CodecError):
        parse_interchange(data)


def test_an_empty_interchange_is_readable():
    ic = parse_interchange("UNB+UNOA:2+A+B+200101:0000+1'UNZ+0+1'")
    assert ic.messages == [] and ic.warnings == []
