"""The JSON shape (to_json/from_json) on our corpus: exact keys, the three item states, round trips,
malformed documents."""

from __future__ import annotations

import json

import corpus
import pytest
from support import assert_documented_json_shape, g1_interchange

from registrations.gplinks import ABSENT, CodecError, build_interchange, from_json, parse_interchange, to_json


def as_json(name: str) -> dict:
    # Through json.dumps/loads, so the test also proves the dict is plain JSON.
    return json.loads(json.dumps(to_json(parse_interchange(corpus.read(name)))))


@pytest.mark.parametrize("name", corpus.names())
def test_every_corpus_file_round_trips_through_json(name):
    ic = parse_interchange(corpus.read(name))
    assert from_json(as_json(name)) == ic


@pytest.mark.parametrize("name", corpus.names())
def test_only_documented_keys_appear(name):
    assert_documented_json_shape(as_json(name))


def test_acceptance_as_json():
    data = as_json("g1-type1-birth.edi")
    assert data["prepared_at"] == "2026-11-02T09:30:00+00:00"
    assert (data["sis"], data["sender"], data["recipient"], data["warnings"]) == (101, "TES5", "XX11", [])
    (msg,) = data["messages"]
    assert (msg["sms"], msg["type"], msg["ha_cipher"]) == (201, "G1", "XX1")
    (tx,) = msg["transactions"]
    assert (tx["tn"], tx["nhs_number"], tx["title"]) == (1, "9434765919", "MISS")
    assert tx["forenames"] == ["ADA", "GRACE", "MARY ANNE"]
    assert (tx["birth_date"], tx["acceptance_date"]) == ("2026-10-20", "2026-10-29")
    assert tx["address"] == {
        "house": "",
        "road": "1 HIGH STREET",
        "locality": "",
        "post_town": "LEEDS",
        "county": "",
        "postcode": "LS1 4AP",
    }
    assert "previous_gp" not in tx and "entry_date" not in tx


def test_summer_time_is_the_uk_offset():
    assert as_json("time-after-bst-starts.edi")["prepared_at"] == "2027-03-28T02:30:00+01:00"


def test_missing_nhs_number_is_null():
    (tx,) = as_json("g1-type2-first-without-nhs-number.edi")["messages"][0]["transactions"]
    assert tx["nhs_number"] is None
    assert tx["address"]["road"] == ""


def test_erased_items_are_null_and_unsent_items_have_no_key():
    (tx,) = as_json("g2-amendment-erasures.edi")["messages"][0]["transactions"]
    for key in ("residential_institute", "drugs_dispensed", "forenames", "title", "previous_surname"):
        assert key in tx and tx[key] is None
    for key in ("surname", "sex", "birth_date", "free_text"):
        assert key not in tx
    assert tx["address"]["road"] is None and tx["address"]["postcode"] is None


def test_text_is_unescaped():
    (tx,) = as_json("escapes-appendix-k.edi")["messages"][0]["transactions"]
    assert tx["free_text"] == corpus.APPENDIX_K and tx["surname"] == "O'BRIEN"


def test_close_quarter_json():
    f8 = as_json("f8-close-quarter.edi")["messages"][0]
    assert f8["quarter_end"] == "2026-09-30"
    assert f8["transactions"] == [{"tn": 7021, "type": "F8", "nhs_number": None, "errors": [], "warnings": []}]


def test_unreadable_date_survives_as_its_raw_text():
    text = corpus.read("f2-deductions.edi").replace(b"20261031", b"20260231")
    ic = parse_interchange(text)
    data = to_json(ic)
    assert data["messages"][0]["transactions"][0]["deduction_date"] == "20260231"
    assert from_json(data) == ic


def test_legacy_flag_is_recomputed_on_load():
    data = as_json("f1-amendments.edi")
    ic = from_json(data)
    assert [tx.nhs_number_legacy for tx in ic.transactions()] == [False, True]
    assert ic.messages[0].transactions[0].amended_nhs_number is ABSENT


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("sender"), "lacks the key 'sender'"),
        (lambda d: d.update(sis="1"), "sis must be an integer"),
        (lambda d: d.update(prepared_at="yesterday"), "not an ISO 8601"),
        (lambda d: d.update(prepared_at="2020-06-10T14:38:00"), "no UTC offset"),
        (lambda d: d.update(messages={}), "messages must be a list"),
        (lambda d: d["messages"][0]["transactions"][0].update(address="1 HIGH ST"), "address must be an object"),
        (lambda d: d["messages"][0]["transactions"][0].update(forenames="JO"), "forenames must be a list"),
        (lambda d: d["messages"][0]["transactions"][0].update(tn=True), "tn must be an integer"),
        (lambda d: d["messages"][0]["transactions"][0].update(surname=7), "surname must be a string"),
        (lambda d: d["messages"][0].update(transactions=[7]), "must be an object"),
    ],
)
def test_malformed_json_raises_codec_error(mutate, message):
    data = json.loads(json.dumps(to_json(parse_interchange(g1_interchange()))))
    mutate(data)
    with pytest.raises(CodecError, match=message):
        from_json(data)


@pytest.mark.parametrize("data", [None, [], "x", 3, {"messages": "x"}])
def test_non_objects_raise_codec_error(data):
    with pytest.raises(CodecError):
        from_json(data)  # type: ignore[arg-type]


def test_f8_quarter_end_may_come_on_the_transaction_when_building_from_json():
    document = {
        "sender": "XX11",
        "recipient": "TES5",
        "sis": 4,
        "prepared_at": "2024-07-01T09:30:00+01:00",
        "messages": [{"sms": 9, "type": "F8", "ha_cipher": "XX1", "transactions": [
            {"tn": 99, "type": "F8", "quarter_end": "2024-06-30"},
        ]}],
    }  # fmt: skip
    ic = from_json(document)
    assert ic.messages[0].quarter_end.isoformat() == "2024-06-30"
    assert b"DTM+206:20240630:102'" in build_interchange(ic)
