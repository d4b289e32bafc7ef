"""Syntax layer: separators, release character, CR/LF and terminator tolerance."""

from __future__ import annotations

import pytest

from registrations.gplinks import CodecError
from registrations.gplinks.tokenizer import components, decode, escape, split_segments, text_of, wire_of


def texts(data: str) -> list[list[str]]:
    return [[text_of(e) for e in seg.split("+")] for seg in split_segments(data)]


def test_plain_segments_split_on_terminator_and_elements():
    assert texts("UNB+UNOA:2+A'UNZ+1+1'") == [["UNB", "UNOA:2", "A"], ["UNZ", "1", "1"]]


def test_released_separators_are_data_not_structure():
    wire = "FTX+RGI+++PATIENT?'S ?+ 1 ?: PATIENTS??'UNT+2+1'"
    segs = split_segments(wire)
    assert len(segs) == 2
    els = segs[0].split("+")
    assert len(els) == 5
    assert text_of(els[4]) == "PATIENT'S + 1 : PATIENTS?"
    assert components(els[4]) == ["PATIENT'S + 1 : PATIENTS?"]


def test_release_runs_pair_up_from_the_left():
    # "???'" is an escaped "?" followed by an escaped "'", all inside one value.
    segs = split_segments("A+x???'y'B'")
    assert [wire_of(s) for s in segs] == ["A+x???'y", "B"]
    assert text_of(segs[0].split("+")[1]) == "x?'y"
    # "??'" is an escaped "?" and then a real terminator.
    assert [text_of(s) for s in split_segments("A+x??'B'")] == ["A+x?", "B"]


def test_release_before_an_ordinary_character_disappears():
    assert text_of(split_segments("A+?X'")[0].split("+")[1]) == "X"


def test_escaped_component_separator_stays_in_its_component():
    seg = split_segments("NAD+PAT++A?:B:ROAD'")[0]
    assert components(seg.split("+")[3]) == ["A:B", "ROAD"]


def test_cr_lf_anywhere_and_missing_final_terminator_are_tolerated():
    assert split_segments("UNB+U\r\nNOA'\nUNZ+1\n+1") == ["UNB+UNOA", "UNZ+1+1"]


def test_default_una_is_skipped_and_other_separators_are_refused():
    assert split_segments("UNA:+.? 'UNB+X'") == ["UNB+X"]
    with pytest.raises(CodecError, match="segment 1: UNA"):
        split_segments("UNA:*.? 'UNB*X'")


def test_empty_segments_are_dropped():
    assert split_segments("A''B'") == ["A", "B"]


@pytest.mark.parametrize("data", ["", "   ", "\r\n", "''", b"", b"\xef\xbb\xbf"])
def test_empty_input_is_a_codec_error(data):
    with pytest.raises(CodecError, match="empty input"):
        split_segments(decode(data)[0])


def test_genuine_c1_characters_survive_next_to_sentinels():
    # U+0080..U+0084 double as internal sentinels; real ones in the input must come back intact.
    wire = "FTX+RGI+++\x80?:\x84?'\x83\x840'"
    seg = split_segments(wire)[0]
    assert text_of(seg.split("+")[4]) == "\x80:\x84'\x83\x840"
    assert wire_of(seg) == wire[:-1]


def test_bytes_are_read_as_latin1_with_a_warning_for_non_ascii():
    text, warnings = decode("ABC\xe9".encode("latin-1"))
    assert text == "ABC\xe9"
    assert warnings and "outside ASCII" in warnings[0]


def test_text_beyond_latin1_is_refused_with_its_segment():
    with pytest.raises(CodecError, match="segment 2: character '\u20ac'"):
        decode("UNB+A'FTX+\u20ac'")


def test_non_text_input_is_refused():
    with pytest.raises(CodecError, match="expected bytes or str"):
        decode(12)  # type: ignore[arg-type]


def test_escape_is_the_inverse_of_reading():
    value = "O'BRIEN + CO: 50% ?"
    wire = f"X+{escape(value)}'"
    assert text_of(split_segments(wire)[0].split("+")[1]) == value
    assert escape(value) == "O?'BRIEN ?+ CO?: 50% ??"


def test_escape_refuses_line_breaks():
    with pytest.raises(CodecError, match="line break"):
        escape("TWO\nLINES")


def test_house_placeholder_reads_as_an_empty_component():
    segs = split_segments("UNB+X'NAD+PAT++??:1 ROAD:::TOWN'")
    assert components(segs[1].split("+")[3]) == ["", "1 ROAD", "", "", "TOWN"]


def test_placeholder_shortcut_never_fires_after_an_escaped_terminator():
    # Here the "'" is data, so "NAD+PAT" is not a segment start and "??" must stay a literal "?".
    segs = split_segments("FTX+RGI+++A?'NAD+PAT++??:X'NAD+PAT++??:Y'")
    first = segs[0].split("+")
    assert text_of(first[4]) == "A'NAD" and components(first[7]) == ["?", "X"]
    # The genuine placeholder in the same text is still read as "no house name" (here as "?",
    # which the parser maps to "" just the same).
    assert components(segs[1].split("+")[3])[1] == "Y"
