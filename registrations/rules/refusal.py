"""What a person's refusal of an acceptance sends the practice (#12 point 10; ADR 0014).

GP Links has one rejection of an acceptance, F3 REF, and the protocol knows it only as "wrong HA": a GP
system receiving one expects to re-send the acceptance to the right HA with code R (protocol 3.2, 4.6).
So PCRM sends an F3 only when the acceptance reached the wrong HA, with words that say so. Every other
refusal (not enough detail, deceased, duplicate, not on the list) sends nothing over GP Links: the
sources give no transaction for it, and PCSE takes it up with the practice directly.
"""

from django.conf import settings

WRONG_HA = "WRONG_HA"
WRONG_HA_PREFIX = "WRONG HA - "


def refusal_sends_f3(reason_code: str) -> bool:
    return reason_code == WRONG_HA or settings.PROCESSING_F3_FOR_OTHER_REFUSALS


def wrong_ha_words(words: str) -> str:
    """F3 text always begins "WRONG HA - ", so the R rule (and the practice) can tell what it was."""
    return words if words.startswith("WRONG HA") else f"{WRONG_HA_PREFIX}{words}"
