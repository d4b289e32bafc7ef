"""Interchange/message envelope shared by FHSREG and RECEP: UNB/UNZ, UNH/UNT, timestamps."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from . import codes
from .errors import CodecError
from .tokenizer import escape, text_of

LONDON = ZoneInfo("Europe/London")


class ParseContext:
    """State shared while reading one interchange: strictness, warnings, current segment."""

    __slots__ = ("strict", "warnings", "segment", "memo", "text_is_clean")

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.warnings: list[str] = []
        self.segment: int | None = None
        # segment text -> (item, immutable value) for segments that set exactly one item
        self.memo: dict[str, tuple[str, object]] = {}
        self.text_is_clean = False

    def envelope_problem(self, segment: int, problem: str) -> None:
        """Control-reference trouble: fatal when strict, otherwise remembered as a warning."""
        if self.strict:
            raise CodecError(problem, segment=segment)
        self.warnings.append(f"segment {segment}: {problem}")


def reference(value: str) -> int | None:
    """A control reference or count (SIS, SMS, TN, segment count); zero padding is allowed."""
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= 14:
        return int(value)
    return None


def unb_datetime(value: str) -> dt.datetime | None:
    """UNB ``YYMMDD:HHMM`` as UK local time; the 2-digit year is read as 20YY (section 8)."""
    d, _, t = value.partition(":")
    if len(d) != 6 or len(t) != 4 or not (d + t).isascii() or not (d + t).isdigit():
        return None
    try:
        return _canonical(
            dt.datetime(2000 + int(d[:2]), int(d[2:4]), int(d[4:]), int(t[:2]), int(t[2:]), tzinfo=LONDON)
        )
    except ValueError:
        return None


def _canonical(local: dt.datetime) -> dt.datetime:
    # A wall time inside the spring-forward gap does not exist; going through UTC turns it into
    # the real instant it stands for, so equal instants always compare equal.
    return local.astimezone(dt.UTC).astimezone(LONDON)


def edi_timestamp(value: str) -> dt.datetime | None:
    """CCYYMMDDHHMM (formats 203 and 306) as UK local time, or None if it is not one."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return None
    try:
        return _canonical(
            dt.datetime(
                int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]), int(value[10:]), tzinfo=LONDON
            )
        )
    except ValueError:
        return None


def london(when: dt.datetime) -> dt.datetime:
    """Wall-clock time in the UK; a naive datetime is taken to be UK time already."""
    if not isinstance(when, dt.datetime):
        raise CodecError(f"expected a datetime, got {type(when).__name__}")
    if when.tzinfo is None or when.tzinfo is LONDON:
        # Already UK wall-clock time: converting would move a time inside the spring-forward gap.
        return when
    return when.astimezone(LONDON)


def format_unb_datetime(when: dt.datetime) -> str:
    local = london(when)
    if not 2000 <= local.year <= 2099:
        raise CodecError(f"UNB cannot carry the year {local.year} (2-digit year read as 20YY)")
    return local.strftime("%y%m%d:%H%M")


def format_timestamp(when: dt.datetime) -> str:
    local = london(when)
    return f"{local.year:04d}{local.month:02d}{local.day:02d}{local.hour:02d}{local.minute:02d}"


def sequence(value: object, what: str) -> str:
    """An 8-digit SIS/SMS as it appears on the wire."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= codes.MAX_SEQUENCE:
        raise CodecError(f"{what} must be an integer from 1 to {codes.MAX_SEQUENCE}, got {value!r}")
    return f"{value:08d}"


def link_code(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise CodecError(f"{what} must be a non-empty string, got {value!r}")
    return escape(value)


def unb(sender: str, recipient: str, when: dt.datetime, sis: int, app_ref: str, agreement: str) -> str:
    return (
        f"UNB+UNOA:2+{link_code(sender, 'sender')}+{link_code(recipient, 'recipient')}"
        f"+{format_unb_datetime(when)}+{sequence(sis, 'SIS')}++{app_ref}+++{agreement}"
    )


def unz(message_count: int, sis: int) -> str:
    return f"UNZ+{message_count}+{sequence(sis, 'SIS')}"


def unt(segment_count: int, sms: int) -> str:
    return f"UNT+{segment_count}+{sequence(sms, 'SMS')}"


def read_unb(seg: str) -> tuple[str, str, dt.datetime, int, str | None]:
    els = seg.split("+")
    if len(els) < 6:
        raise CodecError("UNB needs syntax, sender, recipient, date/time and reference", segment=1)
    syntax = els[1].split(":")[0]
    if syntax not in ("UNOA", "UNOB", "UNOC"):
        raise CodecError(f"UNB syntax identifier {text_of(syntax)!r} is not UNOA", segment=1)
    sender = text_of(els[2].split(":")[0])
    recipient = text_of(els[3].split(":")[0])
    if not sender or not recipient:
        raise CodecError("UNB sender and recipient are mandatory", segment=1)
    prepared_at = unb_datetime(els[4])
    if prepared_at is None:
        raise CodecError(f"UNB date/time {text_of(els[4])!r} is not YYMMDD:HHMM", segment=1)
    sis = reference(els[5])
    if sis is None:
        raise CodecError(f"UNB interchange reference {text_of(els[5])!r} is not a number", segment=1)
    app_ref = text_of(els[7]) if len(els) > 7 and els[7] else None
    return sender, recipient, prepared_at, sis, app_ref


def _shown(els: list[str], index: int) -> str:
    return text_of(els[index]) if len(els) > index else "nothing"


def check_unz(seg: str, segno: int, sis: int, count: int, ctx: ParseContext) -> None:
    els = seg.split("+")
    if (reference(els[1]) if len(els) > 1 else None) != count:
        ctx.envelope_problem(segno, f"UNZ declares {_shown(els, 1)} message(s), interchange has {count}")
    if (reference(els[2]) if len(els) > 2 else None) != sis:
        ctx.envelope_problem(segno, f"UNZ reference {_shown(els, 2)} does not match UNB {sis:08d}")


def check_unt(segs: list[str], start: int, end: int, sms: int, ctx: ParseContext) -> None:
    """Compare the UNT at ``end`` with the message whose UNH is at ``start`` (0-based indexes)."""
    els = segs[end].split("+")
    actual = end - start + 1
    if (reference(els[1]) if len(els) > 1 else None) != actual:
        ctx.envelope_problem(end + 1, f"UNT declares {_shown(els, 1)} segment(s), message has {actual}")
    if (reference(els[2]) if len(els) > 2 else None) != sms:
        ctx.envelope_problem(end + 1, f"UNT reference {_shown(els, 2)} does not match UNH {sms:08d}")
