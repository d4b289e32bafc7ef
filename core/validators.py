"""Formats of the reference data PCRM keeps, in one place: the admin checks them, the queue's filters too.

Each `Format` is a pattern, the help text that shows it (with an example), and the message a value that
does not match gets. Values are compared in capitals with spaces trimmed (forms normalise first).
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    pattern: re.Pattern
    help_text: str
    message: str

    def matches(self, value: str) -> bool:
        return bool(self.pattern.match(value))


def _format(pattern: str, help_text: str, message: str) -> Format:
    return Format(re.compile(pattern), help_text, message)


# fmt: off
ODS_CODE = _format(r"^[A-Z][0-9]{5}$", "A GP practice's ODS code: a letter and 5 digits, like A81001.",
                   "Enter an ODS code as a letter and 5 digits, like A81001")
HA_CIPHER = _format(r"^[A-Z0-9]{3}$", "3 letters or digits, like XX1.",
                    "Enter the HA cipher as 3 letters or digits, like XX1")
LINK_CODE = _format(r"^[A-Z0-9]{4}$", "The GP Links trading-partner code: 4 letters or digits, like TES5.",
                    "Enter a trading-partner code as 4 letters or digits, like TES5")
MESH_MAILBOX = _format(r"^[A-Z0-9]{5,20}$", "The MESH mailbox id: 5 to 20 letters or digits, like GPMB00301.",
                       "Enter a MESH mailbox id as 5 to 20 letters or digits, like GPMB00301")
GP_NATIONAL_CODE = _format(r"^[0-9]{7}$", "The GP's national code: 7 digits, like 4826940.",
                           "Enter the national GP code as 7 digits, like 4826940")
GP_LOCAL_CODE = _format(r"^[A-Z0-9]{1,6}$", "The HA's local code for the GP: 1 to 6 letters or digits, like 281.",
                        "Enter the local GP code as 1 to 6 letters or digits, like 281")
POSTCODE = _format(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$", "A UK postcode, like LS1 4AP.",
                   "Enter a real UK postcode, like LS1 4AP")
# fmt: on


def normalise_code(value: str | None) -> str:
    """Capitals, no surrounding spaces: how every code above is stored."""
    return (value or "").strip().upper()


def normalise_postcode(value: str | None) -> str:
    """A postcode as it is written: capitals, one space before the last three characters (ls14ap -> LS1 4AP)."""
    compact = re.sub(r"\s+", "", value or "").upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
