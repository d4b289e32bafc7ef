"""GP Links (NHAIS HA/GP Links) EDIFACT codec: FHSREG registration traffic and RECEP receipts.

Pure Python on purpose (no Django, no settings, no I/O): the ingest pipeline, the CLI, tests and
benchmarks all use the same functions, and :class:`CodecError` is the only exception that can
come out of them. The protocol itself is described in the project's gplinks-protocol brief.
"""

from .builder import build_interchange, group_messages
from .errors import CodecError
from .jsonio import from_json, to_json
from .model import ABSENT, Address, Interchange, Message, Recep, RecepMessage, Transaction
from .nhs_number import is_legacy_nhs_number, is_valid_nhs_number
from .parser import parse_interchange
from .recep import build_recep
from .validation import validate_transaction

__all__ = [
    "ABSENT",
    "Address",
    "CodecError",
    "Interchange",
    "Message",
    "Recep",
    "RecepMessage",
    "Transaction",
    "build_interchange",
    "build_recep",
    "from_json",
    "group_messages",
    "is_legacy_nhs_number",
    "is_valid_nhs_number",
    "parse_interchange",
    "to_json",
    "validate_transaction",
]
