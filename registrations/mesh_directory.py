"""Who has which MESH mailbox. Pure Python (no Django): the local MESH sandbox launcher reads it too.

Real MESH has a directory service; locally the sandbox needs every mailbox up front, so the set is
fixed and deterministic: PCRM's hub, PCSE, one NHAIS mailbox per HA cipher, and a pool of GP
practice mailboxes that the demo world and the test factories draw from.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

HA_CIPHERS_CSV = Path(__file__).resolve().parent / "data" / "ha-ciphers.csv"
GP_MAILBOX_POOL = 400


@dataclass(frozen=True)
class HARow:
    cipher: str
    name: str
    nation: str
    link_code: str


def ha_rows() -> list[HARow]:
    with HA_CIPHERS_CSV.open(newline="", encoding="utf-8") as f:
        return [HARow(r["cipher"], r["name"], r["nation"], r["link_code"]) for r in csv.DictReader(f)]


def nhais_mailbox(cipher: str) -> str:
    return f"NHAIS{cipher.upper()}1"


def gp_mailbox(n: int) -> str:
    return f"GPMB{n:05d}"


def all_mailboxes(pcrm: str, pcse: str) -> list[str]:
    return [
        pcrm,
        pcse,
        *(nhais_mailbox(r.cipher) for r in ha_rows()),
        *(gp_mailbox(n) for n in range(1, GP_MAILBOX_POOL + 1)),
    ]
