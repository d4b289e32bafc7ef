"""NHS number arithmetic (modulus 11). Pure Python: no Django, usable anywhere."""

WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when no valid number can end them (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, WEIGHTS, strict=True))
    result = 11 - total % 11
    if result == 11:
        return 0
    return None if result == 10 else result


def is_valid(nhs_number: str) -> bool:
    if len(nhs_number) != 10 or not nhs_number.isdigit():
        return False
    return check_digit(nhs_number[:9]) == int(nhs_number[9])


def from_serial(serial: int, prefix: str = "9") -> str:
    """A valid number built from a serial; serials whose stem has no check digit skip forward.

    The 999 range is reserved for testing, so demo and test data never collide with real people.
    """
    while True:
        stem = f"{prefix}{serial:08d}"[:9]
        digit = check_digit(stem)
        if digit is not None:
            return f"{stem}{digit}"
        serial += 1


def format_nhs_number(nhs_number: str) -> str:
    """3-3-4, as people read them aloud."""
    if len(nhs_number) == 10 and nhs_number.isdigit():
        return f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}"
    return nhs_number
