"""RECEP receipts (protocol section 5): the exact form PCRM sends, and reading partners' ones."""

from __future__ import annotations

import datetime as dt

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

MULTI = "ha-to-gp/multi/multi_transaction.1.dat"
MULTI_RECEP = "recep/multi_transaction.1.recep.dat"


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
