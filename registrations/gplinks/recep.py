"""RECEP receipt reports (protocol section 5): reading them and writing the ones PCRM sends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from . import codes
from .envelope import (
    ParseContext,
    check_unt,
    edi_timestamp,
    format_timestamp,
    reference,
    sequence,
    unb,
    unt,
    unz,
)
from .errors import CodecError, unexpected
from .model import Interchange, Recep, RecepMessage
from .tokenizer import escape, join_segments, text_of


# Complexity exemption (C901): the codec reads a RECEP in one pass over its segments.
def read_recep_message(segs: list[str], i: int, unh: list[str], ctx: ParseContext) -> tuple[Recep, int]:  # noqa: C901
    """Read the RECEP message whose UNH is at ``i``; returns it and the index after its UNT."""
    sms = reference(unh[1]) if len(unh) > 1 else None
    if sms is None:
        raise CodecError("UNH message reference is not a number", segment=i + 1)
    ha_cipher = gp_code = ""
    received_at = None
    messages: list[RecepMessage] = []
    ris = None
    n = len(segs)
    k = i + 1
    while k < n:
        s = segs[k]
        tag = s.split("+", 1)[0]
        if tag in ("UNT", "UNH", "UNZ"):
            break
        els = s.split("+")
        if tag == "NHS":
            ha_cipher = text_of(els[1].split(":")[0]) if len(els) > 1 else ""
            gp_code = text_of(els[2].split(":")[0]) if len(els) > 2 else ""
        elif tag == "DTM":
            comps = els[1].split(":") if len(els) > 1 else [""]
            if comps[0] == "815":
                received_at = edi_timestamp(comps[1] if len(comps) > 1 else "")
        elif tag == "RFF":
            qual, _, value = els[1].partition(":") if len(els) > 1 else ("", "", "")
            if qual == "MIS":
                ref, _, code = text_of(value).partition(" ")
                msg_sms = reference(ref)
                if msg_sms is None or not code:
                    raise CodecError(f"RFF+MIS {text_of(value)!r} is not '<SMS> <code>'", segment=k + 1)
                messages.append(RecepMessage(sms=msg_sms, code=code.strip()))
            elif qual == "RIS":
                ref, _, rest = value.partition(" ")
                code, _, count = rest.partition(":")
                ris = (reference(ref), text_of(code).strip(), reference(count))
                if ris[0] is None or not ris[1] or ris[2] is None:
                    raise CodecError(f"RFF+RIS {text_of(value)!r} is not '<SIS> <code>:<count>'", segment=k + 1)
            else:
                ctx.warnings.append(f"segment {k + 1}: unexpected RFF+{text_of(qual)} in RECEP ignored")
        elif tag != "BGM":
            ctx.warnings.append(f"segment {k + 1}: unexpected {text_of(tag)} segment in RECEP ignored")
        k += 1
    if k >= n or segs[k].split("+", 1)[0] != "UNT":
        raise CodecError(f"RECEP message {sms:08d} (segment {i + 1}) is not closed by UNT", segment=min(k + 1, n))
    check_unt(segs, i, k, sms, ctx)
    if ris is None:
        raise CodecError("RECEP has no RFF+RIS interchange reference", segment=i + 1)
    if received_at is None:
        raise CodecError("RECEP has no readable DTM+815 date/time", segment=i + 1)
    sis, code, count = ris
    if count != len(messages):
        ctx.warnings.append(f"segment {i + 1}: RECEP quotes {count} message(s) but lists {len(messages)} RFF+MIS")
    recep = Recep(
        messages=messages,
        interchange_sis=sis,
        interchange_code=code,
        message_count=count,
        ha_cipher=ha_cipher,
        gp_code=gp_code,
        received_at=received_at,
        sms=sms,
    )
    return recep, k + 1


def recep_segments(ic: Interchange) -> list[str]:
    """Segments of a whole RECEP interchange, in the exact form NHAIS validates (section 5)."""
    r = ic.recep
    if r is None:
        raise CodecError("interchange has no RECEP body")
    stamp = format_timestamp(ic.prepared_at)
    body = [
        f"UNH+{sequence(r.sms, 'RECEP SMS')}+RECEP:0:2:FH",
        f"BGM++600+243:{stamp}:306+64",
        f"NHS+{escape(r.ha_cipher)}:819:201+{escape(r.gp_code)}:814:202",
        f"DTM+815:{format_timestamp(r.received_at)}:306",
    ]
    for m in r.messages:
        if m.code not in codes.RECEP_MESSAGE_CODES:
            raise CodecError(f"RECEP message code {m.code!r} is not one of CP, CA, CI")
        body.append(f"RFF+MIS:{sequence(m.sms, 'acknowledged SMS')} {m.code}")
    if r.interchange_code not in codes.RECEP_INTERCHANGE_CODES:
        raise CodecError(f"RECEP interchange code {r.interchange_code!r} is not one of OK, NA, ER")
    if isinstance(r.message_count, bool) or not isinstance(r.message_count, int) or r.message_count < 0:
        raise CodecError(f"RECEP message count must be a non-negative integer, got {r.message_count!r}")
    body.append(f"RFF+RIS:{sequence(r.interchange_sis, 'acknowledged SIS')} {r.interchange_code}:{r.message_count}")
    body.append(unt(len(body) + 1, r.sms))
    head = unb(ic.sender, ic.recipient, ic.prepared_at, ic.sis, codes.RECEP_APP_REF, codes.RECEP_COMMS_AGREEMENT)
    return [head, *body, unz(1, ic.sis)]


def recep_for(
    received: Interchange,
    *,
    sis: int,
    sms: int,
    now: dt.datetime,
    message_codes: Mapping[int, str] | None = None,
    interchange_code: str = "OK",
) -> Interchange:
    """The RECEP interchange acknowledging ``received``, as a dataclass.

    Sender and recipient are swapped; the HA cipher comes from the first NAD+FHS and the GP code
    from the first NAD+GP, or 9999 when there is none (an interchange of CQNs only).
    """
    if not isinstance(received, Interchange):
        raise CodecError(f"expected an Interchange, got {type(received).__name__}")
    if received.recep is not None:
        raise CodecError("RECEPs are not themselves acknowledged")
    if not received.messages:
        raise CodecError("interchange has no messages to acknowledge")
    codes_by_sms = message_codes or {}
    gp_code = next(
        (
            tx.gp_code
            for msg in received.messages
            for tx in msg.transactions
            if isinstance(tx.gp_code, str) and tx.gp_code
        ),
        codes.RECEP_NO_GP,
    )
    recep = Recep(
        messages=[RecepMessage(sms=m.sms, code=codes_by_sms.get(m.sms, "CP")) for m in received.messages],
        interchange_sis=received.sis,
        interchange_code=interchange_code,
        message_count=len(received.messages),
        ha_cipher=received.messages[0].ha_cipher,
        gp_code=gp_code,
        received_at=now,
        sms=sms,
    )
    return Interchange(
        sender=received.recipient,
        recipient=received.sender,
        sis=sis,
        prepared_at=now,
        app_ref=codes.RECEP_APP_REF,
        recep=recep,
    )


def build_recep(
    received: Interchange,
    *,
    sis: int,
    sms: int,
    now: dt.datetime,
    message_codes: Mapping[int, str] | None = None,
    interchange_code: str = "OK",
) -> bytes:
    """Bytes of the RECEP PCRM sends back for ``received``.

    The adaptor (and NHAIS) always answer CP per message and OK for the interchange, even for
    duplicates; ``message_codes``/``interchange_code`` exist for the rare negative receipt.
    """
    try:
        ic = recep_for(
            received, sis=sis, sms=sms, now=now, message_codes=message_codes, interchange_code=interchange_code
        )
        return join_segments(recep_segments(ic))
    except CodecError:
        raise
    except Exception as exc:
        raise unexpected(exc, "cannot build RECEP") from exc
