"""Unreadable input: a CodecError that names the segment and the problem, and nothing else."""

from __future__ import annotations

import pytest

from registrations.gplinks import CodecError, parse_interchange


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
