"""NHS number checks (protocol section 7.1)."""

from __future__ import annotations

import re

# Weighted sums of digit triples for positions 1-3, 4-6 and 7-9 (weights 10..2): three dict
# lookups instead of nine multiplications, because this runs for every parsed transaction.
_TRIPLES = tuple(
    {f"{n:03d}": (n // 100) * w1 + (n // 10 % 10) * w2 + (n % 10) * w3 for n in range(1000)}
    for w1, w2, w3 in ((10, 9, 8), (7, 6, 5), (4, 3, 2))
)
_T1, _T2, _T3 = _TRIPLES
# Pre-1996 numbers (Appendix J: N/10/10, RAT56, AVERT1/1, 123/23/123) are letters, digits and
# slashes. Requiring at least one non-digit keeps a mistyped modern number (9 or 11 digits) from
# being waved through as "legacy".
_LEGACY = re.compile(r"(?=[A-Z0-9/]*[A-Z/])[A-Z0-9/]{2,15}")


def is_valid_nhs_number(s: object) -> bool:
    """True for a 10-digit NHS number whose modulus-11 check digit is right."""
    if s.__class__ is not str or len(s) != 10 or not s.isascii() or not s.isdigit():
        return False
    check = 11 - (_T1[s[:3]] + _T2[s[3:6]] + _T3[s[6:9]]) % 11
    if check == 11:
        check = 0
    return check != 10 and str(check) == s[9]


def is_legacy_nhs_number(s: object) -> bool:
    """True for a pre-1996 alphanumeric NHS number: accepted on input, but PDS cannot trace it."""
    return isinstance(s, str) and _LEGACY.fullmatch(s) is not None
