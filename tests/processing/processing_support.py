"""Driving the real pipeline from processing tests: build a GP's interchange (devtools.interchanges, on
the codec), send it through the MESH sandbox, poll + ingest + process in-process, relay, and read what
went out."""

import datetime as dt
from collections import defaultdict

from support import GP_CODE, drain, g1_transaction

from devtools import interchanges
from registrations.gplinks import ABSENT, Address, Interchange, Message, Transaction, parse_interchange
from registrations.models import OutboxItem
from registrations.models import Transaction as TxRow
from registrations.services import outbox

ACCEPTED_ON = dt.date(2026, 11, 2)
PINNED = dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC)


def address(road="1 HIGH STREET", town="LEEDS", postcode="LS1 4AP", house="") -> Address:
    return Address(house=house, road=road, locality="", post_town=town, county="", postcode=postcode)


def g1(
    tn: int,
    gp_code: str,
    *,
    nhs_number="9434765919",
    surname="STEVENS",
    forenames=("JANE",),
    sex="2",
    birth_date=dt.date(1980, 5, 17),
    code="A",
    kind="1",
    accepted=ACCEPTED_ON,
    **extra,
) -> Transaction:
    """support.g1_transaction by `gp_code`; no NHS number or birth date (None or "") leaves it out, and a
    type 3 or 4 acceptance carries the items its type needs."""
    items = {
        "gp_code": gp_code,
        "surname": surname,
        "forenames": list(forenames),
        "sex": sex,
        "acceptance_code": code,
        "acceptance_type": kind,
        "acceptance_date": accepted,
        "birth_date": birth_date or ABSENT,
    }
    if kind == "3":
        items.update(previous_gp="DR BLACK", previous_address=["2 OLD ROAD", "LEEDS"])
    if kind == "4":
        items.update(entry_date=dt.date(2026, 9, 1))
    return g1_transaction(tn, nhs_number or None, **{**items, **extra})


def g1_message(sms: int, tn: int, nhs_number="9434765919", *, cipher="XX1", **extra) -> Message:
    """One message (for the HA with `cipher`) holding one G1 by GP 4826940,281 (`extra`: its items)."""
    return interchanges.message(sms, [g1(tn, GP_CODE, nhs_number=nhs_number, **extra)], cipher=cipher)


def edifact(sender: str, sis: int, *messages: Message, recipient="XX11") -> bytes:
    """The EDIFACT of an interchange from `sender` to `recipient`, prepared at PINNED, holding `messages`."""
    return interchanges.edifact(interchanges.interchange(sender, recipient, sis, PINNED, list(messages)))


def g2(tn: int, gp_code: str, nhs_number: str, **items) -> Transaction:
    return Transaction(tn=tn, type="G2", gp_code=gp_code, nhs_number=nhs_number, **items)


def g3(tn: int, gp_code: str, nhs_number: str, text="PATIENT NOW LIVES 24 MILES FROM PRACTICE") -> Transaction:
    return Transaction(tn=tn, type="G3", gp_code=gp_code, nhs_number=nhs_number, free_text=text)


def g5(tn: int, gp_code: str, nhs_number: str, reason="1", on=dt.date(2026, 10, 30), **items) -> Transaction:
    return Transaction(
        tn=tn, type="G5", gp_code=gp_code, nhs_number=nhs_number, deduction_reason=reason, deduction_date=on, **items
    )


class GP:
    """A practice's GP system: numbers its interchanges like a real one and sends them over MESH."""

    def __init__(self, mesh_as, practice, ha_link_code: str):
        self.mesh_as = mesh_as
        self.practice = practice
        self.ha_link_code = ha_link_code
        self.sis = 0

    def send(self, *transactions: Transaction, cipher: str | None = None) -> bytes:
        self.sis += 1
        by_type = defaultdict(list)
        for tx in transactions:
            by_type[tx.type].append(tx)
        messages = [
            interchanges.message(self.sis * 10 + offset, txs, cipher=cipher or self.practice.ha.cipher)
            for offset, txs in enumerate(by_type.values())
        ]
        body = interchanges.edifact(
            interchanges.interchange(self.practice.link_code, self.ha_link_code, self.sis, PINNED, messages)
        )
        with self.mesh_as(self.practice.mesh_mailbox) as client:
            client.send_message("PCRMHUB01", body, workflow_id="NHAIS_REG", local_id=f"test-{self.sis}")
        return body

    def received(self) -> list[Interchange]:
        """Every registration interchange PCRM sent this practice, parsed, oldest first."""
        with self.mesh_as(self.practice.mesh_mailbox) as client:
            ids = client.list_messages(workflow_filter="NHAIS_REG")
            return [parse_interchange(client.retrieve_message(mid).read()) for mid in ids]


def process(gp: GP, *transactions: Transaction, cipher: str | None = None) -> list[TxRow]:
    gp.send(*transactions, cipher=cipher)
    drain()
    return list(TxRow.objects.filter(sender=gp.practice.link_code, sis=gp.sis).order_by("id"))


def replies(**filters) -> list[OutboxItem]:
    return list(OutboxItem.objects.filter(kind="TX", **filters).select_related("link__practice").order_by("id"))


def only_reply(tx_type: str) -> OutboxItem:
    """The one reply of this type: none, or a second one, fails (indexing [0] would hide a duplicate)."""
    found = replies(tx_type=tx_type)
    assert len(found) == 1, f"expected one {tx_type}, queued {[(r.tx_type, r.pk) for r in found]}"
    return found[0]


def relay(now=PINNED) -> None:
    outbox.relay(now=now)
