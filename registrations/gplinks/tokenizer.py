"""EDIFACT syntax layer: text <-> segments, with the default UNOA separators.

Design for speed: the parser has to handle tens of thousands of transactions a second, so a
per-character loop is out. Escapes are removed with a few C-level ``str.replace`` calls that swap
each released separator for a sentinel character; after that plain ``str.split`` is safe at every
level, and a value only needs translating back when it is non-ASCII, which ``str.isascii``
answers in constant time.

The sentinels are the C1 control characters U+0080..U+0083: non-ASCII (so detectable) yet
within Latin-1 (so an ASCII interchange stays a one-byte-per-character string, which keeps the
replaces and splits fast). The odd input that really contains one of them has it shadowed into
the private-use area first and restored on the way out, so no byte is ever misread.
"""

from __future__ import annotations

import re

from .errors import CodecError

SEGMENT = "'"
ELEMENT = "+"
COMPONENT = ":"
RELEASE = "?"

# Stand-ins for released characters while splitting.
S_SEGMENT = "\x80"
S_ELEMENT = "\x81"
S_COMPONENT = "\x82"
S_RELEASE = "\x83"
# Genuine U+0080..U+0084 in the input (e.g. a Windows-1252 euro sign) are "shadowed" as U+0084
# followed by a digit, so a sentinel never meets a real character and a shadow is found with a
# single ``in`` test.
_SHADOW_MARK = "\x84"
_SHADOWED = tuple(chr(c) for c in range(0x80, 0x85))
_SHADOW = str.maketrans({0x80 + i: f"{_SHADOW_MARK}{i}" for i in range(5)})
# The mark itself (code 4) is restored last, so a restored mark is never read as a new shadow.
_UNSHADOW = tuple((f"{_SHADOW_MARK}{i}", chr(0x80 + i)) for i in (0, 1, 2, 3, 4))
# str.translate walks a dict per character once a string is non-ASCII, which made restoring a
# 40-character address cost microseconds; a few memchr-backed replaces are an order faster.
_RESTORE_TEXT = ((S_RELEASE, RELEASE), (S_SEGMENT, SEGMENT), (S_ELEMENT, ELEMENT))  # ":" is separate
_RESTORE_WIRE = ((S_RELEASE, "??"), (S_SEGMENT, "?'"), (S_ELEMENT, "?+"), (S_COMPONENT, "?:"))
_ESCAPE = str.maketrans({"?": "??", "'": "?'", "+": "?+", ":": "?:"})
_RELEASED_PAIRS = (("??", S_RELEASE), ("?'", S_SEGMENT), ("?+", S_ELEMENT), ("?:", S_COMPONENT))
# After the four separator escapes are gone, a remaining "?x" releases an ordinary character: the
# standard says the release character simply disappears.
_OTHER_RELEASE = re.compile(r"\?(.)", re.S)
_DEFAULT_UNA = "UNA:+.? '"
_PLACEHOLDER = "'NAD+PAT++??:"
_ESCAPED_PLACEHOLDER = "?" + _PLACEHOLDER
_NO_HOUSE = "'NAD+PAT++:"


def decode(data: bytes | bytearray | memoryview | str) -> tuple[str, list[str]]:
    """Turn input into text, returning it with any warnings about its characters.

    Bytes are read as Latin-1, which accepts every byte: UNOA is a subset of ASCII, so anything
    beyond it is reported as a warning rather than guessed at.
    """
    warnings: list[str] = []
    if isinstance(data, str):
        text = data
        if not text.isascii() and max(text) > "\xff":
            pos = next(i for i, ch in enumerate(text) if ch > "\xff")
            seg = text.count(SEGMENT, 0, pos) + 1
            raise CodecError(f"character {text[pos]!r} is outside the Latin-1/UNOA range", segment=seg)
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        text = raw.decode("latin-1")
    else:
        raise CodecError(f"expected bytes or str, got {type(data).__name__}")
    if not text.isascii():
        warnings.append("input contains characters outside ASCII (not UNOA); kept as Latin-1")
    return text, warnings


# Complexity exemption (C901): codec hot loop: one pass over every character of an interchange


def split_segments(text: str) -> list[str]:  # noqa: C901
    """Split text into segments (without terminators) whose released characters are sentinels.

    CR/LF are removed wherever they are, a missing final terminator is tolerated, and a default
    UNA service string is skipped.
    """
    if "\r" in text:
        text = text.replace("\r", "")
    if "\n" in text:
        text = text.replace("\n", "")
    text = text.strip()
    if not text:
        raise CodecError("empty input: no segments", segment=1)
    if text.startswith("UNA"):
        if text[:9] != _DEFAULT_UNA:
            raise CodecError(f"UNA service string {text[:9]!r} declares separators other than the defaults", segment=1)
        text = text[9:]
    if not text.isascii() and any(c in text for c in _SHADOWED):
        text = text.translate(_SHADOW)
    if _PLACEHOLDER in text and _ESCAPED_PLACEHOLDER not in text:
        # The commonest escape by far is `??`, NHAIS's "no house name", at the start of NAD+PAT.
        # Dropping it here (an empty house name means the same) often leaves no release character
        # at all, so the whole escape pass below is skipped. Only done when every such terminator
        # is certainly real, i.e. none is preceded by a release character.
        text = text.replace(_PLACEHOLDER, _NO_HOUSE)
    if RELEASE in text:
        # "??" first: pairing releases from the left is how a left-to-right reader sees them, so
        # what remains afterwards is a lone release before the next character. A replace with
        # nothing to do is skipped, because each one copies the whole text.
        for pair, sentinel in _RELEASED_PAIRS:
            if pair in text:
                text = text.replace(pair, sentinel)
        if RELEASE in text:
            text = _OTHER_RELEASE.sub(r"\1", text)
    segments = text.split(SEGMENT)
    if not segments[-1]:
        segments.pop()
    if "" in segments:
        segments = [s for s in segments if s]
    if not segments:
        raise CodecError("empty input: no segments", segment=1)
    return segments


def _has_shadow(value: str) -> bool:
    return _SHADOW_MARK in value


def _unshadow(value: str) -> str:
    for shadow, original in _UNSHADOW:
        if shadow in value:
            value = value.replace(shadow, original)
    return value


def _restore(value: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for sentinel, original in pairs:
        if sentinel in value:
            value = value.replace(sentinel, original)
    return value


def text_of(value: str) -> str:
    """Unescaped text of a value taken from a split segment."""
    if value.isascii():
        return value
    restored = _restore(value, _RESTORE_TEXT)
    if S_COMPONENT in restored:
        restored = restored.replace(S_COMPONENT, COMPONENT)
    # Shadows go last, so a genuine U+0080..U+0083 is never taken for a sentinel.
    return _unshadow(restored) if _has_shadow(value) else restored


def components(element: str) -> list[str]:
    """Unescaped components of an element; the element is restored once, not per component."""
    if element.isascii():
        return element.split(COMPONENT)
    comps = _restore(element, _RESTORE_TEXT).split(COMPONENT)
    if S_COMPONENT in element:
        comps = [c.replace(S_COMPONENT, COMPONENT) for c in comps]
    if _has_shadow(element):
        comps = [_unshadow(c) for c in comps]
    return comps


def wire_of(segment: str) -> str:
    """Wire form (escapes restored, no terminator) of a split segment, for keeping raw segments."""
    if segment.isascii():
        return segment
    wire = _restore(segment, _RESTORE_WIRE)
    return _unshadow(wire) if _has_shadow(segment) else wire


def escape(value: str) -> str:
    """Escape a value for the wire; refuses characters no receiver could read back."""
    if "\r" in value or "\n" in value:
        raise CodecError(f"value {value!r} contains a line break, which receivers strip")
    return value.translate(_ESCAPE)


def join_segments(segments: list[str]) -> bytes:
    """Serialise already-escaped segments the way NHAIS files look: one per line, final ``'``."""
    text = "'\n".join(segments) + "'"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        seg = text.count("'\n", 0, exc.start) + 1
        raise CodecError(f"character {bad!r} cannot be sent in a UNOA interchange", segment=seg) from None
