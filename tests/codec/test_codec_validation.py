"""Validation: problems are listed per transaction (never raised) and named by item."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from registrations.gplinks import (
    ABSENT,
    Address,
    Transaction,
    is_legacy_nhs_number,
    is_valid_nhs_number,
    validate_transaction,
)

ADDRESS = Address("", "1 HIGH STREET", "", "BROMLEY", "KENT", "BR1 1AA")
VALID = {
    "G1": Transaction(
        tn=1,
        type="G1",
        gp_code="4826940,281",
        acceptance_code="A",
        acceptance_type="1",
        acceptance_date=dt.date(2024, 1, 2),
        nhs_number="9434765919",
        surname="SMITH",
        sex="2",
        birth_date=dt.date(2023, 12, 25),
        address=ADDRESS,
    ),
    "G2": Transaction(tn=1, type="G2", gp_code="4826940,281", nhs_number="9434765919", address=ADDRESS),
    "G3": Transaction(tn=1, type="G3", gp_code="4826940,281", nhs_number="9434765919", free_text="MOVED AWAY"),
    "G5": Transaction(
        tn=1,
        type="G5",
        gp_code="4826940,281",
        nhs_number="9434765919",
        deduction_reason="5",
        deduction_date=dt.date(2024, 1, 2),
    ),
    "F1": Transaction(tn=1, type="F1", gp_code="4826940,281", nhs_number="9434765919", surname="JONES"),
    "F2": Transaction(
        tn=1,
        type="F2",
        gp_code="4826940,281",
        nhs_number="9434765919",
        deduction_reason="1",
        deduction_date=dt.date(2024, 1, 2),
    ),
    "F3": Transaction(tn=1, type="F3", gp_code="4826940,281", free_text="WRONG HA"),
    "F4": Transaction(tn=1, type="F4", gp_code="4826940,281"),
    "F8": Transaction(tn=1, type="F8", quarter_end=dt.date(2024, 3, 31)),
    "F9": Transaction(
        tn=1,
        type="F9",
        gp_code="4826940,281",
        nhs_number="9434765919",
        fp69_reason="8",
        fp69_expiry=dt.date(2024, 9, 1),
        surname="SMITH",
        forenames=["JO"],
        birth_date=dt.date(1980, 1, 1),
    ),
    "F10": Transaction(tn=1, type="F10", gp_code="4826940,281", nhs_number="9434765919"),
    "F11": Transaction(tn=1, type="F11", gp_code="4826940,281", nhs_number="9434765919", free_text="NO"),
}
MANDATORY = {
    "G1": ["gp_code", "acceptance_code", "acceptance_type", "acceptance_date", "surname", "sex", "address"],
    "G2": ["gp_code", "nhs_number"],
    "G3": ["gp_code", "free_text", "nhs_number"],
    "G5": ["gp_code", "deduction_reason", "deduction_date", "nhs_number"],
    "F1": ["gp_code", "nhs_number"],
    "F2": ["gp_code", "deduction_reason", "deduction_date", "nhs_number"],
    "F3": ["gp_code", "free_text"],
    "F4": ["gp_code"],
    "F8": ["quarter_end"],
    "F9": ["gp_code", "fp69_reason", "fp69_expiry", "nhs_number", "surname", "forenames", "birth_date"],
    "F10": ["gp_code", "nhs_number"],
    "F11": ["gp_code", "free_text", "nhs_number"],
}


def with_(tx: Transaction, **changes) -> Transaction:
    return dataclasses.replace(tx, **changes)


def errors_for(tx: Transaction, prefix: str) -> list[str]:
    return [e for e in validate_transaction(tx) if e.startswith(prefix)]


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_samples_have_no_errors(kind):
    assert validate_transaction(VALID[kind]) == []


@pytest.mark.parametrize(("kind", "item"), [(k, i) for k, items in sorted(MANDATORY.items()) for i in items])
def test_each_mandatory_item_is_reported_when_missing(kind, item):
    errors = validate_transaction(with_(VALID[kind], **{item: ABSENT}))
    assert f"{item}: mandatory in {kind}" in " | ".join(errors)


def test_items_foreign_to_a_type_are_reported():
    assert errors_for(with_(VALID["F4"], free_text="HELLO"), "free_text") == ["free_text: not part of a F4 (approval)"]
    assert errors_for(with_(VALID["G2"], amended_nhs_number="9999999999"), "amended") == [
        "amended_nhs_number: not part of a G2 (amendment)"
    ]
    assert errors_for(with_(VALID["F1"], free_text="X"), "free_text")  # the HA never sends notes in F1


def test_acceptance_type_rules():
    birth = VALID["G1"]
    assert errors_for(with_(birth, nhs_number=ABSENT, place_of_birth="BURY"), "nhs_number") == [
        "nhs_number: mandatory for a type 1 (birth) acceptance"
    ]
    assert errors_for(with_(birth, birth_date=ABSENT), "birth_date")
    first = with_(birth, acceptance_type="2", nhs_number=ABSENT, birth_date=ABSENT)
    assert errors_for(first, "place_of_birth") == ["place_of_birth: mandatory when the acceptance has no NHS number"]
    assert validate_transaction(with_(first, place_of_birth="LEEDS")) == []
    transfer = with_(birth, acceptance_type="3")
    assert {e.split(":")[0] for e in validate_transaction(transfer)} == {"previous_address", "previous_gp"}
    assert validate_transaction(with_(transfer, previous_address=["LEEDS"], previous_gp="DR NO")) == []
    immigrant = with_(birth, acceptance_type="4")
    assert errors_for(immigrant, "entry_date") == ["entry_date: mandatory for a type 4 (immigrant) acceptance"]
    assert errors_for(with_(immigrant, entry_date=dt.date(2020, 1, 1)), "entry_date") == [
        "entry_date: before the date of birth"
    ]
    assert errors_for(with_(birth, previous_gp="DR NO"), "previous_gp") == [
        "previous_gp: not used in a type 1 acceptance"
    ]


@pytest.mark.parametrize(
    ("item", "value"),
    [
        ("acceptance_code", "X"),
        ("acceptance_type", "5"),
        ("sex", "3"),
        ("drugs_dispensed", "N"),
        ("residential_institute", "R T"),
    ],
)
def test_codes_outside_their_lists(item, value):
    assert errors_for(with_(VALID["G1"], **{item: value}), item)


def test_deduction_reason_lists():
    assert errors_for(with_(VALID["F2"], deduction_reason="23"), "deduction_reason")
    assert validate_transaction(with_(VALID["F2"], deduction_reason="13")) == []
    assert errors_for(with_(VALID["G5"], deduction_reason="2"), "deduction_reason") == [
        "deduction_reason: '2' is not a reason a GP may request (1, 5 or 13)"
    ]
    assert errors_for(with_(VALID["F2"], deduction_reason="2"), "new_ha")
    assert validate_transaction(with_(VALID["F2"], deduction_reason="2", new_ha="COV")) == []
    assert errors_for(with_(VALID["F2"], deduction_reason="2", new_ha="COVENTRY"), "new_ha")
    assert errors_for(with_(VALID["F9"], fp69_reason="X8"), "fp69_reason")


def test_nhs_numbers():
    assert is_valid_nhs_number("9434765919")
    assert not is_valid_nhs_number("1234567890")  # check result 10: never valid
    assert not is_valid_nhs_number("943476591")
    assert not is_valid_nhs_number("943476591\u0669")  # a non-ASCII digit
    assert not is_valid_nhs_number(9434765919)
    assert errors_for(with_(VALID["F10"], nhs_number="9434765918"), "nhs_number") == [
        "nhs_number: 9434765918 fails the NHS number check digit"
    ]
    assert errors_for(with_(VALID["F10"], nhs_number="94347659"), "nhs_number")
    assert errors_for(with_(VALID["F10"], nhs_number="%"), "nhs_number")
    assert errors_for(with_(VALID["F1"], amended_nhs_number="1234567890"), "amended_nhs_number")


@pytest.mark.parametrize("number", ["N/10/10", "RAT56", "AVERT1/1", "123/23/123", "T247"])
def test_pre_1996_numbers_are_accepted_as_legacy(number):
    assert is_legacy_nhs_number(number)
    assert validate_transaction(with_(VALID["F10"], nhs_number=number)) == []


def test_gp_code_needs_both_parts():
    assert errors_for(with_(VALID["F4"], gp_code="4826940"), "gp_code")
    assert errors_for(with_(VALID["F4"], gp_code="482694,281"), "gp_code")
    assert validate_transaction(with_(VALID["F4"], gp_code="8880232,G82697")) == []


def test_dates_must_be_real():
    assert errors_for(with_(VALID["F2"], deduction_date="19910231"), "deduction_date") == [
        "deduction_date: '19910231' is not a real calendar date (CCYYMMDD)"
    ]
    assert errors_for(with_(VALID["F8"], quarter_end="20241332"), "quarter_end")


def test_address_rules():
    no_street = Address("", "", "VILLAGE", "TOWN", "", "")
    assert errors_for(with_(VALID["G2"], address=no_street), "address") == [
        "address: either the house name or the number/road must be present"
    ]
    assert errors_for(with_(VALID["G2"], address=dataclasses.replace(ADDRESS, post_town=None)), "address") == [
        "address.post_town: the post town cannot be erased"
    ]
    assert errors_for(with_(VALID["G1"], address=dataclasses.replace(ADDRESS, post_town="")), "address") == [
        "address.post_town: the post town is missing"
    ]
    # An FP69 notification may carry the post town alone (section 4.10).
    assert validate_transaction(with_(VALID["F9"], address=Address("", "", "", "ORPINGTON", "", ""))) == []


def test_erasure_rules():
    assert errors_for(with_(VALID["G1"], title=None), "title") == ["title: '%' (erase) is only allowed in an amendment"]
    amend = VALID["G2"]
    assert validate_transaction(with_(amend, title=None, forenames=None, drugs_dispensed=None)) == []
    for item in ("surname", "sex", "birth_date"):
        assert errors_for(with_(amend, **{item: None}), item) == [f"{item}: cannot be erased"]
    assert errors_for(with_(amend, forenames=["JO", None]), "forenames") == [
        "forenames: can only be erased as a group (FO:%)"
    ]


def test_text_outside_appendix_k_is_named():
    assert errors_for(with_(VALID["F1"], surname="Smith"), "surname") == [
        "surname: characters outside the GP Links character set (Appendix K)"
    ]
    assert errors_for(with_(VALID["G2"], address=dataclasses.replace(ADDRESS, road="1 HIGH ST\u00e9")), "address")
    assert validate_transaction(with_(VALID["F3"], free_text='O\'BRIEN + CO: 50%? "(OK)" <1=2> & ; * / ! , .')) == []


def test_wrong_types_are_reported_not_raised():
    weird = with_(VALID["G1"], surname=42, forenames="JO", address="1 HIGH ST", sex=["1"], acceptance_date=3)
    errors = validate_transaction(weird)
    assert any(e.startswith("surname: not text") for e in errors)
    assert "forenames: must be a list of text" in errors
    assert "address: not an address" in errors
    assert any(e.startswith("sex:") for e in errors)
    assert any(e.startswith("acceptance_date:") for e in errors)


def test_transaction_number_range():
    assert errors_for(with_(VALID["F4"], tn=0), "tn")
    assert errors_for(with_(VALID["F4"], tn=100_000_000), "tn")


def test_obsolete_types_are_not_checked():
    assert validate_transaction(Transaction(tn=3, type="F5")) == []


def test_the_nhais_test_ha_cipher_is_a_valid_new_ha():
    import datetime as dt

    from registrations.gplinks import Transaction, validate_transaction

    tx = Transaction(
        tn=1,
        type="F2",
        gp_code="4826940,281",
        nhs_number="9434765919",
        deduction_reason="2",
        new_ha="XX1",
        deduction_date=dt.date(2026, 11, 2),
    )
    assert not [e for e in validate_transaction(tx) if e.startswith("new_ha")]
    tx.new_ha = "X1"
    assert any(e.startswith("new_ha") for e in validate_transaction(tx))
