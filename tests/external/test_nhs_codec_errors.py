"""Unreadable input built from an NHS Digital fixture (external suite): a CodecError that names the
segment and the problem."""

from __future__ import annotations

import functools

import pytest
from support import read_fixture

from registrations.gplinks import CodecError, parse_interchange

pytestmark = pytest.mark.external


@functools.cache
def f4() -> str:
    # Read when a test runs, never at import: a clone without ../shared must still collect.
    return read_fixture("ha-to-gp/approval/app-j-with-nhs-number.edifact.dat").decode()


def broken(old: str, new: str) -> str:
    assert old in f4()
    return f4().replace(old, new, 1)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("920125:1235", "921325:1235"), "segment 1: UNB date/time '921325:1235' is not YYMMDD:HHMM"),
        (("+00000003'", "+ABC'"), "segment 1: UNB interchange reference 'ABC' is not a number"),
        (("UNOA:2", "XXXX:2"), "segment 1: UNB syntax identifier 'XXXX'"),
        (("UNH+00000009", "UNH+X9"), "segment 2: UNH message reference 'X9' is not a number"),
        (("FHSREG:0:1", "PAYMUL:0:1"), "segment 2: message type 'PAYMUL'"),
        (("RFF+950:F4'", ""), "segment 2: message 00000009 has no RFF\\+950"),
        (("RFF+TN:13", "RFF+TN:1X"), "segment 8: transaction number '1X' is not a number"),
        (("RFF+TN:13'", ""), "segment 7: S01 is not followed by RFF\\+TN"),
        (("UNT+11+00000009'", ""), "message 00000009 \\(segment 2\\) is not closed by UNT"),
        ("before UNZ", "interchange ends without UNZ"),
        (("UNT+11+00000009'", "UNT+11+00000009'XYZ+1'"), "segment 13: expected UNH or UNZ, found 'XYZ\\+1'"),
    ],
)
def test_unreadable_input_names_segment_and_problem(edit, expected):
    data = f4()[: f4().index("UNZ")] if edit == "before UNZ" else broken(*edit)
    with pytest.raises(CodecError, match=expected):
        parse_interchange(data)


def test_codec_error_carries_the_segment_number():
    with pytest.raises(CodecError) as info:
        parse_interchange(broken("RFF+TN:13", "RFF+TN:?+"))
    assert info.value.segment == 8
    assert "is not a number" in info.value.problem


def test_segments_after_unz_are_a_warning_or_strict_error():
    text = f4() + "\nJUNK+1'"
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
