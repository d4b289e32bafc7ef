"""One builder of the GP Links interchanges that demo data, benchmarks and tests send (#11 item 10).

It stands on the codec (registrations.gplinks): its dataclasses, its JSON and its writer
(`build_interchange`), so what is made here is exactly what the codec writes and reads back. What it
adds is the sending system's side: a type 1 acceptance of a person PDS holds, any other transaction,
a message, and the envelope from a practice to its HA or back.

Transactions are composed in the codec's JSON (registrations.gplinks.jsonio), which the demo world and
the benchmarks change item by item; a message takes them in that form or as the codec's dataclasses
(the test corpus states its fixtures as dataclasses) and turns each into the codec's type.

Used by seed_demo's MESH backlog and hostile traffic, the migration demo, `bench rules`
(devtools.benchmarks.autoprocessing) and the test corpus (tests/corpus.py). Pure Python: nothing here
reads the database (a PDS patient handed in is only read from).
"""

import datetime as dt
from collections.abc import Iterable

from registrations.gplinks import ABSENT, Interchange, Message, Transaction, build_interchange
from registrations.gplinks.jsonio import transaction_from_json

# The demo world's acceptance date (seed_demo's backlog, the migration demo, `bench rules`).
ACCEPTED_ON = dt.date(2026, 11, 2)


def acceptance_for(patient, gp, tn: int, **items) -> dict:
    """A type 1 acceptance (codec JSON) by `gp` (a GP of reference data) of a person PDS holds, with their
    usual name, sex, birth date and current address, as the practice's system sends it; `items` replace
    any item."""
    name, address = patient.usual_name, patient.current_address
    tx = {
        "tn": tn,
        "type": "G1",
        "gp_code": gp.gp_code,
        "nhs_number": patient.nhs_number,
        "surname": name.family,
        "forenames": list(name.given),
        "sex": patient.gender,
        "birth_date": patient.birth_date.isoformat(),
        "acceptance_code": "A",
        "acceptance_type": "1",
        "acceptance_date": ACCEPTED_ON.isoformat(),
        "address": {
            "house": address.house,
            "road": address.road,
            "locality": "",
            "post_town": address.post_town,
            "county": "",
            "postcode": address.postcode,
        },
        "errors": [],
        "warnings": [],
    }
    return {**tx, **items}


def transaction_of(tn: int, kind: str, gp, nhs_number: str | None, **items) -> dict:
    """A transaction of `kind` (codec JSON) by `gp` about a patient: `items` are its items (address, free_text...)."""
    return {
        "tn": tn,
        "type": kind,
        "gp_code": gp.gp_code,
        "nhs_number": nhs_number,
        "errors": [],
        "warnings": [],
        **items,
    }


def message(sms: int, transactions: Iterable[dict | Transaction], *, cipher: str, quarter_end=ABSENT) -> Message:
    """One message for the HA with `cipher`, holding `transactions` (all of one type)."""
    typed = [tx if isinstance(tx, Transaction) else transaction_from_json(tx) for tx in transactions]
    return Message(sms=sms, type=typed[0].type, ha_cipher=cipher, transactions=typed, quarter_end=quarter_end)


def interchange(
    sender: str, recipient: str, sis: int, prepared_at: dt.datetime, messages: list[Message]
) -> Interchange:
    """The envelope: from one link code to another, numbered `sis`, prepared at `prepared_at`."""
    return Interchange(sender=sender, recipient=recipient, sis=sis, prepared_at=prepared_at, messages=list(messages))


def single(
    sender: str, recipient: str, sis: int, prepared_at: dt.datetime, transactions, *, cipher: str
) -> Interchange:
    """The commonest shape: one message, numbered like the interchange, holding `transactions`."""
    return interchange(sender, recipient, sis, prepared_at, [message(sis, transactions, cipher=cipher)])


def edifact(ic: Interchange) -> bytes:
    """The bytes, written by the codec's own builder."""
    return build_interchange(ic)
