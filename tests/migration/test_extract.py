"""The extract reader on its own: every rule, with the row and field it names (no database)."""

import datetime as dt

from support_migration import ROW, counters, extract

from migration.extract import parse_counters, parse_registrations

TODAY = dt.date(2026, 12, 1)


def errors_of(data: bytes) -> list[tuple[int, str]]:
    return [(e.row, e.field) for e in parse_registrations(data, today=TODAY).errors]


def test_a_good_row_is_read_and_normalised():
    parsed = parse_registrations(
        extract({**ROW, "surname": "stevens", "postcode": "ls1  4ap", "dispensing": "y"}), today=TODAY
    )
    assert parsed.errors == [] and parsed.total == 1
    row = parsed.rows[0]
    assert (row.row, row.surname, row.postcode, row.dispensing) == (2, "STEVENS", "LS1 4AP", True)
    assert row.date_of_birth == dt.date(1980, 5, 17)


def test_each_bad_value_is_an_error_on_its_row_and_field():
    rows = [
        {**ROW, "nhs_number": "9434765918"},  # row 2: check digit
        {**ROW, "nhs_number": "94347659", "sex": "3"},  # row 3: length, sex
        {**ROW, "nhs_number": "9434765870", "date_of_birth": "17/05/1980", "practice_ods": "K8"},  # row 4
        {**ROW, "nhs_number": "9000000009", "fp69_date": "2027-01-01"},  # row 5: reason missing
        {**ROW, "nhs_number": "9000000017", "acceptance_date": "1970-01-01"},  # row 6: before birth
        {**ROW, "nhs_number": "9000000025", "acceptance_date": "2027-01-01", "postcode": "NOT A POSTCODE"},  # row 7
        {**ROW, "nhs_number": "9434765870"},  # row 8: the same patient as row 4
        {**ROW, "nhs_number": "9000000033", "gp_national_code": "12", "dispensing": "X"},  # row 9
        {**ROW, "nhs_number": "9000000041", "pending_deduction_date": "2027-01-01", "pending_deduction_reason": "23"},
    ]
    assert errors_of(extract(*rows)) == [
        (2, "nhs_number"),
        (3, "nhs_number"),
        (3, "sex"),
        (4, "practice_ods"),
        (4, "date_of_birth"),
        (5, "fp69_reason"),
        (6, "acceptance_date"),
        (7, "postcode"),
        (7, "acceptance_date"),
        (8, "nhs_number"),
        (9, "gp_national_code"),
        (9, "dispensing"),
        (10, "pending_deduction_reason"),
    ]


def test_messages_never_repeat_the_nhs_number():
    parsed = parse_registrations(extract({**ROW, "nhs_number": "9434765918"}), today=TODAY)
    assert "9434765918" not in parsed.errors[0].message


def test_a_missing_column_is_one_error_on_the_header_and_extra_columns_are_ignored():
    assert errors_of(extract(ROW, columns=("nhs_number", "surname"))) == [(1, "header")]
    data = b"note," + extract(ROW).replace(b"\n", b"\nx,", 1)
    assert parse_registrations(data, today=TODAY).errors == []


def test_counters_rows():
    parsed = parse_counters(
        counters(
            {
                "link_code": "PAL5",
                "last_sis_sent": "7",
                "last_sms_sent": "9",
                "last_sis_received": "4",
                "last_sms_received": "4",
            },
            {"link_code": "PAL5", "last_sis_sent": "100000000"},
            {"link_code": "BE01", "last_tn_sent": "-1"},
        )
    )
    assert [(e.row, e.field) for e in parsed.errors] == [(3, "link_code"), (3, "last_sis_sent"), (4, "last_tn_sent")]
    assert parsed.rows[0].last_sms_sent == 9
