"""The JSON shape (to_json/from_json): malformed documents and the F8 quarter end."""

from __future__ import annotations

import json

import pytest
from support import g1_interchange

from registrations.gplinks import CodecError, build_interchange, from_json, parse_interchange, to_json


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
