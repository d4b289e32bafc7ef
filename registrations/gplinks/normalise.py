"""Text as GP Links can carry it: upper case, Appendix K characters, bounded lengths (sections 1.2, 2).

PDS holds names and addresses in mixed case with accents (Zoë, Dún Laoghaire) and without length
limits; GP Links (UNOA) carries upper case A-Z, digits and a few punctuation marks. Everything PCRM
sends is passed through here first: accents are folded (Ë -> E), letters upper-cased, anything else
outside Appendix K replaced by a space, runs of spaces collapsed, and the result cut to the item's
length. The specification's own field lengths are not public (section 10.3); the limits below are
the EDIFACT defaults for the data elements each item travels in (ADR 0010).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .model import ABSENT, Address, Transaction

# an..35 name and address components (C080/C059), an..8 postcode, an..70 per free-text component
# with the five components C108 allows joined by the builder.
NAME_LENGTH = 35
ADDRESS_LINE_LENGTH = 35
POSTCODE_LENGTH = 8
FREE_TEXT_LENGTH = 350
TEXT_LENGTHS = {
    "surname": NAME_LENGTH,
    "title": NAME_LENGTH,
    "place_of_birth": NAME_LENGTH,
    "previous_gp": NAME_LENGTH,
    "previous_surname": NAME_LENGTH,
    "free_text": FREE_TEXT_LENGTH,
}
_OUTSIDE = re.compile(r"""[^A-Z0-9 .,\-()/=!"%&*;<>'+:?]""")
# Letters that do not decompose into a base letter and an accent.
_SPECIAL = str.maketrans(
    {
        "ß": "SS", "Æ": "AE", "æ": "AE", "Ø": "O", "ø": "O", "Œ": "OE", "œ": "OE", "Ł": "L", "ł": "L", "Đ": "D",
        "đ": "D", "Þ": "TH", "þ": "TH", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
    }
)  # fmt: skip


def gp_links_text(value: Any, max_length: int | None = None) -> Any:
    """`value` in the Appendix K character set and at most `max_length` long; ABSENT/None/"" kept."""
    if value is ABSENT or value is None or not isinstance(value, str) or value == "":
        return value
    folded = unicodedata.normalize("NFKD", value.translate(_SPECIAL))
    text = "".join(c for c in folded if not unicodedata.combining(c)).upper()
    text = " ".join(_OUTSIDE.sub(" ", text).split())
    if max_length is not None and len(text) > max_length:
        text = text[:max_length].rstrip()
    return text


def normalise_transaction(tx: Transaction) -> Transaction:
    """Every text item of an outbound transaction made fit for GP Links, in place; returns it."""
    for name, length in TEXT_LENGTHS.items():
        setattr(tx, name, gp_links_text(getattr(tx, name), length))
    if isinstance(tx.forenames, list):
        tx.forenames = [gp_links_text(part, NAME_LENGTH) for part in tx.forenames]
    if isinstance(tx.previous_address, list):
        tx.previous_address = [gp_links_text(line, ADDRESS_LINE_LENGTH) for line in tx.previous_address]
    if isinstance(tx.address, Address):
        a = tx.address
        tx.address = Address(
            *(gp_links_text(v, ADDRESS_LINE_LENGTH) for v in (a.house, a.road, a.locality, a.post_town, a.county)),
            gp_links_text(a.postcode, POSTCODE_LENGTH),
        )
    return tx
