"""Dataclasses -> EDIFACT bytes, for the F-transactions PCRM sends (and any type, for tests).

Every item a transaction carries is written in one canonical segment order that matches the
per-type layouts of protocol section 4, so a single writer serves all types and the parser reads
back exactly what was written. Numbers (SIS, SMS, TN) are the caller's: the codec never invents
them, because they belong to per-link counters stored in the database.
"""

from __future__ import annotations

import datetime as dt

from . import codes
from .envelope import format_timestamp, sequence, unb, unt, unz
from .errors import CodecError, unexpected
from .model import ABSENT, Address, Interchange, Message, Transaction
from .recep import recep_segments
from .tokenizer import escape, join_segments

_HOUSE_PLACEHOLDER = "??"  # `?` escaped: NHAIS's "no house name" (section 8)


def build_interchange(ic: Interchange) -> bytes:
    """Serialise ``ic`` with the sis/sms/tn values it holds; UNT/UNZ counts are computed."""
    try:
        if not isinstance(ic, Interchange):
            raise CodecError(f"expected an Interchange, got {type(ic).__name__}")
        if ic.recep is not None:
            return join_segments(recep_segments(ic))
        if not ic.messages:
            raise CodecError("an interchange needs at least one message")
        segs = [
            unb(
                ic.sender,
                ic.recipient,
                ic.prepared_at,
                ic.sis,
                codes.FHSREG_APP_REF,
                codes.FHSREG_COMMS_AGREEMENT,
            )
        ]
        for msg in ic.messages:
            segs.extend(message_segments(msg, ic.prepared_at))
        segs.append(unz(len(ic.messages), ic.sis))
        return join_segments(segs)
    except CodecError:
        raise
    except Exception as exc:  # the codec's contract: nothing but CodecError escapes
        raise unexpected(exc, "cannot build interchange") from exc


def message_segments(msg: Message, prepared_at: dt.datetime) -> list[str]:
    """UNH..UNT of one FHSREG message; DTM+137 is the message's own time or the interchange's."""
    sms = sequence(msg.sms, "SMS")
    if not msg.transactions:
        raise CodecError(f"message {sms} has no transactions")
    if not isinstance(msg.type, str) or not msg.type:
        raise CodecError(f"message {sms} has no transaction type")
    body = [
        f"UNH+{sms}+FHSREG:0:1:FH:FHS001",
        "BGM+++507",
        f"NAD+FHS+{escape(_text(msg.ha_cipher, 'ha_cipher'))}:954",
        f"DTM+137:{format_timestamp(msg.prepared_at or prepared_at)}:203",
    ]
    if msg.type == "F8":
        quarter_end = msg.quarter_end or msg.transactions[0].quarter_end
        if not isinstance(quarter_end, dt.date):
            raise CodecError(f"message {sms}: an F8 needs a quarter_end date")
        body.append(f"DTM+206:{_date(quarter_end)}:102")
    body.append(f"RFF+950:{escape(msg.type)}")
    for tx in msg.transactions:
        if tx.type != msg.type:
            raise CodecError(f"message {sms} is {msg.type} but holds a {tx.type} transaction (TN {tx.tn})")
        body.extend(transaction_segments(tx))
    body.append(unt(len(body) + 1, msg.sms))
    return body


# Complexity exemption (C901): codec hot path: one pass over the segment order the protocol fixes


def transaction_segments(tx: Transaction) -> list[str]:  # noqa: C901
    """Segments of one transaction in canonical order (protocol section 4)."""
    if not isinstance(tx, Transaction):
        raise CodecError(f"expected a Transaction, got {type(tx).__name__}")
    if isinstance(tx.tn, bool) or not isinstance(tx.tn, int) or not 1 <= tx.tn <= codes.MAX_SEQUENCE:
        raise CodecError(f"transaction number must be an integer from 1 to {codes.MAX_SEQUENCE}, got {tx.tn!r}")
    if tx.raw_segments:
        # Obsolete/unknown types are relayed exactly as they arrived.
        return list(tx.raw_segments)
    if tx.type == "F8":
        return [f"RFF+TN:{tx.tn}", f"GIS+{codes.CLOSE_QUARTER_GIS}:ZZZ"]

    out = ["S01+1", f"RFF+TN:{tx.tn}"]
    add = out.append
    if (v := _item(tx, "gp_code")) is not None:
        add(f"NAD+GP+{v}:900")
    if (v := _item(tx, "residential_institute")) is not None:
        add(f"NAD+RIC+{v}:956")
    if (v := _item(tx, "previous_gp")) is not None:
        add(f"NAD+PGP+++{v}")
    if (v := _item(tx, "previous_ha")) is not None:
        add(f"NAD+PFH+{v}:954")
    if (v := _item(tx, "new_ha")) is not None:
        add(f"NAD+NFH+{v}:954")
    for name, qualifier in (
        ("acceptance_code", "ACD"),
        ("acceptance_type", "ATP"),
        ("drugs_dispensed", "DM"),
        ("fp69_reason", "FRN"),
    ):
        if (v := _item(tx, name)) is not None:
            add(f"HEA+{qualifier}+{v}:ZZZ")
    if (v := _item(tx, "deduction_reason")) is not None:
        add(f"GIS+{v}:ZZZ")
    for name, qualifier in (
        ("acceptance_date", "956"),
        ("entry_date", "957"),
        ("exit_date", "958"),
        ("deduction_date", "961"),
        ("fp69_expiry", "962"),
    ):
        if (v := _date_item(tx, name)) is not None:
            add(f"DTM+{qualifier}:{v}:102")
    if (v := _item(tx, "place_of_birth")) is not None:
        add(f"LOC+950+{v}")
    if (v := _item(tx, "free_text")) is not None:
        add(f"FTX+RGI+++{v}")

    person = []
    if (pna := _pna_pat(tx)) is not None:
        person.append(pna)
    if (v := _date_item(tx, "birth_date")) is not None:
        person.append(f"DTM+329:{v}:102")
    if (v := _item(tx, "sex")) is not None:
        person.append(f"PDI+{v}")
    if tx.address is not ABSENT:
        person.append(_nad_pat(tx.address))
    if isinstance(tx.previous_address, list) and any(tx.previous_address):
        lines = ":".join(escape(_text(line, "previous_address")) for line in tx.previous_address if line)
        person.append(f"NAD+PER++{lines}")
    elif tx.previous_address not in (ABSENT, []):
        raise CodecError(f"TN {tx.tn}: previous_address must be a list of lines")
    if person:
        out.append("S02+2")
        out.extend(person)

    amended = _item(tx, "amended_nhs_number")
    previous = _item(tx, "previous_surname")
    if amended is not None or previous is not None:
        ident = f"{amended}:API" if amended is not None else ""
        out.append("S02+2")
        out.append(f"PNA+PER+{ident}+++SU:{previous}" if previous is not None else f"PNA+PER+{ident}")
    return out


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise CodecError(f"{name} must be text, got {type(value).__name__}")
    return value


def _item(tx: Transaction, name: str) -> str | None:
    """Wire value of a plain item: None when not sent, ``%`` when erased."""
    value = getattr(tx, name)
    if value is ABSENT or value == "":
        return None
    if value is None:
        return codes.ERASE
    return escape(_text(value, f"TN {tx.tn}: {name}"))


def _date(value: dt.date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _date_item(tx: Transaction, name: str) -> str | None:
    value = getattr(tx, name)
    if value is ABSENT or value == "":
        return None
    if value is None:
        return codes.ERASE
    if isinstance(value, dt.date):
        return _date(value)
    # A raw string is a date that arrived unreadable: sent back as it came, for relays and tests.
    return escape(_text(value, f"TN {tx.tn}: {name}"))


def _name_part(value: object, name: str) -> str:
    if value is None:
        return codes.ERASE
    return escape(_text(value, name))


def _pna_pat(tx: Transaction) -> str | None:
    nhs = _item(tx, "nhs_number")
    ident = f"{nhs}:OPI" if nhs is not None else ""
    names = ["", "", "", "", ""]  # SU, FO, TI, MI, FS: the order NHAIS expects
    if (v := _item(tx, "surname")) is not None:
        names[0] = f"SU:{v}"
    if (v := _item(tx, "title")) is not None:
        names[2] = f"TI:{v}"
    forenames = tx.forenames
    if forenames is None:
        names[1] = "FO:%"  # forenames are erased only as a group
    elif isinstance(forenames, list | tuple):
        if len(forenames) > 3:
            raise CodecError(f"TN {tx.tn}: forenames holds at most first, middle and others")
        for slot, qualifier, part in zip((1, 3, 4), ("FO", "MI", "FS"), forenames, strict=False):
            if part != "":
                names[slot] = f"{qualifier}:{_name_part(part, 'forenames')}"
    elif forenames is not ABSENT:
        raise CodecError(f"TN {tx.tn}: forenames must be a list")
    while names and not names[-1]:
        names.pop()
    if not names:
        return f"PNA+PAT+{ident}" if ident else None
    return "+".join(["PNA", "PAT", ident, "", "", *names])


def _nad_pat(addr: object) -> str:
    if not isinstance(addr, Address):
        raise CodecError(f"address must be an Address, got {type(addr).__name__}")
    parts = []
    for name in ("house", "road", "locality", "post_town", "county"):
        value = getattr(addr, name)
        if value is None:
            parts.append(codes.ERASE)
        elif name == "house" and value == "":
            parts.append(_HOUSE_PLACEHOLDER)
        else:
            parts.append(escape(_text(value, f"address.{name}")))
    seg = f"NAD+PAT++{':'.join(parts)}"
    if addr.postcode is None:
        return f"{seg}+++++{codes.ERASE}"
    if addr.postcode:
        return f"{seg}+++++{escape(_text(addr.postcode, 'address.postcode'))}"
    return seg


def group_messages(transactions: list[tuple[str, Transaction]], *, first_sms: int) -> list[Message]:
    """One message per (transaction type, HA cipher), in order of first appearance.

    SMS numbers run on from ``first_sms`` and wrap from 99,999,999 to 1 like the counters.
    F8s are also split by quarter end, because that date lives in the message header.
    """
    try:
        sequence(first_sms, "first_sms")
        groups: dict[tuple, Message] = {}
        for ha_cipher, tx in transactions:
            if not isinstance(tx, Transaction):
                raise CodecError(f"expected a Transaction, got {type(tx).__name__}")
            _text(ha_cipher, "ha_cipher")
            quarter = tx.quarter_end if tx.type == "F8" else ABSENT
            key = (tx.type, ha_cipher, quarter)
            msg = groups.get(key)
            if msg is None:
                sms = (first_sms - 1 + len(groups)) % codes.MAX_SEQUENCE + 1
                msg = groups[key] = Message(sms=sms, type=tx.type, ha_cipher=ha_cipher, quarter_end=quarter)
            msg.transactions.append(tx)
        return list(groups.values())
    except CodecError:
        raise
    except Exception as exc:
        raise unexpected(exc, "cannot group transactions") from exc
