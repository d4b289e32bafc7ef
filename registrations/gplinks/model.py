"""Plain dataclasses exchanged with the rest of PCRM.

Three states matter for every data item, because amendments (G2/F1) rely on them:

* ``ABSENT``: the item was not sent (in an amendment: unchanged).
* ``None``: the item was erased on the wire with ``%``.
* a value: the item was sent.

Dates are :class:`datetime.date`. A date the wire carried but that is not a real calendar date is
kept as its raw string, so nothing is lost and validation can report it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final


class _Absent:
    """Singleton marking an item that was not sent; falsy so ``if tx.title:`` reads naturally."""

    _instance: _Absent | None = None
    __slots__ = ()

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ABSENT"

    # Copies and pickles must stay the singleton, or `is ABSENT` checks break after a deepcopy
    # (hypothesis, Celery payloads).
    def __copy__(self) -> _Absent:
        return self

    def __deepcopy__(self, memo: Any) -> _Absent:
        return self

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

# Item fields of a Transaction in wire order; shared by the builder, JSON and validation so the
# three never disagree on what a transaction can carry.
ITEM_FIELDS: Final = (
    "gp_code",
    "nhs_number",
    "surname",
    "forenames",
    "title",
    "sex",
    "birth_date",
    "address",
    "acceptance_code",
    "acceptance_type",
    "acceptance_date",
    "place_of_birth",
    "previous_gp",
    "previous_ha",
    "previous_address",
    "new_ha",
    "entry_date",
    "exit_date",
    "deduction_reason",
    "deduction_date",
    "fp69_reason",
    "fp69_expiry",
    "free_text",
    "drugs_dispensed",
    "residential_institute",
    "previous_surname",
    "amended_nhs_number",
)
DATE_FIELDS: Final = frozenset(
    {"birth_date", "acceptance_date", "entry_date", "exit_date", "deduction_date", "fp69_expiry"}
)
ADDRESS_PARTS: Final = ("house", "road", "locality", "post_town", "county", "postcode")


@dataclass(slots=True)
class Address:
    """NHAIS five-line address plus postcode. ``""`` = blank component, ``None`` = erased (``%``).

    ``postcode`` ``""`` also means "not sent", which in an amendment leaves it unchanged: the wire
    cannot tell the two apart.
    """

    house: str | None = ""
    road: str | None = ""
    locality: str | None = ""
    post_town: str | None = ""
    county: str | None = ""
    postcode: str | None = ""


@dataclass(slots=True)
class Transaction:
    """One GP Links transaction (G1..G5, F1..F11) with typed items.

    ``forenames`` is ``[first, middle, others]`` (FO, MI, FS) with trailing unsent parts dropped;
    an unsent part before a sent one is ``""``. ``None`` for the whole list means ``FO:%``.
    """

    tn: int
    type: str
    gp_code: Any = ABSENT
    nhs_number: Any = ABSENT
    surname: Any = ABSENT
    forenames: Any = ABSENT
    title: Any = ABSENT
    sex: Any = ABSENT
    birth_date: Any = ABSENT
    address: Any = ABSENT
    acceptance_code: Any = ABSENT
    acceptance_type: Any = ABSENT
    acceptance_date: Any = ABSENT
    place_of_birth: Any = ABSENT
    previous_gp: Any = ABSENT
    previous_ha: Any = ABSENT
    previous_address: Any = ABSENT
    new_ha: Any = ABSENT
    entry_date: Any = ABSENT
    exit_date: Any = ABSENT
    deduction_reason: Any = ABSENT
    deduction_date: Any = ABSENT
    fp69_reason: Any = ABSENT
    fp69_expiry: Any = ABSENT
    free_text: Any = ABSENT
    drugs_dispensed: Any = ABSENT
    residential_institute: Any = ABSENT
    previous_surname: Any = ABSENT
    amended_nhs_number: Any = ABSENT
    quarter_end: Any = ABSENT
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    nhs_number_legacy: bool = False
    raw_segments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Message:
    """One UNH..UNT message: a single transaction type for a single HA cipher.

    ``prepared_at`` is the message's own DTM+137, which NHAIS is known to get wrong: it is kept for
    diagnosis only, never used for decisions, and does not take part in equality.
    """

    sms: int
    type: str
    ha_cipher: str
    transactions: list[Transaction] = field(default_factory=list)
    quarter_end: Any = ABSENT
    prepared_at: dt.datetime | None = field(default=None, compare=False)
    # Set only when parsing with ``isolate_messages``: why this message could not be read. Its
    # transactions are then empty, and the RECEP answers it with a rejection code.
    error: str = ""


@dataclass(slots=True)
class RecepMessage:
    """One RFF+MIS line of a RECEP: the acknowledged message's SMS and its code (CP/CA/CI)."""

    sms: int
    code: str


@dataclass(slots=True)
class Recep:
    """Body of a RECEP interchange.

    ``sms`` is the RECEP's own message reference; ``interchange_sis`` and ``messages`` quote the
    acknowledged interchange. ``received_at`` is DTM+815, untrusted like every NHAIS timestamp.
    """

    messages: list[RecepMessage]
    interchange_sis: int
    interchange_code: str
    message_count: int
    ha_cipher: str
    gp_code: str
    received_at: dt.datetime
    sms: int = 1


@dataclass(slots=True)
class Interchange:
    """A whole UNB..UNZ interchange, either FHSREG (``messages``) or RECEP (``recep``).

    ``prepared_at`` comes from UNB (Europe/London). ``app_ref`` records what UNB element 7 said
    and is informational only (excluded from equality): every variant is accepted on input.
    """

    sender: str
    recipient: str
    sis: int
    prepared_at: dt.datetime
    messages: list[Message] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    app_ref: str | None = field(default=None, compare=False)
    recep: Recep | None = None

    def transactions(self) -> list[Transaction]:
        """Every transaction of every message, in interchange order."""
        return [tx for msg in self.messages for tx in msg.transactions]
