"""RECEP receipts (protocol section 5): the exact form PCRM sends, and reading partners' ones."""

from __future__ import annotations

import datetime as dt

import corpus
import pytest
from support import WHEN, g1_interchange, segments_of, single

from registrations.gplinks import (
    CodecError,
    Interchange,
    Transaction,
    build_interchange,
    build_recep,
    parse_interchange,
)

BATCH = "ha-batch-f4-f2-f9.edi"  # NHAIS's shape: messages 409, 410, 411 in interchange 309


def received(name: str = BATCH):
    return parse_interchange(corpus.read(name))


def test_recep_has_exactly_the_form_of_protocol_section_5():
    now = dt.datetime(2027, 3, 28, 2, 30, tzinfo=corpus.LONDON)  # just after the clocks went forward
    assert segments_of(build_recep(received(), sis=57, sms=1234, now=now)) == [
        "UNB+UNOA:2+TES5+XX11+270328:0230+00000057++RECEP+++EDIFACT TRANSFER",
        "UNH+00001234+RECEP:0:2:FH",
        "BGM++600+243:202703280230:306+64",
        "NHS+XX1:819:201+4826940,281:814:202",
        "DTM+815:202703280230:306",
        "RFF+MIS:00000409 CP",
        "RFF+MIS:00000410 CP",
        "RFF+MIS:00000411 CP",
        "RFF+RIS:00000309 OK:3",
        "UNT+9+00001234",  # UNH..UNT: 9 segments
        "UNZ+1+00000057",
    ]


def test_recep_time_is_uk_local_whatever_zone_now_is_in():
    local = build_recep(received(), sis=1, sms=1, now=dt.datetime(2026, 7, 1, 14, 38, tzinfo=corpus.LONDON))
    utc = build_recep(received(), sis=1, sms=1, now=dt.datetime(2026, 7, 1, 13, 38, tzinfo=dt.UTC))
    assert local == utc and b"+260701:1438+" in utc


def test_negative_codes_can_be_sent_when_asked():
    segs = segments_of(
        build_recep(received(), sis=1, sms=1, now=WHEN, message_codes={410: "CA"}, interchange_code="ER")
    )
    assert segs[5:9] == ["RFF+MIS:00000409 CP", "RFF+MIS:00000410 CA", "RFF+MIS:00000411 CP", "RFF+RIS:00000309 ER:3"]


def test_recep_of_a_recep_is_refused():
    with pytest.raises(CodecError, match="not themselves acknowledged"):
        build_recep(received("recep-negative.edi"), sis=1, sms=1, now=WHEN)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("RFF+MIS:00000212 CP", "RFF+MIS:ABC CP", "RFF\\+MIS"),
        ("RFF+RIS:00000110 ER:3", "RFF+RIS:00000110", "RFF\\+RIS"),
    ],
)
def test_malformed_recep_lines_are_codec_errors(old, new, message):
    text = corpus.read("recep-negative.edi").decode()
    assert old in text
    with pytest.raises(CodecError, match=message):
        parse_interchange(text.replace(old, new))


def test_recep_for_close_quarter_only_uses_gp_code_9999():
    cqn = single(Transaction(tn=99, type="F8", quarter_end=dt.date(2024, 6, 30)))
    received = parse_interchange(build_interchange(cqn))
    segs = segments_of(build_recep(received, sis=2, sms=3, now=WHEN))
    assert segs[3] == "NHS+XX1:819:201+9999:814:202"
    assert segs[5:7] == ["RFF+MIS:00000001 CP", "RFF+RIS:00000001 OK:1"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sis": 0}, "SIS"),
        ({"sms": "1"}, "RECEP SMS"),
        ({"now": "today"}, "expected a datetime"),
        ({"message_codes": {1: "XX"}}, "RECEP message code"),
        ({"interchange_code": "MAYBE"}, "RECEP interchange code"),
    ],
)
def test_bad_recep_arguments_raise_codec_error(kwargs, message):
    received = parse_interchange(g1_interchange())
    args = {"sis": 1, "sms": 1, "now": WHEN, **kwargs}
    with pytest.raises(CodecError, match=message):
        build_recep(received, **args)


def test_recep_needs_an_interchange():
    with pytest.raises(CodecError, match="expected an Interchange"):
        build_recep(b"UNB", sis=1, sms=1, now=WHEN)  # type: ignore[arg-type]
    empty = Interchange(sender="A", recipient="B", sis=1, prepared_at=WHEN)
    with pytest.raises(CodecError, match="no messages"):
        build_recep(empty, sis=1, sms=1, now=WHEN)
