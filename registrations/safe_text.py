"""Text from outside (MESH headers, EDIFACT values) made fit for PostgreSQL.

PostgreSQL text and jsonb cannot hold U+0000, and a value longer than its column aborts the whole
database transaction: either would let one hostile message stop the work around it. Every string
that reaches the database from outside passes through here. NUL becomes U+FFFD (the replacement
character), so the value still shows where something was, and over-long values are cut to the
column with a visible ellipsis; the raw bytes are always kept elsewhere, untouched.
"""

from typing import Any

REPLACEMENT = "\ufffd"
ELLIPSIS = "…"


def pg_text(value: Any, max_length: int | None = None) -> str:
    text = "" if value is None else str(value)
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + ELLIPSIS
    return text


def pg_json(value: Any) -> Any:
    """A JSON-able value with every string (keys too) free of NUL; structure unchanged."""
    if isinstance(value, str):
        return pg_text(value)
    if isinstance(value, dict):
        return {pg_text(k): pg_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [pg_json(v) for v in value]
    return value


def fit(model, **values) -> dict[str, Any]:
    """`values` for `model`'s fields, with text bounded to each CharField's max_length and no NUL."""
    out = {}
    for name, value in values.items():
        if isinstance(value, str):
            max_length = getattr(model._meta.get_field(name), "max_length", None)
            out[name] = pg_text(value, max_length)
        elif isinstance(value, dict | list):
            out[name] = pg_json(value)
        else:
            out[name] = value
    return out
