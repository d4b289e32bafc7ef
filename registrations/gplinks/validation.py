"""Per-transaction validation (protocol sections 3, 4 and 7): a list of problems, never raised.

The ingest pipeline routes a transaction with errors to a person instead of rejecting the whole
interchange, so every rule reports and carries on. Each message starts with the item name so
staff can find the field on screen.

This runs for every parsed transaction, so the valid case is answered with locals and C-level
tuple operations; the slower loops only run to describe a problem already detected.
"""

from __future__ import annotations

import datetime as dt
import re
from operator import attrgetter, itemgetter

from . import codes
from .errors import CodecError, unexpected
from .model import ABSENT, ADDRESS_PARTS, Address, Transaction
from .nhs_number import is_legacy_nhs_number, is_valid_nhs_number

# Appendix K: the only characters a GP Links text may hold.
APPENDIX_K = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/=!\"%&*;<>'+:?"
_NOT_APPENDIX_K = re.compile(r"""[^A-Z0-9 .,\-()/=!"%&*;<>'+:?]""")
_GP_CODE = re.compile(r"[0-9]{7},[A-Z0-9]{1,8}")
# Live ciphers are two or three letters; the NHAIS test HA is XX1, which test traffic must carry too.
_CIPHER = re.compile(r"[A-Z]{2,3}|XX1")

ITEMS = (
    "gp_code", "nhs_number", "surname", "forenames", "title", "sex", "birth_date", "address", "acceptance_code",
    "acceptance_type", "acceptance_date", "place_of_birth", "previous_gp", "previous_ha", "previous_address",
    "new_ha", "entry_date", "exit_date", "deduction_reason", "deduction_date", "fp69_reason", "fp69_expiry",
    "free_text", "drugs_dispensed", "residential_institute", "previous_surname", "amended_nhs_number",
    "quarter_end",
)  # fmt: skip
_INDEX = {name: i for i, name in enumerate(ITEMS)}
_TEXT_ITEMS = ("surname", "title", "place_of_birth", "previous_gp", "free_text", "previous_surname")
_DATE_ITEMS = ("birth_date", "acceptance_date", "entry_date", "exit_date", "deduction_date", "fp69_expiry")
_NEVER_ERASED = ("surname", "sex", "birth_date", "gp_code", "nhs_number")
_CODE_ITEMS = (
    ("acceptance_code", codes.ACCEPTANCE_CODES),
    ("acceptance_type", codes.ACCEPTANCE_TYPES),
    ("sex", codes.SEX_CODES),
    ("deduction_reason", codes.DEDUCTION_REASONS),
)
_ACD, _ATP, _SEX, _GIS = (allowed for _, allowed in _CODE_ITEMS)
_DATE_CLASSES = frozenset({dt.date, type(ABSENT), type(None)})
_NAME_CLASSES = frozenset({str, type(None)})

_G1 = {
    "gp_code", "nhs_number", "surname", "forenames", "title", "sex", "birth_date", "address", "acceptance_code",
    "acceptance_type", "acceptance_date", "place_of_birth", "previous_gp", "previous_ha", "previous_address",
    "entry_date", "exit_date", "free_text", "drugs_dispensed", "residential_institute", "previous_surname",
}  # fmt: skip
_AMENDMENT = {
    "gp_code", "nhs_number", "surname", "forenames", "title", "sex", "birth_date", "address", "drugs_dispensed",
    "residential_institute", "previous_surname",
}  # fmt: skip

# (items a type requires, items it may carry at all) from the section 4 tables; conditional rules
# are coded below. An item outside the second set is reported because the builder would send it
# and the receiver would not expect it.
_RULES = {
    "G1": (("gp_code", "acceptance_code", "acceptance_type", "acceptance_date", "surname", "sex", "address"), _G1),
    "G2": (("gp_code", "nhs_number"), _AMENDMENT | {"free_text"}),
    "G3": (("gp_code", "free_text", "nhs_number"), {"gp_code", "free_text", "nhs_number"}),
    "G5": (
        ("gp_code", "deduction_reason", "deduction_date", "nhs_number"),
        {"gp_code", "deduction_reason", "deduction_date", "free_text", "nhs_number"},
    ),
    "F1": (("gp_code", "nhs_number"), _AMENDMENT | {"amended_nhs_number"}),
    "F2": (
        ("gp_code", "deduction_reason", "deduction_date", "nhs_number"),
        {"gp_code", "new_ha", "deduction_reason", "deduction_date", "nhs_number"},
    ),
    "F3": (("gp_code", "free_text"), {"gp_code", "free_text"}),
    "F4": (("gp_code",), {"gp_code", "nhs_number"}),
    "F8": (("quarter_end",), {"quarter_end"}),
    "F9": (
        ("gp_code", "fp69_reason", "fp69_expiry", "nhs_number", "surname", "forenames", "birth_date"),
        {
            "gp_code",
            "fp69_reason",
            "fp69_expiry",
            "free_text",
            "nhs_number",
            "surname",
            "forenames",
            "title",
            "birth_date",
            "address",
        },
    ),  # fmt: skip
    "F10": (("gp_code", "nhs_number"), {"gp_code", "nhs_number"}),
    "F11": (("gp_code", "free_text", "nhs_number"), {"gp_code", "free_text", "nhs_number"}),
}


def _picker(names: tuple[str, ...]) -> itemgetter:
    # itemgetter returns a tuple only for two or more keys; repeat a single key to keep it a tuple.
    idx = [_INDEX[n] for n in names]
    return itemgetter(*idx, *idx) if len(idx) == 1 else itemgetter(*idx)


# Per type: (required names, picker, needs an address, not-allowed names, picker, erasure picker).
# The address is tested on its own, because comparing an Address inside the tuple tests would
# call its Python __eq__. The erasure picker covers only what can matter: in an amendment the
# items that may never be erased, elsewhere the items the type may carry (anything else is
# already reported as not part of the type).
_PLANS = {
    t: (
        required,
        _picker(tuple(r for r in required if r != "address")),
        "address" in required,
        forbidden,
        _picker(forbidden) if forbidden else None,
        _picker(_NEVER_ERASED if t in codes.AMENDMENT_TYPES else tuple(n for n in ITEMS if n in allowed - {"address"})),
    )
    for t, (required, allowed) in _RULES.items()
    for forbidden in [tuple(n for n in ITEMS if n not in allowed)]
}
_get_items = attrgetter(*ITEMS)
_get_address = attrgetter(*ADDRESS_PARTS)


def validate_transaction(tx: Transaction) -> list[str]:
    """Problems with ``tx`` against the protocol; an empty list means it may be processed as is."""
    if not isinstance(tx, Transaction):
        raise CodecError(f"expected a Transaction, got {type(tx).__name__}")
    try:
        return validate_unchecked(tx)
    except Exception as exc:  # the codec's contract: nothing but CodecError escapes
        raise unexpected(exc, f"cannot validate TN {tx.tn!r}") from exc


# Complexity exemption (C901): codec hot path: one check per protocol rule, in the order the protocol lists them


def validate_unchecked(tx: Transaction, *, text_is_clean: bool = False) -> list[str]:  # noqa: C901
    """validate_transaction without the guards, for the parser, which only hands it its own output.

    ``text_is_clean`` says the whole interchange was already found to hold Appendix K characters
    only, so no item can fail that check and it is skipped.
    """
    errors: list[str] = []
    t = tx.type
    tn = tx.tn
    if tn.__class__ is not int or not 1 <= tn <= codes.MAX_SEQUENCE:
        errors.append(f"tn: transaction number {tn!r} is not between 1 and {codes.MAX_SEQUENCE}")
    plan = _PLANS.get(t)
    if plan is None:
        # Obsolete or unknown types are kept raw and flagged by the parser; nothing to check.
        return errors
    required, pick_required, needs_address, forbidden, pick_forbidden, pick_erasable = plan
    values = _get_items(tx)
    (
        gp_code, nhs_number, surname, forenames, title, sex, birth_date, address, acceptance_code,
        acceptance_type, acceptance_date, place_of_birth, previous_gp, previous_ha, previous_address,
        new_ha, entry_date, exit_date, deduction_reason, deduction_date, fp69_reason, fp69_expiry,
        free_text, drugs_dispensed, residential_institute, previous_surname, amended_nhs_number,
        quarter_end,
    ) = values  # fmt: skip

    picked = pick_required(values)
    if ABSENT in picked or "" in picked or [] in picked or (needs_address and address is ABSENT):
        for name in required:
            value = values[_INDEX[name]]
            if value is ABSENT or value == "" or value == []:
                errors.append(f"{name}: mandatory in {t} ({codes.TYPE_NAMES[t]}) but not sent")
    if pick_forbidden is not None:
        picked = pick_forbidden(values)
        if picked.count(ABSENT) != len(picked):
            for name in forbidden:
                if values[_INDEX[name]] is not ABSENT:
                    errors.append(f"{name}: not part of a {t} ({codes.TYPE_NAMES[t]})")

    amendment = t in codes.AMENDMENT_TYPES
    if address is None or None in pick_erasable(values):
        _check_erasures(values, amendment, errors)

    # Identity: NHS numbers, GP code, HA ciphers, the shape of the forenames.
    if nhs_number is not ABSENT and not is_valid_nhs_number(nhs_number):
        _check_nhs_number("nhs_number", nhs_number, errors)
    if amended_nhs_number is not ABSENT and not is_valid_nhs_number(amended_nhs_number):
        _check_nhs_number("amended_nhs_number", amended_nhs_number, errors)
    if gp_code is not ABSENT and gp_code is not None and not (gp_code.__class__ is str and _GP_CODE.fullmatch(gp_code)):
        errors.append(f"gp_code: {gp_code!r} is not '<7-digit GMC code>,<HA local code>'")
    if previous_ha is not ABSENT or new_ha is not ABSENT:
        for name, value in (("previous_ha", previous_ha), ("new_ha", new_ha)):
            if value is not ABSENT and value is not None and not (value.__class__ is str and _CIPHER.fullmatch(value)):
                errors.append(f"{name}: {value!r} is not an HA cipher (2 or 3 letters, or XX1)")
    if forenames is not ABSENT and forenames is not None:
        _check_forenames(forenames, amendment, errors)

    # Code lists (section 3); any doubt goes to the slow path, which names the item.
    if (
        (acceptance_code is not ABSENT and not (acceptance_code.__class__ is str and acceptance_code in _ACD))
        or (acceptance_type is not ABSENT and not (acceptance_type.__class__ is str and acceptance_type in _ATP))
        or (sex is not ABSENT and not (sex.__class__ is str and sex in _SEX))
        or (deduction_reason is not ABSENT and not (deduction_reason.__class__ is str and deduction_reason in _GIS))
        or (fp69_reason is not ABSENT and not _is_fp69_reason(fp69_reason))
        or (drugs_dispensed is not ABSENT and drugs_dispensed != codes.DRUGS_DISPENSED)
        or (residential_institute is not ABSENT and not _is_ric(residential_institute))
    ):
        _check_codes(values, errors)

    # Dates: a value that is not a date is one the wire carried but no calendar has.
    dates = (birth_date, acceptance_date, entry_date, exit_date, deduction_date, fp69_expiry, quarter_end)
    if not _DATE_CLASSES.issuperset(map(type, dates)):
        for name, value in zip((*_DATE_ITEMS, "quarter_end"), dates, strict=True):
            if value.__class__ is not dt.date and value is not ABSENT and value is not None:
                errors.append(f"{name}: {value!r} is not a real calendar date (CCYYMMDD)")
    if entry_date.__class__ is dt.date and birth_date.__class__ is dt.date and entry_date < birth_date:
        errors.append("entry_date: before the date of birth")

    # Address: a street (house name or road), and a post town that is never erased. An F9 may
    # carry just the post town (section 4.10).
    if address is not ABSENT and address is not None:
        if address.__class__ is not Address:
            errors.append("address: not an address")
        else:
            if t != "F9" and not address.house and not address.road:
                errors.append("address: either the house name or the number/road must be present")
            if address.post_town is None:
                errors.append("address.post_town: the post town cannot be erased")
            elif address.post_town == "":
                errors.append("address.post_town: the post town is missing")

    # Appendix K, every text at once; item by item only to name the culprit.
    if not text_is_clean:
        texts = [surname, title, place_of_birth, previous_gp, free_text, previous_surname]
        if forenames.__class__ is list:
            texts += forenames
        if previous_address.__class__ is list:
            texts += previous_address
        if address.__class__ is Address:
            texts += _get_address(address)
        try:
            bad = _NOT_APPENDIX_K.search(" ".join(filter(None, texts)))
        except TypeError:
            bad = True
        if bad:
            _check_text(tx, errors)

    if t == "G1":
        _check_acceptance(tx, errors)
    elif t == "G5" and deduction_reason.__class__ is str and deduction_reason not in codes.DER_REASONS:
        errors.append(f"deduction_reason: {deduction_reason!r} is not a reason a GP may request (1, 5 or 13)")
    elif t == "F2" and deduction_reason == "2" and not new_ha:
        errors.append("new_ha: mandatory in F2 when the deduction reason is 2 (removal to new HA)")
    return errors


def _is_fp69_reason(value: object) -> bool:
    # Only 8 ("other") is attested and 1 has been seen; the list is a gap, so any small number.
    return value.__class__ is str and value.isdigit() and len(value) <= codes.FP69_REASON_MAX_DIGITS


def _is_ric(value: object) -> bool:
    return value.__class__ is str and value.isascii() and value.isalnum()


def _check_erasures(values: tuple, amendment: bool, errors: list[str]) -> None:
    names = _NEVER_ERASED if amendment else ITEMS
    for name in names:
        if values[_INDEX[name]] is None:
            if amendment:
                errors.append(f"{name}: cannot be erased")
            else:
                errors.append(f"{name}: '%' (erase) is only allowed in an amendment")


def _check_nhs_number(name: str, value: object, errors: list[str]) -> None:
    if not isinstance(value, str):
        errors.append(f"{name}: not text")
    elif len(value) == 10 and value.isdigit():
        errors.append(f"{name}: {value} fails the NHS number check digit")
    elif name == "nhs_number" and is_legacy_nhs_number(value):
        pass  # pre-1996 number: accepted here, flagged by nhs_number_legacy
    else:
        errors.append(f"{name}: {value!r} is not a 10-digit NHS number")


def _check_forenames(forenames: object, amendment: bool, errors: list[str]) -> None:
    if forenames.__class__ is not list or not _NAME_CLASSES.issuperset(map(type, forenames)):
        errors.append("forenames: must be a list of text")
        return
    if len(forenames) > 3:
        errors.append("forenames: at most first, middle and other forenames")
    if amendment:
        if None in forenames:
            errors.append("forenames: can only be erased as a group (FO:%)")
    elif forenames and forenames[0] == "":
        errors.append("forenames: a middle or other forename without a first forename")


def _check_codes(values: tuple, errors: list[str]) -> None:
    for name, allowed in _CODE_ITEMS:
        value = values[_INDEX[name]]
        if value is not ABSENT and value is not None and not (value.__class__ is str and value in allowed):
            shown = ", ".join(sorted(allowed, key=lambda c: (len(c), c)))
            errors.append(f"{name}: {value!r} is not one of {shown}")
    reason = values[_INDEX["fp69_reason"]]
    if reason is not ABSENT and reason is not None and not _is_fp69_reason(reason):
        errors.append(f"fp69_reason: {reason!r} is not an FP69 reason code")
    dm = values[_INDEX["drugs_dispensed"]]
    if dm is not ABSENT and dm is not None and dm != codes.DRUGS_DISPENSED:
        errors.append(f"drugs_dispensed: {dm!r} is not Y (or % to erase)")
    ric = values[_INDEX["residential_institute"]]
    if ric is not ABSENT and ric is not None and not _is_ric(ric):
        errors.append(f"residential_institute: {ric!r} is not a residential institute code")


def _check_text(tx: Transaction, errors: list[str]) -> None:
    for name in _TEXT_ITEMS:
        _check_one_text(name, getattr(tx, name), errors)
    for name in ("forenames", "previous_address"):
        value = getattr(tx, name)
        if isinstance(value, list):
            for part in value:
                _check_one_text(name, part, errors)
        elif name == "previous_address" and value is not ABSENT and value is not None:
            errors.append("previous_address: must be a list of lines")
    if isinstance(tx.address, Address):
        for part in ADDRESS_PARTS:
            _check_one_text(f"address.{part}", getattr(tx.address, part), errors)


def _check_one_text(name: str, value: object, errors: list[str]) -> None:
    if value is ABSENT or value is None or value == "":
        return
    if not isinstance(value, str):
        errors.append(f"{name}: not text")
    elif _NOT_APPENDIX_K.search(value):
        errors.append(f"{name}: characters outside the GP Links character set (Appendix K)")


# Complexity exemption (C901): one check per acceptance-field rule of the protocol


def _check_acceptance(tx: Transaction, errors: list[str]) -> None:  # noqa: C901
    kind = tx.acceptance_type
    has_nhs = isinstance(tx.nhs_number, str) and tx.nhs_number != ""
    if kind == "1":
        if not has_nhs:
            errors.append("nhs_number: mandatory for a type 1 (birth) acceptance")
        if tx.birth_date is ABSENT:
            errors.append("birth_date: mandatory for a type 1 (birth) acceptance")
    elif not has_nhs and not tx.place_of_birth:
        errors.append("place_of_birth: mandatory when the acceptance has no NHS number")
    if kind in ("1", "2"):
        for name in ("previous_address", "previous_gp", "previous_ha", "entry_date", "exit_date"):
            if getattr(tx, name) is not ABSENT:
                errors.append(f"{name}: not used in a type {kind} acceptance")
    elif kind == "3":
        for name in ("previous_address", "previous_gp"):
            if getattr(tx, name) is ABSENT:
                errors.append(f"{name}: mandatory for a type 3 (transfer-in) acceptance")
        for name in ("entry_date", "exit_date"):
            if getattr(tx, name) is not ABSENT:
                errors.append(f"{name}: not used in a type 3 acceptance")
    elif kind == "4" and tx.entry_date is ABSENT:
        errors.append("entry_date: mandatory for a type 4 (immigrant) acceptance")
