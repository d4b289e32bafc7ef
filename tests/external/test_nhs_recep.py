"""RECEP receipts (protocol section 5): the exact form PCRM sends, and reading partners' ones."""

from __future__ import annotations

import datetime as dt

import pytest
from support import WHEN, read_fixture, segments_of

from registrations.gplinks import (
    CodecError,
    Recep,
    RecepMessage,
    build_interchange,
    build_recep,
    from_json,
    parse_interchange,
    to_json,
)
from registrations.gplinks.envelope import LONDON

MULTI = "ha-to-gp/multi/multi_transaction.1.dat"
MULTI_RECEP = "recep/multi_transaction.1.recep.dat"

pytestmark = pytest.mark.external


def without_own_numbers_and_times(segs: list[str]) -> list[str]:
    """Blank what legitimately differs: timestamps and the RECEP's own SIS/SMS."""
    out = []
    for seg in segs:
        els = seg.split("+")
        if els[0] == "UNB":
            els[4], els[5] = "<time>", "<sis>"
        elif els[0] in ("UNH", "UNZ"):
            els[-1 if els[0] == "UNZ" else 1] = "<ref>"
        elif els[0] == "UNT":
            els[2] = "<ref>"
        elif els[0] == "BGM":
            els[3] = "243:<time>:306"
        elif els[0] == "DTM":
            els[1] = "815:<time>:306"
        out.append("+".join(els))
    return out


def test_recep_for_multi_transaction_matches_the_reference_recep():
    received = parse_interchange(read_fixture(MULTI))
    ours = build_recep(received, sis=57, sms=1234, now=dt.datetime(2026, 11, 21, 4, 33, tzinfo=LONDON))
    expected = read_fixture(MULTI_RECEP)
    assert without_own_numbers_and_times(segments_of(ours)) == without_own_numbers_and_times(segments_of(expected))
    assert segments_of(ours)[0] == "UNB+UNOA:2+TES5+XX11+261121:0433+00000057++RECEP+++EDIFACT TRANSFER"


def test_recep_is_byte_identical_with_the_reference_numbers_and_time():
    received = parse_interchange(read_fixture(MULTI))
    ours = build_recep(received, sis=1, sms=1, now=dt.datetime(2020, 6, 10, 14, 38, tzinfo=LONDON))
    assert ours == read_fixture(MULTI_RECEP)


def test_recep_time_is_uk_local_whatever_zone_now_is_in():
    received = parse_interchange(read_fixture(MULTI))
    ours = build_recep(received, sis=1, sms=1, now=dt.datetime(2020, 6, 10, 13, 38, tzinfo=dt.UTC))
    assert ours == read_fixture(MULTI_RECEP)


def test_reading_the_reference_recep():
    ic = parse_interchange(read_fixture(MULTI_RECEP), strict=True)
    assert ic.messages == [] and ic.app_ref == "RECEP"
    assert (ic.sender, ic.recipient, ic.sis) == ("TES5", "XX11", 1)
    r = ic.recep
    assert r == Recep(
        messages=[RecepMessage(sms, "CP") for sms in (6, 7, 8, 9)],
        interchange_sis=3,
        interchange_code="OK",
        message_count=4,
        ha_cipher="XX1",
        gp_code="4826940,281",
        received_at=dt.datetime(2020, 6, 10, 14, 38, tzinfo=LONDON),
        sms=1,
    )


def test_reading_a_recep_with_a_translation_error():
    ic = parse_interchange(read_fixture("recep/recep.dat"))
    assert [(m.sms, m.code) for m in ic.recep.messages] == [(100, "CP"), (200, "CA")]
    assert (ic.recep.interchange_sis, ic.recep.message_count, ic.recep.gp_code) == (1, 2, "123456")
    assert ic.warnings == ["segment 9: UNT declares 10 segment(s), message has 8"]


def test_recep_round_trips_through_build_and_json():
    ic = parse_interchange(read_fixture(MULTI_RECEP))
    assert parse_interchange(build_interchange(ic)) == ic
    assert from_json(to_json(ic)) == ic
    assert to_json(ic)["recep"]["messages"][0] == {"sms": 6, "code": "CP"}


def test_negative_codes_can_be_sent_when_asked():
    received = parse_interchange(read_fixture(MULTI))
    segs = segments_of(build_recep(received, sis=1, sms=1, now=WHEN, message_codes={7: "CA"}, interchange_code="ER"))
    assert "RFF+MIS:00000007 CA" in segs and "RFF+RIS:00000003 ER:4" in segs


def test_recep_of_a_recep_is_refused():
    received = parse_interchange(read_fixture(MULTI_RECEP))
    with pytest.raises(CodecError, match="not themselves acknowledged"):
        build_recep(received, sis=1, sms=1, now=WHEN)


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("RFF+MIS:ABC CP", "RFF\\+MIS"),
        ("RFF+RIS:00000003", "RFF\\+RIS"),
    ],
)
def test_malformed_recep_lines_are_codec_errors(segment, message):
    text = read_fixture(MULTI_RECEP).decode().replace("RFF+MIS:00000006 CP", segment)
    text = text.replace("RFF+RIS:00000003 OK:4", segment) if "RIS" in segment else text
    with pytest.raises(CodecError, match=message):
        parse_interchange(text)
