"""Interchange <-> plain JSON-ready dict (the shape staff tools, the CLI and the database store).

Three states survive the trip: an item not sent has no key (except ``nhs_number``, always present
and null when not sent), an erased item is null, and a blank address component is "".
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from . import codes
from .envelope import LONDON
from .errors import CodecError, unexpected
from .model import (
    ABSENT,
    ADDRESS_PARTS,
    DATE_FIELDS,
    ITEM_FIELDS,
    Address,
    Interchange,
    Message,
    Recep,
    RecepMessage,
    Transaction,
)
from .nhs_number import is_legacy_nhs_number

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def to_json(ic: Interchange) -> dict[str, Any]:
    """A dict of str/int/None/list/dict only, ready for ``json.dumps``."""
    try:
        out: dict[str, Any] = {
            "sender": ic.sender,
            "recipient": ic.recipient,
            "sis": ic.sis,
            "prepared_at": ic.prepared_at.isoformat(),
            "warnings": list(ic.warnings),
            "messages": [_message_to_json(m) for m in ic.messages],
        }
        if ic.recep is not None:
            out["recep"] = _recep_to_json(ic.recep)
        return out
    except CodecError:
        raise
    except Exception as exc:
        raise unexpected(exc, "cannot represent interchange as JSON") from exc


def _message_to_json(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"sms": msg.sms, "type": msg.type, "ha_cipher": msg.ha_cipher}
    if msg.quarter_end is not ABSENT:
        out["quarter_end"] = _json_value(msg.quarter_end)
    out["transactions"] = [transaction_to_json(tx) for tx in msg.transactions]
    if msg.error:
        out["error"] = msg.error
    return out


def transaction_to_json(tx: Transaction) -> dict[str, Any]:
    """One transaction as a dict; also what the pipeline stores per transaction row."""
    out: dict[str, Any] = {"tn": tx.tn, "type": tx.type}
    for name in ITEM_FIELDS:
        value = getattr(tx, name)
        if value is ABSENT:
            if name == "nhs_number":
                out[name] = None
            continue
        out[name] = _json_value(value)
    out["errors"] = list(tx.errors)
    out["warnings"] = list(tx.warnings)
    if tx.raw_segments:
        out["raw_segments"] = list(tx.raw_segments)
    return out


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Address):
        return {part: getattr(value, part) for part in ADDRESS_PARTS}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    raise CodecError(f"cannot represent {type(value).__name__} in JSON")


def _recep_to_json(r: Recep) -> dict[str, Any]:
    return {
        "sms": r.sms,
        "messages": [{"sms": m.sms, "code": m.code} for m in r.messages],
        "interchange_sis": r.interchange_sis,
        "interchange_code": r.interchange_code,
        "message_count": r.message_count,
        "ha_cipher": r.ha_cipher,
        "gp_code": r.gp_code,
        "received_at": r.received_at.isoformat(),
    }


def from_json(data: dict[str, Any]) -> Interchange:
    """Inverse of :func:`to_json`; a malformed document raises :class:`CodecError`."""
    try:
        _obj(data, "interchange")
        recep = _recep_from_json(_obj(data["recep"], "recep")) if data.get("recep") is not None else None
        return Interchange(
            sender=_str(data["sender"], "sender"),
            recipient=_str(data["recipient"], "recipient"),
            sis=_int(data["sis"], "sis"),
            prepared_at=_datetime(data["prepared_at"], "prepared_at"),
            messages=[_message_from_json(m) for m in _list(data.get("messages", []), "messages")],
            warnings=[_str(w, "warnings") for w in _list(data.get("warnings", []), "warnings")],
            app_ref=codes.RECEP_APP_REF if recep is not None else codes.FHSREG_APP_REF,
            recep=recep,
        )
    except CodecError:
        raise
    except KeyError as exc:
        raise CodecError(f"JSON interchange lacks the key {exc.args[0]!r}") from None
    except Exception as exc:
        raise unexpected(exc, "not a JSON interchange") from exc


def _message_from_json(m: dict[str, Any]) -> Message:
    _obj(m, "message")
    mtype = _str(m["type"], "message type")
    quarter_end = _date(m["quarter_end"], "quarter_end") if "quarter_end" in m else ABSENT
    txs = [transaction_from_json(t) for t in _list(m.get("transactions", []), "transactions")]
    if mtype == "F8":
        if quarter_end is ABSENT and txs:
            # Accepted for convenience from callers that keep the date on the transaction.
            quarter_end = txs[0].quarter_end
        for tx in txs:
            tx.quarter_end = quarter_end
    return Message(
        sms=_int(m["sms"], "sms"),
        type=mtype,
        ha_cipher=_str(m["ha_cipher"], "ha_cipher"),
        transactions=txs,
        quarter_end=quarter_end,
        error=_str(m.get("error", ""), "error"),
    )


def transaction_from_json(t: dict[str, Any]) -> Transaction:
    _obj(t, "transaction")
    tx = Transaction(tn=_int(t["tn"], "tn"), type=_str(t["type"], "type"))
    for name in ITEM_FIELDS:
        if name not in t:
            continue
        value = t[name]
        if value is None:
            setattr(tx, name, ABSENT if name == "nhs_number" else None)
        elif name in DATE_FIELDS:
            setattr(tx, name, _date(value, name))
        elif name == "address":
            setattr(tx, name, _address(value))
        elif name == "forenames":
            tx.forenames = [None if p is None else _str(p, name) for p in _list(value, name)]
        elif name == "previous_address":
            tx.previous_address = [_str(p, name) for p in _list(value, name)]
        else:
            setattr(tx, name, _str(value, name))
    if "quarter_end" in t:  # not emitted (the message carries it) but accepted, see F8 above
        tx.quarter_end = _date(t["quarter_end"], "quarter_end")
    tx.errors = [_str(e, "errors") for e in _list(t.get("errors", []), "errors")]
    tx.warnings = [_str(w, "warnings") for w in _list(t.get("warnings", []), "warnings")]
    tx.raw_segments = [_str(s, "raw_segments") for s in _list(t.get("raw_segments", []), "raw_segments")]
    tx.nhs_number_legacy = bool(tx.nhs_number) and is_legacy_nhs_number(tx.nhs_number)
    return tx


def _recep_from_json(r: dict[str, Any]) -> Recep:
    return Recep(
        messages=[
            RecepMessage(sms=_int(_obj(m, "recep message")["sms"], "sms"), code=_str(m["code"], "code"))
            for m in _list(r.get("messages", []), "recep messages")
        ],
        interchange_sis=_int(r["interchange_sis"], "interchange_sis"),
        interchange_code=_str(r["interchange_code"], "interchange_code"),
        message_count=_int(r["message_count"], "message_count"),
        ha_cipher=_str(r["ha_cipher"], "ha_cipher"),
        gp_code=_str(r["gp_code"], "gp_code"),
        received_at=_datetime(r["received_at"], "received_at"),
        sms=_int(r.get("sms", 1), "sms"),
    )


def _address(value: Any) -> Address:
    if not isinstance(value, dict):
        raise CodecError("address must be an object")
    parts = {}
    for part in ADDRESS_PARTS:
        v = value.get(part, "")
        parts[part] = None if v is None else _str(v, f"address.{part}")
    return Address(**parts)


def _obj(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise CodecError(f"a JSON {name} must be an object, got {type(value).__name__}")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise CodecError(f"JSON {name} must be a string, got {type(value).__name__}")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CodecError(f"JSON {name} must be an integer, got {type(value).__name__}")
    return value


def _list(value: Any, name: str) -> list:
    if not isinstance(value, list):
        raise CodecError(f"JSON {name} must be a list, got {type(value).__name__}")
    return value


def _date(value: Any, name: str) -> Any:
    """ISO date -> date; any other string is a raw wire value the parser could not read."""
    if value is None:
        return None
    text = _str(value, name)
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    return text


def _datetime(value: Any, name: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(_str(value, name))
    except ValueError:
        raise CodecError(f"JSON {name} {value!r} is not an ISO 8601 date-time") from None
    if when.tzinfo is None:
        raise CodecError(f"JSON {name} {value!r} has no UTC offset")
    return when.astimezone(LONDON)
