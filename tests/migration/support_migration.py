"""Build extract and counter files for tests, one dict per row (missing columns are empty)."""

import csv
import datetime as dt
import io

from migration.extract import COUNTER_COLUMNS, REGISTRATION_COLUMNS

TODAY = dt.date(2026, 12, 1)
PREPARED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)

ROW = {
    "nhs_number": "9434765919",
    "surname": "STEVENS",
    "forenames": "JANE",
    "date_of_birth": "1980-05-17",
    "sex": "2",
    "postcode": "LS1 4AP",
    "practice_ods": "K81001",
    "gp_national_code": "4800110",
    "gp_local_code": "110",
    "acceptance_date": "2015-01-01",
    "dispensing": "N",
}


def extract(*rows: dict, columns=REGISTRATION_COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue().encode()


def counters(*rows: dict) -> bytes:
    return extract(*rows, columns=COUNTER_COLUMNS)


def three_patients() -> list[dict]:
    """The three PDS patients of the `nhais_ha` fixture, as NHAIS lists them."""
    return [
        dict(ROW),
        {**ROW, "nhs_number": "9434765870", "surname": "PATEL", "forenames": "AISHA", "practice_ods": "K81002",
         "gp_national_code": "4800120", "gp_local_code": "120"},
        {**ROW, "nhs_number": "9000000009", "surname": "JONES", "forenames": "MARY"},
    ]  # fmt: skip


def person(tn: int, nhs_number: str, surname: str, forename: str, gp_code: str, **items) -> dict:
    """A G1 in the codec's JSON shape for a PDS patient made by PatientFactory (born 17 May 1980, female)."""
    return {
        "tn": tn,
        "type": "G1",
        "gp_code": gp_code,
        "nhs_number": nhs_number,
        "surname": surname,
        "forenames": [forename],
        "sex": "2",
        "birth_date": "1980-05-17",
        "acceptance_code": "A",
        "acceptance_type": "1",
        "acceptance_date": "2026-11-16",
        "address": {"house": "", "road": "1 HIGH STREET", "locality": "", "post_town": "LEEDS", "county": "",
                    "postcode": "LS1 4AP"},
        "errors": [],
        "warnings": [],
        **items,
    }  # fmt: skip


def write_interchange(directory, sender: str, recipient: str, sis: int, tx: dict, cipher: str = "BE") -> None:
    """One interchange holding one message (numbered like it) with one transaction (codec JSON), built by
    devtools.interchanges, as a file."""
    from devtools import interchanges

    ic = interchanges.single(sender, recipient, sis, PREPARED, [tx], cipher=cipher)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{sender}-{recipient}-{sis:05d}.edi").write_bytes(interchanges.edifact(ic))
