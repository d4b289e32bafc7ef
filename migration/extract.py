"""Reading an HA's NHAIS extracts (CSV): each row checked on its own, before any reference data is read.

Pure Python (csv, dates, the NHS number check digit): the services add the checks that need the database
(practice and GP known and in the HA, a patient already flagged elsewhere). Rows are numbered as the file's
lines, the header being row 1, so a person can find them in a spreadsheet. Error messages name the field and
the rule, never the value: the output may be pasted into a ticket, and NHS numbers stay out of it.
"""

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import asdict, dataclass, field

from core.nhs_number import is_valid
from registrations.gplinks import codes

REGISTRATION_COLUMNS = (
    "nhs_number",
    "surname",
    "forenames",
    "date_of_birth",
    "sex",
    "postcode",
    "practice_ods",
    "gp_national_code",
    "gp_local_code",
    "acceptance_date",
    "dispensing",
    "residential_institute_code",
    "fp69_date",
    "fp69_reason",
    "pending_deduction_date",
    "pending_deduction_reason",
)
COUNTER_COLUMNS = (
    "link_code",
    "last_sis_sent",
    "last_sms_sent",
    "last_sis_received",
    "last_sms_received",
    "last_tn_sent",
)
SEXES = {"0", "1", "2", "9"}  # protocol 3.4
POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}")
ODS = re.compile(r"[A-Z][0-9A-Z]{5}")
GMC = re.compile(r"[0-9]{7}")
LOCAL_GP = re.compile(r"[0-9A-Z]{1,6}")
RIC = re.compile(r"[0-9A-Z]{1,10}")
NAME = re.compile(r"[A-Z][A-Z '\-.]*")
LINK_CODE = re.compile(r"[0-9A-Z]{4}")
SEQUENCE_MAX = 99_999_999  # SIS, SMS and TN are 8 digits on the wire (protocol 1.5)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass(frozen=True)
class ExtractRow:
    """One valid registration row, with values normalised (upper case, dates parsed)."""

    row: int
    nhs_number: str
    surname: str
    forenames: str
    date_of_birth: dt.date
    sex: str
    postcode: str
    practice_ods: str
    gp_national_code: str
    gp_local_code: str
    acceptance_date: dt.date
    dispensing: bool
    residential_institute_code: str
    fp69_date: dt.date | None
    fp69_reason: str
    pending_deduction_date: dt.date | None
    pending_deduction_reason: str

    @property
    def fingerprint(self) -> str:
        """What identifies the row's content: the same row imported again has the same fingerprint."""
        values = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items() if k != "row"}
        return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()


@dataclass(frozen=True)
class CounterRow:
    """One link's counters (a practice's link code), or the HA's own last TN (the HA's link code)."""

    row: int
    link_code: str
    last_sis_sent: int | None
    last_sms_sent: int | None
    last_sis_received: int | None
    last_sms_received: int | None
    last_tn_sent: int | None


@dataclass
class Parsed:
    """Every data row's raw values (by row number), the rows that passed, and every error found."""

    total: int = 0
    raw: dict[int, dict[str, str]] = field(default_factory=dict)
    rows: list = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def read_csv(data: bytes, columns: tuple[str, ...]) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """(row number, values) for each data row; a header missing a column is one error on row 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(1, "file", "The file is not UTF-8 text.")]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in columns if c not in header]
    if missing:
        return [], [RowError(1, "header", f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.")]
    reader.fieldnames = header
    rows = []
    for values in reader:
        # A row's line in the file: the header is line 1 (quoted line breaks aside, which extracts do not use).
        line = reader.line_num
        if not any((v or "").strip() for k, v in values.items() if k in columns):
            continue
        rows.append((line, {c: (values.get(c) or "").strip() for c in columns}))
    return rows, []


def _date(values: dict, name: str, row: int, errors: list[RowError], *, required: bool) -> dt.date | None:
    value = values[name]
    if not value:
        if required:
            errors.append(RowError(row, name, "Required: a date as YYYY-MM-DD."))
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(RowError(row, name, "Not a date as YYYY-MM-DD."))
        return None


def _check(ok: bool, errors: list[RowError], row: int, name: str, message: str) -> None:
    if not ok:
        errors.append(RowError(row, name, message))


def _identity_errors(v: dict, row: int, errors: list[RowError]) -> None:
    number = v["nhs_number"].replace(" ", "")
    if not (len(number) == 10 and number.isdigit()):
        errors.append(RowError(row, "nhs_number", "Not a 10-digit NHS number."))
    elif not is_valid(number):
        errors.append(RowError(row, "nhs_number", "The NHS number fails its check digit."))
    _check(bool(v["surname"]), errors, row, "surname", "Required.")
    _check(not v["surname"] or bool(NAME.fullmatch(v["surname"].upper())), errors, row, "surname", "Letters only.")
    _check(v["sex"] in SEXES, errors, row, "sex", "Must be 0, 1, 2 or 9.")
    postcode = " ".join(v["postcode"].upper().split())
    _check(not postcode or bool(POSTCODE.fullmatch(postcode)), errors, row, "postcode", "Not a UK postcode.")


def _code_errors(v: dict, row: int, errors: list[RowError]) -> None:
    _check(bool(ODS.fullmatch(v["practice_ods"].upper())), errors, row, "practice_ods", "Not a practice ODS code.")
    _check(bool(GMC.fullmatch(v["gp_national_code"])), errors, row, "gp_national_code", "Must be 7 digits.")
    _check(
        bool(LOCAL_GP.fullmatch(v["gp_local_code"].upper())),
        errors,
        row,
        "gp_local_code",
        "Must be 1 to 6 letters or digits.",
    )
    _check(v["dispensing"].upper() in ("Y", "N", ""), errors, row, "dispensing", "Must be Y or N.")
    ric = v["residential_institute_code"].upper()
    _check(not ric or bool(RIC.fullmatch(ric)), errors, row, "residential_institute_code", "Letters or digits only.")


def _paired(v, row, errors, date_name, reason_name, *, allowed, words: str) -> tuple[dt.date | None, str]:
    """A date and its reason come together or not at all (an FP69 flag, a pending deduction)."""
    when = _date(v, date_name, row, errors, required=False)
    reason = v[reason_name]
    if bool(v[date_name]) != bool(reason):
        missing = reason_name if v[date_name] else date_name
        errors.append(RowError(row, missing, f"Required with {reason_name if missing == date_name else date_name}."))
    elif reason and not allowed(reason):
        errors.append(RowError(row, reason_name, f"Not {words}."))
    return when, reason


def parse_registrations(data: bytes, *, today: dt.date) -> Parsed:
    """Every row of a registration extract checked on its own; duplicates of a patient are errors too."""
    parsed = Parsed()
    rows, parsed.errors = read_csv(data, REGISTRATION_COLUMNS)
    seen: dict[str, int] = {}
    # FP69 reasons beyond 8 are not published (protocol 3.6): any code of their width is accepted.
    fp69_code = re.compile(rf"[0-9]{{1,{codes.FP69_REASON_MAX_DIGITS}}}")
    for row, v in rows:
        parsed.total += 1
        parsed.raw[row] = v
        errors: list[RowError] = []
        _identity_errors(v, row, errors)
        _code_errors(v, row, errors)
        born = _date(v, "date_of_birth", row, errors, required=True)
        accepted = _date(v, "acceptance_date", row, errors, required=True)
        if born and born > today:
            errors.append(RowError(row, "date_of_birth", "In the future."))
        if accepted and accepted > today:
            errors.append(RowError(row, "acceptance_date", "In the future."))
        if born and accepted and accepted < born:
            errors.append(RowError(row, "acceptance_date", "Before the date of birth."))
        fp69_on, fp69_reason = _paired(
            v,
            row,
            errors,
            "fp69_date",
            "fp69_reason",
            allowed=fp69_code.fullmatch,
            words="an FP69 reason (1 or 2 digits)",
        )
        due, deduction_reason = _paired(
            v,
            row,
            errors,
            "pending_deduction_date",
            "pending_deduction_reason",
            allowed=codes.DEDUCTION_REASONS.__contains__,
            words="a GP Links deduction reason (1 to 22)",
        )
        number = v["nhs_number"].replace(" ", "")
        if number in seen:
            errors.append(RowError(row, "nhs_number", f"The same patient as row {seen[number]}."))
        seen.setdefault(number, row)
        if errors:
            parsed.errors.extend(errors)
            continue
        parsed.rows.append(
            ExtractRow(
                row=row,
                nhs_number=number,
                surname=v["surname"].upper(),
                forenames=" ".join(v["forenames"].upper().split()),
                date_of_birth=born,
                sex=v["sex"],
                postcode=" ".join(v["postcode"].upper().split()),
                practice_ods=v["practice_ods"].upper(),
                gp_national_code=v["gp_national_code"],
                gp_local_code=v["gp_local_code"].upper(),
                acceptance_date=accepted,
                dispensing=v["dispensing"].upper() == "Y",
                residential_institute_code=v["residential_institute_code"].upper(),
                fp69_date=fp69_on,
                fp69_reason=fp69_reason,
                pending_deduction_date=due,
                pending_deduction_reason=deduction_reason,
            )
        )
    return parsed


def _counter(v: dict, name: str, row: int, errors: list[RowError]) -> int | None:
    value = v[name]
    if not value:
        return None
    if not value.isdigit() or int(value) > SEQUENCE_MAX:
        errors.append(RowError(row, name, f"Must be a whole number from 0 to {SEQUENCE_MAX:,}."))
        return None
    return int(value)


def parse_counters(data: bytes) -> Parsed:
    """Every row of a counters file checked on its own: a link code, and numbers within the 8-digit range."""
    parsed = Parsed()
    rows, parsed.errors = read_csv(data, COUNTER_COLUMNS)
    seen: dict[str, int] = {}
    for row, v in rows:
        parsed.total += 1
        parsed.raw[row] = v
        errors: list[RowError] = []
        code = v["link_code"].upper()
        _check(bool(LINK_CODE.fullmatch(code)), errors, row, "link_code", "Must be a 4-character link code.")
        if code in seen:
            errors.append(RowError(row, "link_code", f"The same link as row {seen[code]}."))
        seen.setdefault(code, row)
        values = {name: _counter(v, name, row, errors) for name in COUNTER_COLUMNS[1:]}
        if errors:
            parsed.errors.extend(errors)
            continue
        parsed.rows.append(CounterRow(row=row, link_code=code, **values))
    return parsed
