"""Build extract and counter files for tests, one dict per row (missing columns are empty)."""

import csv
import datetime as dt
import io

from migration.extract import COUNTER_COLUMNS, REGISTRATION_COLUMNS

TODAY = dt.date(2026, 12, 1)

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
