"""Code lists from protocol section 3, in one place for the parser, builder and validation."""

from __future__ import annotations

from typing import Final

FHSREG = "FHSREG"
RECEP = "RECEP"

# UNB element 7 / 10 as the live HA sends them (section 1.4); PCRM emits exactly these.
FHSREG_APP_REF: Final = "FHSREG"
FHSREG_COMMS_AGREEMENT: Final = "FHSA EDI TRANSFERS"
RECEP_APP_REF: Final = "RECEP"
RECEP_COMMS_AGREEMENT: Final = "EDIFACT TRANSFER"

GP_TO_HA: Final = frozenset({"G1", "G2", "G3", "G5"})
HA_TO_GP: Final = frozenset({"F1", "F2", "F3", "F4", "F8", "F9", "F10", "F11"})
LIVE_TYPES: Final = GP_TO_HA | HA_TO_GP
AMENDMENT_TYPES: Final = frozenset({"G2", "F1"})

TYPE_NAMES: Final = {
    "G1": "acceptance",
    "G2": "amendment",
    "G3": "removal",
    "G5": "deduction request",
    "F1": "amendment",
    "F2": "deduction",
    "F3": "rejection",
    "F4": "approval",
    "F8": "close quarter notification",
    "F9": "FP69 prior notification",
    "F10": "FP69 flag removal",
    "F11": "deduction request rejection",
}

ACCEPTANCE_CODES: Final = frozenset({"A", "D", "R", "I", "S"})
ACCEPTANCE_TYPES: Final = frozenset({"1", "2", "3", "4"})
SEX_CODES: Final = frozenset({"0", "1", "2", "9"})
# 1, 2, 5 and 13 are sourced; the rest of 1..22 follow the probable Appendix G order (section 3.5).
DEDUCTION_REASONS: Final = frozenset(str(n) for n in range(1, 23))
# A GP may only ask for these in a DER (section 3.5).
DER_REASONS: Final = frozenset({"1", "5", "13"})
# Only 8 ("other") is attested with a meaning and 1 has been seen; the list is a gap, so accept
# any small number rather than reject traffic we cannot judge.
FP69_REASON_MAX_DIGITS: Final = 2
DRUGS_DISPENSED: Final = "Y"
CLOSE_QUARTER_GIS: Final = "Q"

RECEP_MESSAGE_CODES: Final = frozenset({"CP", "CA", "CI"})
RECEP_INTERCHANGE_CODES: Final = frozenset({"OK", "NA", "ER"})
RECEP_NO_GP = "9999"

MAX_SEQUENCE: Final = 99_999_999
ERASE: Final = "%"
