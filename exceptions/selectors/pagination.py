"""Keyset ("cursor") pagination: pages that cost the same on page 1 and on page 4,000.

OFFSET pagination makes the database walk past every earlier row, and a numbered paginator counts
them all first. A keyset page instead asks for the rows after (or before) the last row it showed, in
the order of an index, so a deep page is as cheap as the first (pganalyze, "Efficient Pagination in
Django and Postgres"). The price is that pages are reached by Next and Previous, not by number.

The order must be total: its last key is the primary key, every key is NOT NULL, and all keys run in
one direction, so that a row comparison `(a, id) > (x, 42)` matches the index order exactly.
"""

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan


@dataclass(frozen=True)
class Order:
    """Sort keys in one direction, the primary key last, e.g. Order(("due_at", "id"))."""

    keys: tuple[str, ...]
    descending: bool = False

    def __post_init__(self) -> None:
        if not self.keys or self.keys[-1] not in ("id", "pk"):
            raise ValueError("a keyset order must end with the primary key")

    def order_by(self, reverse: bool = False) -> list[str]:
        desc = self.descending != reverse
        return [f"-{k}" if desc else k for k in self.keys]


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    is_first: bool = True
    per_page: int = 25
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def encode_cursor(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime | dt.date) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str | None, model, order: Order) -> list[Any] | None:
    """The key values in a cursor, typed by the model's fields; None for a missing or damaged cursor."""
    if not token:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, list) or len(raw) != len(order.keys):
        return None
    values = []
    for name, value in zip(order.keys, raw, strict=True):
        model_field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        try:
            values.append(model_field.to_python(value))
        except Exception:  # any unreadable value means "no cursor", never a 500
            return None
        if values[-1] is None:
            return None
    return values


def _key(row, order: Order) -> list[Any]:
    return [getattr(row, "pk" if k == "id" else k) for k in order.keys]


def paginate(
    qs: QuerySet, order: Order, *, after: str | None = None, before: str | None = None, per_page: int = 25
) -> KeysetPage:
    """One page of `qs` in `order`: the first, the one after cursor `after`, or the one before `before`."""
    model = qs.model
    lhs = Tuple(*[F(k) for k in order.keys])
    before_values = decode_cursor(before, model, order)
    after_values = None if before_values else decode_cursor(after, model, order)

    if before_values is not None:
        lookup = TupleGreaterThan if order.descending else TupleLessThan
        rows = list(qs.filter(lookup(lhs, before_values)).order_by(*order.order_by(reverse=True))[: per_page + 1])
        if len(rows) > per_page:
            rows = rows[:per_page]
            rows.reverse()
            return KeysetPage(
                rows,
                next_cursor=encode_cursor(_key(rows[-1], order)),
                previous_cursor=encode_cursor(_key(rows[0], order)),
                is_first=False,
                per_page=per_page,
            )
        # Fewer than a page before this point: that is the start, so show the first page whole.
        return paginate(qs, order, per_page=per_page)

    page_qs = qs
    if after_values is not None:
        lookup = TupleLessThan if order.descending else TupleGreaterThan
        page_qs = qs.filter(lookup(lhs, after_values))
    rows = list(page_qs.order_by(*order.order_by())[: per_page + 1])
    if after_values is not None and not rows:
        # Past the end (the last rows were closed or reassigned meanwhile): start again, not an empty page.
        return paginate(qs, order, per_page=per_page)
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    return KeysetPage(
        rows,
        next_cursor=encode_cursor(_key(rows[-1], order)) if has_more and rows else None,
        previous_cursor=encode_cursor(_key(rows[0], order)) if after_values is not None and rows else None,
        is_first=after_values is None,
        per_page=per_page,
    )
