"""The JSON shape (to_json/from_json) on the NHS Digital fixtures (external suite): exact keys, the
three item states, round trips."""

from __future__ import annotations

import json

import pytest
from support import assert_documented_json_shape, fixture_names, read_fixture

from registrations.gplinks import ABSENT, from_json, parse_interchange, to_json

pytestmark = pytest.mark.external


def as_json(name: str) -> dict:
    # Through json.dumps/loads, so the test also proves the dict is plain JSON.
    return json.loads(json.dumps(to_json(parse_interchange(read_fixture(name)))))


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_round_trips_through_json(name):
    ic = parse_interchange(read_fixture(name))
    assert from_json(json.loads(json.dumps(to_json(ic)))) == ic


@pytest.mark.parametrize("name", fixture_names())
def test_only_documented_keys_appear(name):
    assert_documented_json_shape(as_json(name))


def test_acceptance_as_json():
    data = as_json("gp-to-ha/acceptance/type1-birth-all.edifact.dat")
    assert data["prepared_at"] == "2020-06-10T14:38:00+01:00"
    assert (data["sis"], data["sender"], data["recipient"], data["warnings"]) == (1, "TES5", "XX11", [])
    (msg,) = data["messages"]
    assert (msg["sms"], msg["type"], msg["ha_cipher"]) == (1, "G1", "XX1")
    (tx,) = msg["transactions"]
    assert tx["tn"] == 1
    assert tx["nhs_number"] == "N/10/10"
    assert tx["forenames"] == ["CHARLES", "ANTHONY", "JOHN"]
    assert tx["birth_date"] == "1991-11-06"
    assert tx["acceptance_date"] == "1992-01-13"
    assert tx["address"] == {
        "house": "MOORSIDE FARM",
        "road": "OLD LANE",
        "locality": "ST PAULS CRAY",
        "post_town": "ORPINGTON",
        "county": "KENT",
        "postcode": "BR6  7EW",
    }
    assert "previous_gp" not in tx and "entry_date" not in tx


def test_missing_nhs_number_is_null_and_blank_house_is_empty_string():
    (tx,) = as_json("gp-to-ha/acceptance/type2-first-app-j.edifact.dat")["messages"][0]["transactions"]
    assert tx["nhs_number"] is None
    assert tx["address"]["house"] == ""


def test_erased_items_are_null_and_unsent_items_have_no_key():
    (tx,) = as_json("gp-to-ha/amendment/erase-all-1.edifact.dat")["messages"][0]["transactions"]
    for key in ("residential_institute", "drugs_dispensed", "forenames", "title", "previous_surname"):
        assert key in tx and tx[key] is None
    for key in ("surname", "sex", "birth_date", "free_text"):
        assert key not in tx
    assert tx["address"]["road"] is None and tx["address"]["postcode"] is None


def test_text_is_unescaped():
    (tx,) = as_json("ha-to-gp/rejection/full-character-set.edifact.dat")["messages"][0]["transactions"]
    assert tx["free_text"].endswith("<>'+:?")


def test_close_quarter_json():
    data = as_json("ha-to-gp/close_quarter_notification/close-quarter-notification-other-transactions.edifact.dat")
    f8 = data["messages"][0]
    assert f8["quarter_end"] == "1991-12-31"
    assert f8["transactions"] == [{"tn": 99, "type": "F8", "nhs_number": None, "errors": [], "warnings": []}]
    back = from_json(data)
    assert back.messages[0].transactions[0].quarter_end.isoformat() == "1991-12-31"


def test_unreadable_date_survives_as_its_raw_text():
    text = read_fixture("ha-to-gp/deduction/app-j-2.edifact.dat").replace(b"19920125", b"19920231")
    ic = parse_interchange(text)
    data = to_json(ic)
    assert data["messages"][0]["transactions"][0]["deduction_date"] == "19920231"
    assert from_json(data) == ic


def test_legacy_flag_is_recomputed_on_load():
    ic = from_json(as_json("gp-to-ha/removal/app-j-1.edifact.dat"))
    assert ic.messages[0].transactions[0].nhs_number_legacy is True
    assert ic.messages[0].transactions[0].amended_nhs_number is ABSENT
