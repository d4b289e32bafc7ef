"""Unreadable input: a CodecError that names the segment and the problem, and nothing else."""

from __future__ import annotations

import pytest
from codec_support import read_fixture

from registrations.gplinks import CodecError, parse_interchange

F4 = read_fixture("ha-to-gp/approval/app-j-with-nhs-number.edifact.dat").decode()


def broken(old: str, new: str) -> str:
    assert old in F4
    return F4.replace(old, new, 1)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "segment 1: empty input"),
        ("UNH+1+FHSREG:0:1:FH:FHS001'", "segment 1: an interchange must start with UNB"),
        ("UNB+UNOA:2+A'", "segment 1: UNB needs"),
        (broken("920125:1235", "921325:1235"), "segment 1: UNB date/time '921325:1235' is not YYMMDD:HHMM"),
        (broken("+00000003'", "+ABC'"), "segment 1: UNB interchange reference 'ABC' is not a number"),
        (broken("UNOA:2", "XXXX:2"), "segment 1: UNB syntax identifier 'XXXX'"),
        (broken("UNH+00000009", "UNH+X9"), "segment 2: UNH message reference 'X9' is not a number"),
        (broken("FHSREG:0:1", "PAYMUL:0:1"), "segment 2: message type 'PAYMUL'"),
        (broken("RFF+950:F4'", ""), "segment 2: message 00000009 has no RFF\\+950"),
        (broken("RFF+TN:13", "RFF+TN:1X"), "segment 8: transaction number '1X' is not a number"),
        (broken("RFF+TN:13'", ""), "segment 7: S01 is not followed by RFF\\+TN"),
        (broken("UNT+11+00000009'", ""), "message 00000009 \\(segment 2\\) is not closed by UNT"),
        (F4[: F4.index("UNZ")], "interchange ends without UNZ"),
        (broken("UNT+11+00000009'", "UNT+11+00000009'XYZ+1'"), "segment 13: expected UNH or UNZ, found 'XYZ\\+1'"),
        (12345, "expected bytes or str"),
    ],
)
def test_unreadable_input_names_segment_and_problem(data, expected):
    with pytest.raises(CodecError, match=expected):
        parse_interchange(data)


def test_codec_error_carries_the_segment_number():
    with pytest.raises(CodecError) as info:
        parse_interchange(broken("RFF+TN:13", "RFF+TN:?+"))
    assert info.value.segment == 8
    assert "is not a number" in info.value.problem


def test_segments_after_unz_are_a_warning_or_strict_error():
    text = F4 + "\nJUNK+1'"
    assert parse_interchange(text).warnings == ["segment 14: 1 segment(s) after UNZ ignored"]
    with pytest.raises(CodecError, match="segment 14: 1 segment"):
        parse_interchange(text, strict=True)


def test_unknown_segments_inside_a_transaction_are_warnings():
    ic = parse_interchange(broken("S02+2'", "ZZZ+1'XYZ+Q'HEA+XX+1:ZZZ'S02+2'"))
    tx = ic.messages[0].transactions[0]
    assert tx.warnings == [
        "segment 10: unexpected ZZZ segment ignored",
        "segment 11: unexpected XYZ segment ignored",
        "segment 12: unexpected HEA+XX ignored",
    ]
    assert tx.nhs_number == "RAT56"


def test_wrong_date_format_qualifier_is_a_warning():
    text = read_fixture("ha-to-gp/deduction/app-j-2.edifact.dat").replace(b"19920125:102", b"19920125:203")
    tx = parse_interchange(text).messages[0].transactions[0]
    assert tx.warnings == ["segment 12: date format '203' is not 102"]


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
