"""Our own GP Links fixture corpus (tests/fixtures/gplinks/), written from the protocol brief.

Most files are built here with the one builder of test and demo interchanges (devtools.interchanges,
on the codec's own writer) from the dataclasses below, so each one's meaning is stated in Python next
to it; the rest are wire-level variants typed by hand (`HAND_WRITTEN`):
the shapes a builder never produces (no newlines, CRLF, no final terminator, zero-padded TNs,
obsolete segments, the other UNB forms). tests/codec/test_corpus.py parses every file and checks it
against `built()` or against the values written next to the hand-written ones.

Regenerate the built files after a deliberate builder change with
`.venv/bin/python tests/corpus.py` (and review the diff); the test fails while they differ.
None of this is copied from the NHS Digital fixtures, which stay outside as the external suite.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

DIR = Path(__file__).resolve().parent / "fixtures" / "gplinks"
LONDON = ZoneInfo("Europe/London")

GP_LINK, HA_LINK, CIPHER, GP = "TES5", "XX11", "XX1", "4826940,281"
# 10-digit numbers with a valid check digit (protocol 7.1), and one Appendix J-style legacy number.
JANE, JOHN, AMIRA, OLD = "9434765919", "9999999999", "3333333333", "N/10/10"
APPENDIX_K = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/=!\"%&*;<>'+:?"


def _at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


MORNING = _at(2026, 11, 2, 9, 30)


def _gp_to_ha(sis: int, messages, when: dt.datetime = MORNING):
    from devtools.interchanges import interchange

    return interchange(GP_LINK, HA_LINK, sis, when, messages)


def _ha_to_gp(sis: int, messages, when: dt.datetime = MORNING):
    from devtools.interchanges import interchange

    return interchange(HA_LINK, GP_LINK, sis, when, messages)


def _message(sms: int, *transactions, quarter_end=None):
    from devtools.interchanges import message
    from registrations.gplinks import ABSENT

    return message(sms, transactions, cipher=CIPHER, quarter_end=quarter_end or ABSENT)


def _address(house="", road="1 HIGH STREET", locality="", town="LEEDS", county="", postcode="LS1 4AP"):
    from registrations.gplinks import Address

    return Address(house, road, locality, town, county, postcode)


def _acceptance(tn: int, code: str = "A", kind: str = "1", **items):
    from registrations.gplinks import Transaction

    base = {
        "gp_code": GP,
        "nhs_number": JANE,
        "surname": "STEVENS",
        "forenames": ["JANE"],
        "sex": "2",
        "birth_date": dt.date(1980, 5, 17),
        "acceptance_code": code,
        "acceptance_type": kind,
        "acceptance_date": dt.date(2026, 10, 30),
        "address": _address(),
    }
    return Transaction(tn=tn, type="G1", **{**base, **items})


def _tx(tn: int, kind: str, **items):
    from registrations.gplinks import Transaction

    return Transaction(tn=tn, type=kind, **items)


def _gp_to_ha_files() -> dict:
    from registrations.gplinks import ABSENT, Address

    g2_new_values = _tx(
        31,
        "G2",
        gp_code=GP,
        nhs_number=JANE,
        surname="STEVENS-OKAFOR",
        forenames=["JANE", "ADA"],
        title="MRS",
        sex="2",
        birth_date=dt.date(1980, 5, 18),
        address=Address("FLAT 2", "3 PARK ROAD", "HEADINGLEY", "LEEDS", "WEST YORKSHIRE", "LS6 2AB"),
        drugs_dispensed="Y",
        residential_institute="AA",
        previous_surname="STEVENS",
        free_text="NEW ADDRESS CONFIRMED BY PATIENT",
    )
    g2_erasures = _tx(
        32,
        "G2",
        gp_code=GP,
        nhs_number=JANE,
        forenames=None,  # FO:% erases every forename
        title=None,
        address=Address("HOLLY COTTAGE", None, "LITTLE HAMLET", "LEEDS", None, None),
        drugs_dispensed=None,
        residential_institute=None,
        previous_surname=None,
    )
    return {
        "g1-type1-birth": _gp_to_ha(
            101,
            [
                _message(
                    201,
                    _acceptance(
                        1,
                        birth_date=dt.date(2026, 10, 20),
                        forenames=["ADA", "GRACE", "MARY ANNE"],
                        title="MISS",
                        place_of_birth="LEEDS",
                        acceptance_date=dt.date(2026, 10, 29),
                    ),
                )
            ],
        ),
        "g1-type2-first-without-nhs-number": _gp_to_ha(
            102,
            [
                _message(
                    202,
                    _acceptance(
                        2,
                        kind="2",
                        nhs_number=ABSENT,
                        place_of_birth="GLASGOW",
                        address=_address(house="CHAPEL HOUSE", road="", locality="CHAPEL ALLERTON", town="LEEDS"),
                        free_text="BABY AT THE REYNOLDS-THORPE CENTRE",
                        drugs_dispensed="Y",
                        residential_institute="RT",
                    ),
                )
            ],
        ),
        "g1-type3-transfer-in": _gp_to_ha(
            103,
            [
                _message(
                    203,
                    _acceptance(
                        3,
                        kind="3",
                        nhs_number=JOHN,
                        surname="ASQUITH",
                        forenames=["ROGER"],
                        title="LORD",
                        sex="1",
                        previous_gp="DR BLACK",
                        previous_ha="COV",
                        previous_address=["HORSFORTH", "LEEDS"],
                        previous_surname="ASQUITH-SMYTHE",
                        address=_address(house="THE MANSION HOUSE", road="", locality="ROUNDHAY"),
                    ),
                )
            ],
        ),
        "g1-type4-immigrant": _gp_to_ha(
            104,
            [
                _message(
                    204,
                    _acceptance(
                        4,
                        kind="4",
                        nhs_number=ABSENT,
                        surname="HASSAN",
                        forenames=["AMIRA"],
                        place_of_birth="CAIRO",
                        entry_date=dt.date(2026, 9, 1),
                        exit_date=dt.date(2019, 6, 30),
                        previous_ha="LNA",
                    ),
                )
            ],
        ),
        # One message, five transactions: every acceptance code (protocol 3.2).
        "g1-every-acceptance-code": _gp_to_ha(
            105,
            [_message(205, *(_acceptance(10 + i, code=code) for i, code in enumerate("ADRIS")))],
        ),
        "g2-amendment-new-values": _gp_to_ha(106, [_message(206, g2_new_values)]),
        "g2-amendment-erasures": _gp_to_ha(107, [_message(207, g2_erasures)]),
        "g3-removal-out-of-area": _gp_to_ha(
            108,
            [
                _message(
                    208,
                    _tx(41, "G3", gp_code=GP, nhs_number=JANE, free_text="PATIENT NOW LIVES 24 MILES FROM PRACTICE"),
                )
            ],
        ),
        # One message per reason the GP may give (death, embarkation, other): three messages, one
        # transaction each, the shape of a GP system that batches.
        "g5-deduction-requests-each-reason": _gp_to_ha(
            109,
            [
                _message(
                    209 + i,
                    _tx(
                        51 + i,
                        "G5",
                        gp_code=GP,
                        nhs_number=number,
                        deduction_reason=reason,
                        deduction_date=date,
                        **({"free_text": text} if text else {}),
                    ),
                )
                for i, (reason, number, date, text) in enumerate(
                    [
                        ("1", JANE, dt.date(2026, 10, 25), "DIED ON HOLIDAY IN MAJORCA"),
                        ("5", JOHN, dt.date(2026, 9, 30), ""),
                        ("13", AMIRA, dt.date(2026, 10, 1), "LEFT THE AREA - DATE APPROXIMATE"),
                    ]
                )
            ],
        ),
        # Several messages of different types in one interchange, the second with two transactions.
        "gp-batch-g1-g2-g3": _gp_to_ha(
            110,
            [
                _message(212, _acceptance(61)),
                _message(
                    213,
                    _tx(62, "G2", gp_code=GP, nhs_number=JOHN, surname="JONES"),
                    _tx(63, "G2", gp_code=GP, nhs_number=AMIRA, sex="9"),
                ),
                _message(214, _tx(64, "G3", gp_code=GP, nhs_number=JANE, free_text="OUT OF AREA")),
            ],
        ),
    }


def _ha_to_gp_files() -> dict:
    from registrations.gplinks import Address

    return {
        # GP's TNs quoted back: one approval returns the NHS number the HA traced, one does not.
        "f4-approvals": _ha_to_gp(
            301,
            [_message(401, _tx(2, "F4", gp_code=GP, nhs_number=JOHN), _tx(1, "F4", gp_code=GP))],
        ),
        "f3-rejection-wrong-ha": _ha_to_gp(
            302, [_message(402, _tx(3, "F3", gp_code=GP, free_text="WRONG HA - TRY SURREY"))]
        ),
        "f2-deductions": _ha_to_gp(
            303,
            [
                _message(
                    403,
                    _tx(
                        7001,
                        "F2",
                        gp_code=GP,
                        nhs_number=JANE,
                        new_ha="COV",
                        deduction_reason="2",
                        deduction_date=dt.date(2026, 10, 31),
                    ),
                    _tx(
                        7002,
                        "F2",
                        gp_code=GP,
                        nhs_number=JOHN,
                        deduction_reason="1",
                        deduction_date=dt.date(2026, 10, 25),
                    ),
                    _tx(
                        7003,
                        "F2",
                        gp_code=GP,
                        nhs_number=AMIRA,
                        deduction_reason="3",
                        deduction_date=dt.date(2026, 11, 1),
                    ),
                )
            ],
        ),
        "f1-amendments": _ha_to_gp(
            304,
            [
                _message(
                    404,
                    _tx(
                        7011,
                        "F1",
                        gp_code=GP,
                        nhs_number=JANE,
                        surname="MORRIS",
                        address=Address("", "136 HIGH STREET", "", "BROMLEY", "KENT", "BR1  5RE"),
                        previous_surname="STEVENS",
                        drugs_dispensed="Y",
                    ),
                    # The HA changes the NHS number (PNA+PER with API) and erases what it no longer holds.
                    _tx(
                        7012,
                        "F1",
                        gp_code=GP,
                        nhs_number=OLD,
                        nhs_number_legacy=True,  # pre-1996 form: PDS knows only 10-digit numbers
                        amended_nhs_number=JOHN,
                        forenames=None,
                        residential_institute=None,
                    ),
                )
            ],
        ),
        "f8-close-quarter": _ha_to_gp(
            305,
            [_message(405, _tx(7021, "F8", quarter_end=dt.date(2026, 9, 30)), quarter_end=dt.date(2026, 9, 30))],
            when=_at(2026, 10, 1, 6, 0),
        ),
        "f9-fp69-notices": _ha_to_gp(
            306,
            [
                _message(
                    406,
                    _tx(
                        7031,
                        "F9",
                        gp_code=GP,
                        nhs_number=JANE,
                        surname="STEVENS",
                        forenames=["JANE", "ADA"],
                        birth_date=dt.date(1980, 5, 17),
                        fp69_reason="8",
                        fp69_expiry=dt.date(2027, 5, 2),
                        free_text="PATIENT THOUGHT TO BE IN SCOTLAND",
                        address=_address(),
                    ),
                    # The minimal form: post town only, no notes.
                    _tx(
                        7032,
                        "F9",
                        gp_code=GP,
                        nhs_number=JOHN,
                        surname="JONES",
                        forenames=["JOHN"],
                        birth_date=dt.date(1955, 1, 2),
                        fp69_reason="1",
                        fp69_expiry=dt.date(2027, 5, 2),
                        address=Address("", "", "", "ORPINGTON", "", ""),
                    ),
                )
            ],
        ),
        # An 8-digit TN, as live NHAIS sends.
        "f10-fp69-flag-removal": _ha_to_gp(307, [_message(407, _tx(10817565, "F10", gp_code=GP, nhs_number=JANE))]),
        "f11-deduction-request-rejection": _ha_to_gp(
            308,
            [
                _message(
                    408, _tx(7041, "F11", gp_code=GP, nhs_number=AMIRA, free_text="PATIENT WILL BE REMOVED IN 30 DAYS")
                )
            ],
        ),
        # What NHAIS sends: several messages, SMS continuing, one type per message.
        "ha-batch-f4-f2-f9": _ha_to_gp(
            309,
            [
                _message(409, _tx(61, "F4", gp_code=GP)),
                _message(
                    410,
                    _tx(
                        7051,
                        "F2",
                        gp_code=GP,
                        nhs_number=JOHN,
                        deduction_reason="1",
                        deduction_date=dt.date(2026, 10, 30),
                    ),
                ),
                _message(
                    411,
                    _tx(
                        7052,
                        "F9",
                        gp_code=GP,
                        nhs_number=AMIRA,
                        surname="HASSAN",
                        forenames=["AMIRA"],
                        birth_date=dt.date(1990, 2, 3),
                        fp69_reason="8",
                        fp69_expiry=dt.date(2027, 5, 2),
                    ),
                ),
            ],
        ),
    }


def _escapes_and_times() -> dict:
    from registrations.gplinks import Address

    return {
        # Appendix K in full as GP notes, plus separators in a name and an address.
        "escapes-appendix-k": _gp_to_ha(
            120,
            [
                _message(
                    220,
                    _acceptance(
                        70,
                        surname="O'BRIEN",
                        forenames=["MARY-JANE"],
                        free_text=APPENDIX_K,
                        address=Address("FLAT 1+2", "10 ST. JOHN'S ROAD", "A:B", "LEEDS", "WHAT?", "LS1 4AP"),
                    ),
                )
            ],
        ),
        # UK local time across the spring change of 2027 (01:00 UTC on 28 March): 00:30 GMT before,
        # 02:30 BST after (01:30 UTC), an hour of wall clock that does not exist in between.
        "time-before-bst-starts": _gp_to_ha(121, [_message(221, _acceptance(71))], when=_at(2027, 3, 28, 0, 30)),
        "time-after-bst-starts": _gp_to_ha(122, [_message(222, _acceptance(72))], when=_at(2027, 3, 28, 2, 30)),
        # And the autumn change (01:00 UTC on 31 October 2027): 00:30 BST, then 02:30 GMT.
        "time-before-bst-ends": _ha_to_gp(
            321, [_message(421, _tx(73, "F4", gp_code=GP))], when=_at(2027, 10, 31, 0, 30)
        ),
        "time-after-bst-ends": _ha_to_gp(
            322, [_message(422, _tx(74, "F4", gp_code=GP))], when=_at(2027, 10, 31, 2, 30)
        ),
    }


def built() -> dict:
    """Every built fixture: name -> the Interchange its file must parse back to."""
    return {**_gp_to_ha_files(), **_ha_to_gp_files(), **_escapes_and_times()}


def receps() -> dict:
    """RECEPs both ways, built by build_recep for corpus interchanges: name -> (acknowledged, kwargs)."""
    return {
        # The GP acknowledges NHAIS's batch: one RFF+MIS per message.
        "recep-gp-acknowledges-ha-batch": ("ha-batch-f4-f2-f9", {"sis": 501, "sms": 601}),
        # PCRM acknowledges a GP batch.
        "recep-ha-acknowledges-gp-batch": ("gp-batch-g1-g2-g3", {"sis": 502, "sms": 602}),
        # Only CQNs: no NAD+GP, so the RECEP's NHS segment says GP 9999.
        "recep-for-close-quarter": ("f8-close-quarter", {"sis": 503, "sms": 603}),
        # A negative RECEP: one message not translated (CA), the interchange in error (ER).
        "recep-negative": (
            "gp-batch-g1-g2-g3",
            {"sis": 504, "sms": 604, "message_codes": {213: "CA"}, "interchange_code": "ER"},
        ),
    }


RECEP_TIME = _at(2026, 11, 2, 9, 45)


def expected_files() -> dict[str, bytes]:
    """The bytes of every generated file (built transactions and RECEPs)."""
    from registrations.gplinks import build_interchange, build_recep

    interchanges = built()
    files = {f"{name}.edi": build_interchange(ic) for name, ic in interchanges.items()}
    for name, (acknowledged, kwargs) in receps().items():
        files[f"{name}.edi"] = build_recep(interchanges[acknowledged], now=RECEP_TIME, **kwargs)
    return files


# Typed by hand (not generated): the wire shapes our builder never writes. Each names the built
# fixture it must parse to the same Interchange as, or None when test_corpus.py checks it directly.
HAND_WRITTEN = {
    "variant-no-newlines.edi": "f4-approvals",
    "variant-crlf.edi": "f4-approvals",
    "variant-no-final-terminator.edi": "f4-approvals",
    "variant-zero-padded-tns.edi": "f4-approvals",
    "variant-gp-unb-form.edi": "g3-removal-out-of-area",
    "variant-adaptor-unb-form.edi": "g3-removal-out-of-area",
    "variant-obsolete-segments.edi": None,
}


def names() -> list[str]:
    return sorted(p.name for p in DIR.glob("*.edi"))


def read(name: str) -> bytes:
    return (DIR / name).read_bytes()


def write() -> list[str]:
    DIR.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, data in expected_files().items():
        path = DIR / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(name)
    return changed


if __name__ == "__main__":
    sys.path.insert(0, str(DIR.parents[2]))  # the repository, for the (pure Python) codec
    for name in write():
        print(f"wrote {DIR / name}")
