"""EDIFACT bytes -> :class:`Interchange` (FHSREG or RECEP).

The hot path is :func:`_read_transactions`: one loop over segments with the dispatch written out
inline, because per-segment function calls and full component splitting would cost more than the
whole parsing budget of the ingest pipeline (see docs/benchmarks.md, "codec").
"""

from __future__ import annotations

import datetime as dt

from . import codes
from .envelope import ParseContext, check_unt, check_unz, edi_timestamp, read_unb, reference
from .errors import CodecError, unexpected
from .model import ABSENT, Address, Interchange, Message, Transaction
from .nhs_number import is_legacy_nhs_number
from .recep import read_recep_message
from .tokenizer import components, decode, split_segments, text_of, wire_of
from .validation import APPENDIX_K, validate_unchecked

_DTM_FIELDS = {
    "329": "birth_date",
    "956": "acceptance_date",
    "957": "entry_date",
    "958": "exit_date",
    "961": "deduction_date",
    "962": "fp69_expiry",
}
_NAD_FIELDS = {"GP": "gp_code", "RIC": "residential_institute", "PFH": "previous_ha", "NFH": "new_ha"}
_HEA_FIELDS = {"ACD": "acceptance_code", "ATP": "acceptance_type", "DM": "drugs_dispensed", "FRN": "fp69_reason"}
_ENVELOPE = frozenset({"UNT", "UNH", "UNZ"})
_DELETE_WIRE_CHARACTERS = str.maketrans("", "", APPENDIX_K + "\r\n")


def parse_interchange(data: bytes | str, *, strict: bool = False, isolate_messages: bool = False) -> Interchange:
    """Parse a whole interchange.

    Envelope inconsistencies (UNT segment counts, UNH/UNT and UNB/UNZ references, the UNZ message
    count, segments after UNZ) are warnings unless ``strict``; anything that cannot be read at all
    raises :class:`CodecError`. Transaction-level problems never raise: they are listed in
    ``tx.errors`` (validation) and ``tx.warnings`` (structure).

    With ``isolate_messages`` a FHSREG message that cannot be read does not sink the interchange:
    it comes back with ``error`` set and no transactions, so the receiver can reject that message in
    its RECEP and process the others. Only the envelope (UNB, UNZ) and messages whose own reference
    cannot be read still raise.
    """
    ctx = ParseContext(strict)
    try:
        return _parse(data, ctx, isolate_messages)
    except CodecError:
        raise
    except Exception as exc:
        raise unexpected(exc, "unreadable", segment=ctx.segment) from exc


def _parse(data: bytes | str, ctx: ParseContext, isolate: bool = False) -> Interchange:
    text, warnings = decode(data)
    ctx.warnings.extend(warnings)
    # One pass over the whole interchange instead of an Appendix K check per transaction: if the
    # wire holds nothing else (line breaks aside), no unescaped value can.
    ctx.text_is_clean = not text.translate(_DELETE_WIRE_CHARACTERS)
    segs = split_segments(text)
    ctx.segment = 1
    if not segs[0].startswith("UNB+"):
        raise CodecError(f"an interchange must start with UNB, found {wire_of(segs[0])[:20]!r}", segment=1)
    sender, recipient, prepared_at, sis, app_ref = read_unb(segs[0])
    read_message, read_unknown = _readers(isolate)

    messages: list[Message] = []
    recep = None
    n = len(segs)
    i = 1
    while True:
        if i >= n:
            raise CodecError("interchange ends without UNZ (truncated?)", segment=n)
        seg = segs[i]
        ctx.segment = i + 1
        tag = seg.split("+", 1)[0]
        if tag == "UNZ":
            break
        if tag != "UNH":
            raise CodecError(f"expected UNH or UNZ, found {wire_of(seg)[:20]!r}", segment=i + 1)
        els = seg.split("+")
        mtype = els[2].split(":")[0] if len(els) > 2 else ""
        if mtype == codes.FHSREG and recep is None:
            msg, i = read_message(segs, i, els, ctx)
            messages.append(msg)
        elif mtype == codes.RECEP and recep is None and not messages:
            recep, i = read_recep_message(segs, i, els, ctx)
        elif mtype in (codes.FHSREG, codes.RECEP):
            raise CodecError("a RECEP interchange holds exactly one RECEP message and nothing else", segment=i + 1)
        else:
            msg, i = read_unknown(segs, i, els, ctx)
            messages.append(msg)

    ctx.segment = i + 1
    check_unz(segs[i], i + 1, sis, 1 if recep is not None else len(messages), ctx)
    if i + 1 < n:
        ctx.envelope_problem(i + 2, f"{n - i - 1} segment(s) after UNZ ignored")
    return Interchange(
        sender=sender,
        recipient=recipient,
        sis=sis,
        prepared_at=prepared_at,
        messages=messages,
        warnings=ctx.warnings,
        app_ref=app_ref,
        recep=recep,
    )


def _unknown_type(segs: list[str], i: int, unh: list[str], ctx: ParseContext) -> tuple[Message, int]:
    mtype = unh[2].split(":")[0] if len(unh) > 2 else ""
    raise CodecError(f"message type {text_of(mtype)!r} is neither FHSREG nor RECEP", segment=i + 1)


def _isolating(read):
    """`read`, but a message it cannot read comes back rejected instead of sinking the interchange."""

    def isolated(segs: list[str], i: int, unh: list[str], ctx: ParseContext) -> tuple[Message, int]:
        try:
            return read(segs, i, unh, ctx)
        except CodecError as exc:
            return _rejected_message(segs, i, unh, exc)

    return isolated


def _readers(isolate: bool):
    """How to read a FHSREG message and a message of unknown type, with or without isolation."""
    if isolate:
        return _isolating(_read_message), _isolating(_unknown_type)
    return _read_message, _unknown_type


def _rejected_message(segs: list[str], i: int, unh: list[str], exc: CodecError) -> tuple[Message, int]:
    """A message that could not be read, skipped up to its UNT (or the next UNH/UNZ).

    It keeps what is needed to answer it in a RECEP: its reference from UNH, or else from its UNT.
    Without either the RECEP could not name it, so the interchange as a whole is unreadable.
    """
    n = len(segs)
    k = i + 1
    tx_type = ha_cipher = ""
    while k < n:
        tag = segs[k].split("+", 1)[0]
        if tag in ("UNT", "UNH", "UNZ"):
            break
        if segs[k].startswith("RFF+950:") and not tx_type:
            tx_type = text_of(segs[k][8:])
        elif segs[k].startswith("NAD+FHS+") and not ha_cipher:
            ha_cipher = text_of(segs[k][8:].split(":")[0])
        k += 1
    sms = reference(unh[1]) if len(unh) > 1 else None
    closed = k < n and segs[k].startswith("UNT")
    if sms is None and closed:
        unt = segs[k].split("+")
        sms = reference(unt[2]) if len(unt) > 2 else None
    if sms is None:
        raise exc
    return Message(sms=sms, type=tx_type, ha_cipher=ha_cipher, error=str(exc)), (k + 1 if closed else k)


# Complexity exemption (C901): codec hot path: one pass over a message's segments


def _read_message(segs: list[str], i: int, unh: list[str], ctx: ParseContext) -> tuple[Message, int]:  # noqa: C901
    sms = reference(unh[1]) if len(unh) > 1 else None
    if sms is None:
        shown = text_of(unh[1]) if len(unh) > 1 else ""
        raise CodecError(f"UNH message reference {shown!r} is not a number", segment=i + 1)
    n = len(segs)
    ha_cipher = ""
    tx_type = None
    quarter_end = ABSENT
    prepared_at = None
    k = i + 1
    while k < n:
        s = segs[k]
        els = s.split("+")
        tag = els[0]
        # Exactly the tests the transaction loop uses, so it always starts on one of these.
        if tag in _ENVELOPE or tag == "S01" or s.startswith("RFF+TN:"):
            break
        comps = els[1].split(":") if len(els) > 1 else [""]
        q = comps[0]
        value = comps[1] if len(comps) > 1 else ""
        if tag == "RFF" and q == "950":
            tx_type = text_of(value)
        elif tag == "NAD" and q == "FHS":
            ha_cipher = text_of(els[2].split(":")[0]) if len(els) > 2 else ""
        elif tag == "DTM" and q == "137":
            prepared_at = edi_timestamp(value)  # untrusted (NHAIS bug): diagnosis only
        elif tag == "DTM" and q == "206":
            quarter_end = _date(value)
        elif tag != "BGM":
            ctx.warnings.append(f"segment {k + 1}: unexpected {text_of(tag)} segment in message header ignored")
        k += 1
    if not tx_type:
        raise CodecError(f"message {sms:08d} has no RFF+950 transaction type", segment=i + 1)
    if not ha_cipher:
        ctx.warnings.append(f"segment {i + 1}: message {sms:08d} has no NAD+FHS HA cipher")
    txs, k = _read_transactions(segs, k, tx_type, quarter_end, ctx.memo, ctx.text_is_clean)
    if k >= n or segs[k].split("+", 1)[0] != "UNT":
        raise CodecError(f"message {sms:08d} (segment {i + 1}) is not closed by UNT", segment=min(k + 1, n))
    check_unt(segs, i, k, sms, ctx)
    if not txs:
        ctx.warnings.append(f"segment {i + 1}: message {sms:08d} holds no transactions")
    message = Message(
        sms=sms,
        type=tx_type,
        ha_cipher=ha_cipher,
        transactions=txs,
        quarter_end=quarter_end if tx_type == "F8" else ABSENT,
        prepared_at=prepared_at,
    )
    return message, k + 1


# Dates repeat heavily in a batch (acceptance dates, birth dates); date objects are immutable, so
# sharing them is safe and saves most of the cost of building them.
_DATE_CACHE: dict[str, dt.date] = {}
_DATE_CACHE_LIMIT = 50_000


def _date(v: str):
    """CCYYMMDD -> date; ``%`` -> None (erased); empty -> ABSENT; anything else kept raw."""
    d = _DATE_CACHE.get(v)
    if d is not None:
        return d
    if len(v) == 8 and v.isascii() and v.isdigit():
        try:
            d = dt.date(int(v[:4]), int(v[4:6]), int(v[6:]))
        except ValueError:
            return v
        if len(_DATE_CACHE) >= _DATE_CACHE_LIMIT:
            _DATE_CACHE.clear()
        _DATE_CACHE[v] = d
        return d
    if not v:
        return ABSENT
    if v == "%":
        return None
    return text_of(v)


def _value(v: str):
    """A plain item: empty -> ABSENT, ``%`` -> None (erased), else the unescaped text."""
    if not v:
        return ABSENT
    if v == "%":
        return None
    return v if v.isascii() else text_of(v)


def _address(els: list[str]) -> Address:
    raw = els[3] if len(els) > 3 else ""
    comps = components(raw)
    if len(comps) < 5:
        comps.extend([""] * (5 - len(comps)))  # trailing components may be cut off (live F1)
    if "%" in raw:
        comps = [None if c == "%" else c for c in comps]
    house = comps[0]
    if house == "?":  # the `??` placeholder for "no house name" (section 8)
        house = ""
    postcode = ""
    if len(els) > 8:
        postcode = components(els[8])[0]
        if postcode == "%":
            postcode = None
    return Address(house, comps[1], comps[2], comps[3], comps[4], postcode)


def _free_text(els: list[str], index: int) -> str | None:
    # A long text may arrive split over several components (C108 allows five); they are
    # consecutive pieces of one text, so they are read back joined by a space.
    parts = [c for c in components(els[index]) if c]
    if parts == ["%"]:
        return None
    return " ".join(parts)


# Complexity exemption (C901): codec hot path: one pass over a PNA's name elements


def _names(tx: Transaction, els: list[str]) -> None:  # noqa: C901
    """Name parts of PNA+PAT, found by qualifier wherever they sit (section 8)."""
    fo = mi = fs = ABSENT
    for e in els[3:]:
        if not e:
            continue  # elements 3 and 4 are always empty; gaps between name parts too
        q, _, v = e.partition(":")
        if not v:
            continue  # empty position, or a qualifier without a value: nothing sent
        if v == "%":
            v = None
        elif not v.isascii():
            v = text_of(v)
        if q == "SU":
            tx.surname = v
        elif q == "FO":
            fo = v
        elif q == "TI":
            tx.title = v
        elif q == "MI":
            mi = v
        elif q == "FS":
            fs = v
    if fo is ABSENT and mi is ABSENT and fs is ABSENT:
        return
    if fo is None and mi is ABSENT and fs is ABSENT:
        tx.forenames = None
        return
    parts = ["" if fo is ABSENT else fo, "" if mi is ABSENT else mi, "" if fs is ABSENT else fs]
    while parts and parts[-1] == "":
        parts.pop()
    tx.forenames = parts


_NOOP = ("", None)  # memo entry for a segment that sets nothing (S02, obsolete segments)


# Complexity exemption (C901): the codec's hot loop, one pass over every segment of every
# transaction; split into functions it is measurably slower (bench codec).


def _read_transactions(  # noqa: C901
    segs: list[str],
    start: int,
    tx_type: str,
    quarter_end,
    memo: dict[str, tuple[str, object]],
    text_is_clean: bool,
) -> tuple[list[Transaction], int]:
    """Read transactions from ``start`` up to (not including) the next envelope segment.

    A transaction starts at S01 when there is one, otherwise at RFF+TN (F8 has no S01). The
    message header loop stops exactly at S01 or RFF+TN, and an S01 is only accepted when RFF+TN
    follows it, so every other segment here belongs to a transaction that already exists.

    ``memo`` maps a segment string to the single item it sets, for segments whose whole effect is
    one immutable value (NAD+GP, HEA, DTM, PDI, LOC, S02...). Batches repeat those constantly (one
    GP code, a handful of dates and codes), so most segments are settled by one dict lookup.
    """
    n = len(segs)
    txs: list[Transaction] = []
    keep_raw = tx_type not in codes.LIVE_TYPES
    is_f8 = tx_type == "F8"
    tx: Transaction = None  # type: ignore[assignment]  # set by the first S01/RFF+TN
    raw: list[str] = []
    s01_at = -1
    k = start
    memo_get = memo.get
    try:
        for k in range(start, n):  # k is also read after the loop and by the handler
            s = segs[k]
            hit = memo_get(s)
            if hit is not None:
                if keep_raw:
                    raw.append(wire_of(s))
                name = hit[0]
                if name:
                    if name == "gp_code" and tx.gp_code is not ABSENT:
                        tx.warnings.append(f"segment {k + 1}: second NAD+GP in one transaction; last one kept")
                    setattr(tx, name, hit[1])
                continue
            els = s.split("+")
            tag = els[0]
            if keep_raw and tag not in _ENVELOPE and tag != "S01" and not s.startswith("RFF+TN:"):
                raw.append(wire_of(s))
            if tag == "S01":
                if k + 1 >= n or not segs[k + 1].startswith("RFF+TN:"):
                    raise CodecError("S01 is not followed by RFF+TN", segment=k + 1)
                s01_at = k
            elif tag == "RFF" and len(els) > 1 and els[1][:3] == "TN:":
                tn_text = els[1][3:]
                if not (tn_text.isascii() and tn_text.isdigit() and len(tn_text) <= 14):
                    raise CodecError(f"transaction number {text_of(tn_text)!r} is not a number", segment=k + 1)
                if tx is not None:
                    _finish(tx, raw, keep_raw, text_is_clean)
                tx = Transaction(tn=int(tn_text), type=tx_type)
                txs.append(tx)
                if keep_raw:
                    raw = [wire_of(segs[j]) for j in range(s01_at if s01_at >= 0 else k, k + 1)]
                    tx.warnings.append(f"segment {k + 1}: transaction type {tx_type} is obsolete or unknown; kept raw")
                elif is_f8:
                    tx.quarter_end = quarter_end
                s01_at = -1
            elif tag == "NAD":
                q = els[1] if len(els) > 1 else ""
                if q == "PAT":
                    tx.address = _address(els)
                    continue
                v = _value(els[2].split(":")[0]) if len(els) > 2 else ABSENT
                name = _NAD_FIELDS.get(q)
                if name is not None:
                    if name == "gp_code" and tx.gp_code is not ABSENT:
                        tx.warnings.append(f"segment {k + 1}: second NAD+GP in one transaction; last one kept")
                    setattr(tx, name, v)
                    memo[s] = (name, v)
                elif q == "PER":
                    lines = [c for c in components(els[3]) if c] if len(els) > 3 else []
                    tx.previous_address = lines if lines else ABSENT
                elif q == "PGP":
                    text = _free_text(els, 4) if len(els) > 4 else ""
                    tx.previous_gp = text if text else ABSENT
                    memo[s] = ("previous_gp", tx.previous_gp)
                else:
                    tx.warnings.append(f"segment {k + 1}: unexpected NAD+{text_of(q)} ignored")
            elif tag == "DTM":
                comps = els[1].split(":") if len(els) > 1 else [""]
                name = _DTM_FIELDS.get(comps[0])
                if name is None:
                    tx.warnings.append(f"segment {k + 1}: unexpected DTM+{text_of(comps[0])} ignored")
                    continue
                v = _date(comps[1]) if len(comps) > 1 else ABSENT
                setattr(tx, name, v)
                if len(comps) > 2 and comps[2] != "102":
                    tx.warnings.append(f"segment {k + 1}: date format {text_of(comps[2])!r} is not 102")
                else:
                    memo[s] = (name, v)
            elif tag == "HEA":
                q = els[1] if len(els) > 1 else ""
                name = _HEA_FIELDS.get(q)
                if name is not None:
                    v = _value(els[2].split(":")[0]) if len(els) > 2 else ABSENT
                    setattr(tx, name, v)
                    memo[s] = (name, v)
                elif q == "BM":  # obsolete blocked-route marker: tolerated and ignored (section 2)
                    memo[s] = _NOOP
                else:
                    tx.warnings.append(f"segment {k + 1}: unexpected HEA+{text_of(q)} ignored")
            elif tag == "PNA":
                q = els[1] if len(els) > 1 else ""
                ident, _, qual = els[2].partition(":") if len(els) > 2 else ("", "", "")
                if q == "PAT":
                    if tx.nhs_number is not ABSENT:
                        tx.warnings.append(f"segment {k + 1}: second PNA+PAT in one transaction; last one kept")
                    # No erase semantics for NHS numbers: a `%` stays literal and fails validation.
                    tx.nhs_number = text_of(ident) if ident else ABSENT
                    if len(els) > 3:
                        _names(tx, els)
                elif q == "PER":
                    if ident:
                        tx.amended_nhs_number = text_of(ident)
                        if qual != "API":
                            tx.warnings.append(f"segment {k + 1}: PNA+PER identification qualifier is not API")
                    for e in els[3:]:
                        if e.startswith("SU:"):
                            tx.previous_surname = _value(e[3:])
                else:
                    tx.warnings.append(f"segment {k + 1}: unexpected PNA+{text_of(q)} ignored")
            elif tag == "PDI":
                tx.sex = v = _value(els[1].split(":")[0]) if len(els) > 1 else ABSENT
                memo[s] = ("sex", v)
            elif tag == "FTX":
                text = _free_text(els, 4) if len(els) > 4 else ""
                if text is None:
                    tx.free_text = None
                elif text:
                    # A second FTX continues the first rather than replacing it.
                    tx.free_text = f"{tx.free_text} {text}" if tx.free_text else text
            elif tag == "LOC":
                tx.place_of_birth = v = _value(els[2].split(":")[0]) if len(els) > 2 else ABSENT
                memo[s] = ("place_of_birth", v)
            elif tag == "GIS":
                # Not memoised: GIS+Q means "close quarter" in an F8 but a (bad) reason elsewhere.
                code = _value(els[1].split(":")[0]) if len(els) > 1 else ABSENT
                if not (is_f8 and code == codes.CLOSE_QUARTER_GIS):
                    tx.deduction_reason = code
            elif tag in _ENVELOPE:
                break
            elif tag == "S02" or tag == "QTY":
                # S02 opens the person group; QTY+951/952 are obsolete mileage/walking units.
                memo[s] = _NOOP
            else:
                tx.warnings.append(f"segment {k + 1}: unexpected {text_of(tag)[:3]} segment ignored")
        else:
            k = n
    except CodecError:
        raise
    except Exception as exc:
        raise unexpected(exc, "unreadable", segment=k + 1) from exc
    if tx is not None:
        _finish(tx, raw, keep_raw, text_is_clean)
    return txs, k


def _finish(tx: Transaction, raw: list[str], keep_raw: bool, text_is_clean: bool) -> None:
    if keep_raw:
        tx.raw_segments = raw
    nhs = tx.nhs_number
    if nhs and not (len(nhs) == 10 and nhs.isdigit()) and is_legacy_nhs_number(nhs):
        tx.nhs_number_legacy = True
    tx.errors = validate_unchecked(tx, text_is_clean=text_is_clean)
