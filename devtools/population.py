"""A realistic synthetic population for the demographic master, deterministic for a seed.

Names follow their frequencies (a head of common British surnames and forenames, then a long tail of
rarer surnames built from common English name parts), ages follow the shape of the UK population,
people live in households at postcodes of real postcode areas, and are registered with practices in
their area. Some have a maiden name, a previous address or an earlier practice; some are deceased
(informally or formally) or restricted (S flag); a few are twins; and a few are duplicates of another
record under a second NHS number, with the slips that cause duplicates (a misspelt name, an old
address, day and month swapped).

Rows are loaded with PostgreSQL COPY through psycopg 3 (`cursor.copy()`), in one transaction, with
the history triggers switched off for the load (ALTER TABLE ... DISABLE TRIGGER, which is
transactional: a failed load leaves them on). A seeded record's history therefore starts at the
first change made to it after the load.
"""

import bisect
import datetime as dt
import itertools
import queue
import random
import threading
import time

from django.db import connection, transaction


def _words(text: str) -> list[str]:
    return text.split()


FIRST_STEM = 960_000_000  # NHS numbers of seeded people: the 96… range, never issued to real people
TODAY = dt.date(2026, 11, 1)  # fixed, so a seed gives the same people whenever it is run

_SURNAMES = (
    "SMITH 126 JONES 93 WILLIAMS 68 TAYLOR 57 BROWN 53 DAVIES 48 EVANS 38 WILSON 38 THOMAS 35 JOHNSON 33 "
    "ROBERTS 32 ROBINSON 30 THOMPSON 30 WRIGHT 29 WALKER 29 WHITE 28 EDWARDS 27 HUGHES 27 GREEN 26 HALL 26 "
    "LEWIS 25 HARRIS 25 CLARKE 25 PATEL 24 JACKSON 24 WOOD 23 TURNER 22 MARTIN 22 COOPER 21 HILL 21 WARD 20 "
    "MORRIS 20 MOORE 20 CLARK 20 LEE 19 KING 19 BAKER 19 HARRISON 18 MORGAN 18 ALLEN 18 JAMES 18 SCOTT 17 "
    "PHILLIPS 17 WATSON 17 DAVIS 17 PARKER 16 PRICE 16 BENNETT 16 YOUNG 16 GRIFFITHS 15 MITCHELL 15 KELLY 15 "
    "COOK 15 CARTER 15 RICHARDSON 14 BAILEY 14 COLLINS 14 BELL 14 SHAW 14 MURPHY 14 MILLER 13 COX 13 "
    "RICHARDS 13 KHAN 13 MARSHALL 13 ANDERSON 13 SIMPSON 12 ELLIS 12 ADAMS 12 SINGH 12 BEGUM 12 WILKINSON 12 "
    "FOSTER 11 CHAPMAN 11 POWELL 11 WEBB 11 ROGERS 11 GRAY 11 MASON 11 ALI 11 HUNT 11 HUSSAIN 11 CAMPBELL 10 "
    "MATTHEWS 10 OWEN 10 PALMER 10 HOLMES 10 MILLS 10 BARNES 10 KNIGHT 10 LLOYD 10 BUTLER 10 RUSSELL 10 "
    "BARKER 9 FISHER 9 STEVENS 9 JENKINS 9 MURRAY 9 DIXON 9 HARVEY 9 GRAHAM 9 PEARSON 9 AHMED 9 FLETCHER 9 "
    "WALSH 8 KAUR 8 GIBSON 8 HOWARD 8 ANDREWS 8 STEVENSON 8 FORD 8 REYNOLDS 8 O'BRIEN 7 NOWAK 7 OKAFOR 5 "
    "NGUYEN 5 KOWALSKI 5 SMITH-JONES 3 MCDONALD 7 MACLEOD 4 ROBINSON-PATTERSON 1 O'CONNOR 6 D'SOUZA 3"
)
_FEMALE = (
    "OLIVIA 40 AMELIA 38 ISLA 30 AVA 30 MIA 28 IVY 25 LILY 25 ISABELLA 24 ROSIE 22 SOPHIA 22 GRACE 22 FREYA 21 "
    "ELLA 20 EVIE 20 POPPY 19 SARAH 30 EMMA 28 LAURA 26 CLAIRE 25 JANE 24 SUSAN 30 MARGARET 30 PATRICIA 22 "
    "ELIZABETH 28 MARY 32 JULIE 20 KAREN 22 HELEN 22 LISA 20 NICOLA 18 REBECCA 18 HANNAH 18 CHLOE 18 "
    "JESSICA 18 CHARLOTTE 20 EMILY 22 LUCY 18 SOPHIE 20 FATIMA 10 AISHA 10 PRIYA 8 ZARA 8 MAYA 8 ANNA 15 "
    "JOAN 12 DOROTHY 10 BARBARA 12 JEAN 12 LINDA 14 CAROL 14 DEBORAH 12 ANGELA 12 TRACEY 10 JOANNE 14 "
    "KATHERINE 12 VICTORIA 14 AMY 16 HOLLY 12 MEGAN 12 ABIGAIL 10 ELEANOR 10 ALICE 14 FLORENCE 12"
)
_MALE = (
    "OLIVER 40 GEORGE 38 NOAH 34 ARTHUR 30 MUHAMMAD 30 LEO 28 HARRY 27 OSCAR 25 ARCHIE 24 HENRY 23 THEO 22 "
    "JACK 30 JAMES 34 WILLIAM 30 THOMAS 28 JOSHUA 20 DANIEL 24 SAMUEL 20 JOSEPH 20 BENJAMIN 18 DAVID 34 "
    "JOHN 36 MICHAEL 30 PAUL 26 ANDREW 26 MARK 24 RICHARD 24 PETER 24 STEPHEN 22 CHRISTOPHER 22 ROBERT 26 "
    "IAN 16 GARY 14 KEVIN 14 ANTHONY 16 MATTHEW 20 ADAM 16 RYAN 14 LUKE 14 CALLUM 10 LIAM 12 ALI 10 "
    "MOHAMMED 16 AHMED 10 ARJUN 8 RAVI 6 KWAME 4 PIOTR 5 TOMASZ 4 BRIAN 12 KENNETH 10 RONALD 10 DENNIS 8 "
    "ALAN 14 GRAHAM 10 NEIL 10 SIMON 14 JASON 10 LEWIS 12 ETHAN 14 ALFIE 14 FREDDIE 14 CHARLIE 18"
)
_PARTS_A = _words(
    "ASH BLACK BRAD BROOK CAR COL CRAN DAL DUN EL FAIR FIELD GARS GREEN HAD HALL HARD HAW HEATH HOL "
    "KIN LANG LIT MAR MID MOS NEW NOR OAK PEN RAD RAVEN ROTH SAL SHAR STAN STOCK SUN THORN WAD WEST "
    "WHIT WIN WOOD YARD"
)
_PARTS_B = _words(
    "BURN BY COTT CROFT DALE DEN FIELD FORD GATE HAM HURST INGTON LAND LEY LOW MAN MORE RIDGE SON "
    "STEAD STON THWAITE TON WELL WICK WORTH"
)
_AREAS = [
    "LS LEEDS",
    "M MANCHESTER",
    "B BIRMINGHAM",
    "L LIVERPOOL",
    "S SHEFFIELD",
    "BD BRADFORD",
    "NE NEWCASTLE UPON TYNE",
    "NG NOTTINGHAM",
    "LE LEICESTER",
    "CV COVENTRY",
    "BS BRISTOL",
    "CF CARDIFF",
    "SO SOUTHAMPTON",
    "PO PORTSMOUTH",
    "BN BRIGHTON",
    "OX OXFORD",
    "CB CAMBRIDGE",
    "NR NORWICH",
    "YO YORK",
    "HU HULL",
    "DE DERBY",
    "ST STOKE-ON-TRENT",
    "WV WOLVERHAMPTON",
    "PL PLYMOUTH",
    "EX EXETER",
    "BA BATH",
    "GL GLOUCESTER",
    "WR WORCESTER",
    "HR HEREFORD",
    "SY SHREWSBURY",
    "CH CHESTER",
    "WA WARRINGTON",
    "PR PRESTON",
    "BB BLACKBURN",
    "BL BOLTON",
    "OL OLDHAM",
    "HD HUDDERSFIELD",
    "HX HALIFAX",
    "WF WAKEFIELD",
    "DN DONCASTER",
    "LN LINCOLN",
    "PE PETERBOROUGH",
    "MK MILTON KEYNES",
    "LU LUTON",
    "SG STEVENAGE",
    "CM CHELMSFORD",
    "CO COLCHESTER",
    "IP IPSWICH",
    "SS SOUTHEND-ON-SEA",
    "ME ROCHESTER",
    "CT CANTERBURY",
    "TN TONBRIDGE",
    "RH REDHILL",
    "GU GUILDFORD",
    "RG READING",
    "SL SLOUGH",
    "HP HEMEL HEMPSTEAD",
    "AL ST ALBANS",
    "WD WATFORD",
    "EN ENFIELD",
    "N LONDON",
    "E LONDON",
    "SE LONDON",
    "SW LONDON",
    "W LONDON",
    "NW LONDON",
    "TS MIDDLESBROUGH",
    "DH DURHAM",
    "SR SUNDERLAND",
    "DL DARLINGTON",
    "CA CARLISLE",
    "LA LANCASTER",
    "FY BLACKPOOL",
    "WN WIGAN",
    "SK STOCKPORT",
    "TF TELFORD",
    "NN NORTHAMPTON",
    "KT KINGSTON UPON THAMES",
    "CR CROYDON",
    "BR BROMLEY",
    "DA DARTFORD",
    "IG ILFORD",
    "RM ROMFORD",
    "TW TWICKENHAM",
]
_STREETS = _words(
    "HIGH CHURCH STATION MILL PARK VICTORIA QUEEN KING NEW GREEN MANOR SCHOOL THE AVENUE MAPLE OAK "
    "ELM ASH BIRCH WILLOW CEDAR BEECH CHESTNUT ORCHARD MEADOW FIELD BROOK RIVER BRIDGE MARKET WEST "
    "EAST NORTH SOUTH ALBERT ALEXANDRA WINDSOR YORK RICHMOND GROVE CLIFF HILL VALLEY FOREST"
)
_STREET_KINDS = ["ROAD", "STREET", "LANE", "AVENUE", "CLOSE", "DRIVE", "WAY", "GARDENS", "CRESCENT", "TERRACE"]
_UNITS = "ABDEFGHJLNPQRSTUWXYZ"
# Age bands (years) and their share of the population, roughly the UK's shape.
_AGE_BANDS = [(0, 10, 11), (10, 20, 12), (20, 30, 13), (30, 40, 13), (40, 50, 13), (50, 60, 13), (60, 70, 11),
              (70, 80, 8), (80, 90, 4.5), (90, 105, 1.5)]  # fmt: skip

DUPLICATE_RATE = 0.003
TWIN_RATE = 0.004
HOUSEHOLD_RATE = 0.35  # the next person lives with the previous one
DECEASED_RATE = 0.008
SENSITIVE_RATE = 0.002
MAIDEN_RATE = 0.30  # of women over 25
MOVED_RATE = 0.20
PREVIOUS_GP_RATE = 0.25
PEOPLE_PER_POSTCODE = 25
LIST_SIZE = 7000  # people per practice


class _FastRandom(random.Random):
    """random.Random with choice and randint done by one call to random(): several times faster in
    CPython, and as deterministic (the distribution differs from randint's in the last ulp only)."""

    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.random() * (hi - lo + 1))


def _weighted(spec: str) -> tuple[list[str], list[float]]:
    tokens = spec.split()
    names, weights = tokens[0::2], [float(w) for w in tokens[1::2]]
    return names, list(itertools.accumulate(weights))


class Generator:
    def __init__(self, size: int, seed: int):
        self.size = size
        self.rng = _FastRandom(seed)
        rng = self.rng
        head, head_cum = _weighted(_SURNAMES)
        # Long tail: rarer surnames from English name parts, Zipf-weighted, together about 60% of people.
        tail = sorted({a + b for a in _PARTS_A for b in _PARTS_B} - set(head))
        rng.shuffle(tail)
        tail_total = head_cum[-1] * 1.5
        harmonic = sum(1 / (i + 1) for i in range(len(tail)))
        tail_weights = [tail_total / ((i + 1) * harmonic) for i in range(len(tail))]
        self.surnames = head + tail
        self.surname_cum = list(
            itertools.accumulate([head_cum[0], *[b - a for a, b in itertools.pairwise(head_cum)], *tail_weights])
        )
        self.female, self.female_cum = _weighted(_FEMALE)
        self.male, self.male_cum = _weighted(_MALE)
        self.areas = [a.split(" ", 1) for a in _AREAS]
        postcodes = max(50, size // PEOPLE_PER_POSTCODE)
        self.postcodes = []
        seen = set()
        while len(self.postcodes) < postcodes:
            code, town = rng.pick(self.areas)
            pc = f"{code}{rng.between(1, 28)} {rng.between(0, 9)}{rng.pick(_UNITS)}{rng.pick(_UNITS)}"
            if pc not in seen:
                seen.add(pc)
                self.postcodes.append((pc, town))
        # Practices: area letters and digits, e.g. B82001, each serving postcodes of its own area.
        self.practices_by_area: dict[str, list[str]] = {}
        practice_count = max(5, size // LIST_SIZE)
        for i in range(practice_count):
            code, _ = self.areas[i % len(self.areas)]
            ods = f"{'ABCDEFGHJKLMNPY'[i % 15]}{81000 + i:05d}"
            self.practices_by_area.setdefault(code, []).append(ods)
        self.all_practices = [p for ps in self.practices_by_area.values() for p in ps]
        self.age_cum = list(itertools.accumulate(w for _, _, w in self.age_bands()))

    @staticmethod
    def age_bands():
        return _AGE_BANDS

    def _birth_date(self) -> dt.date:
        rng = self.rng
        lo, hi, _ = _AGE_BANDS[bisect.bisect(self.age_cum, rng.random() * self.age_cum[-1])]
        days = rng.between(lo * 365, hi * 365 - 1)
        return TODAY - dt.timedelta(days=days)

    def _forename(self, gender: str) -> str:
        names, cum = (self.female, self.female_cum) if gender == "2" else (self.male, self.male_cum)
        return names[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def _surname(self) -> str:
        return self.surnames[bisect.bisect(self.surname_cum, self.rng.random() * self.surname_cum[-1])]

    def _address(self) -> tuple[str, str, str, str]:
        rng = self.rng
        postcode, town = rng.pick(self.postcodes)
        road = f"{rng.between(1, 180)} {rng.pick(_STREETS)} {rng.pick(_STREET_KINDS)}"
        house = f"FLAT {rng.between(1, 30)}" if rng.random() < 0.15 else ""
        return house, road, town, postcode

    def _practice(self, postcode: str) -> str:
        area = postcode.split(" ")[0].rstrip("0123456789")
        choices = self.practices_by_area.get(area) or self.all_practices
        return self.rng.pick(choices)

    def people(self):
        """Yield one dict per person (duplicates included), deterministically."""
        rng = self.rng
        previous = None
        for _ in range(self.size):
            roll = rng.random()
            if previous and roll < DUPLICATE_RATE:
                person = self._duplicate(previous)
            elif previous and roll < DUPLICATE_RATE + TWIN_RATE:
                person = dict(previous, given=[self._forename(previous["gender"])], duplicate=False, maiden=None)
            elif previous and roll < DUPLICATE_RATE + TWIN_RATE + HOUSEHOLD_RATE:
                gender = rng.pick("12")
                person = self._new(gender, family=previous["family"], address=previous["address"])
            else:
                person = self._new(rng.pick("12"))
            previous = person
            yield person

    def _new(self, gender: str, family: str | None = None, address=None) -> dict:
        rng = self.rng
        born = self._birth_date()
        given = [self._forename(gender)]
        if rng.random() < 0.45:
            given.append(self._forename(gender))
        address = address or self._address()
        age = (TODAY - born).days // 365
        maiden = None
        if gender == "2" and age > 25 and rng.random() < MAIDEN_RATE:
            maiden = self._surname()
        return {
            "gender": gender,
            "born": born,
            "given": given,
            "family": family or self._surname(),
            "maiden": maiden,
            "address": address,
            "duplicate": False,
        }

    def _duplicate(self, original: dict) -> dict:
        """The same person recorded twice, with one of the slips that causes it."""
        rng = self.rng
        person = dict(original, duplicate=True)
        slip = int(rng.random() * 4)
        if slip == 0 and len(person["family"]) > 3:  # a misspelt surname: one letter doubled or dropped
            i = rng.between(1, len(person["family"]) - 2)
            person["family"] = person["family"][:i] + person["family"][i + 1 :]
        elif slip == 1:  # the same person at an address they have since left
            person["address"] = self._address()
        elif slip == 2 and person["born"].day <= 12 and person["born"].day != person["born"].month:
            born = person["born"]
            person["born"] = born.replace(month=born.day, day=born.month)
        else:  # known by a middle name or an initial
            person["given"] = [person["given"][0][0]]
        return person


def nhs_numbers(start_stem: int = FIRST_STEM):
    """Valid NHS numbers in order from a stem. The modulus 11 sum is split into the first six digits
    (once per thousand stems) and the last three (a table), which is all the time a million costs."""
    tail = [sum(int(d) * w for d, w in zip(f"{n:03d}", (4, 3, 2), strict=True)) for n in range(1000)]
    stem = start_stem
    while True:
        block, low = divmod(stem, 1000)
        head = sum(int(d) * w for d, w in zip(f"{block:06d}", (10, 9, 8, 7, 6, 5), strict=True))
        for n in range(low, 1000):
            digit = 11 - (head + tail[n]) % 11
            if digit == 11:
                digit = 0
            if digit != 10:
                yield f"{block:06d}{n:03d}{digit}"
        stem = (block + 1) * 1000


PATIENT_COLUMNS = _words(
    "id nhs_number gender birth_date place_of_birth death_date death_status sensitive version created_at updated_at"
)
NAME_COLUMNS = ["id", "patient_id", "use", "prefix", "given", "family", "start", "end"]
ADDRESS_COLUMNS = ["id", "patient_id", "house", "road", "locality", "post_town", "county", "postcode", "start", "end"]
GP_COLUMNS = ["id", "patient_id", "practice_ods", "start", "end", "removal_reason"]
TABLES = {
    "pds_patient": PATIENT_COLUMNS,
    "pds_patientname": NAME_COLUMNS,
    "pds_patientaddress": ADDRESS_COLUMNS,
    "pds_gpperiod": GP_COLUMNS,
}


BATCH = 50_000


def _next_ids(cursor, tables: list[str], counts: dict[str, int]) -> dict[str, int]:
    """Reserve id ranges: the first id for each table, with the sequence moved past the range."""
    first = {}
    for table in tables:
        cursor.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        start = cursor.fetchone()[0] + 1
        cursor.execute("SELECT setval(%s, %s)", [sequence, start + counts[table]])
        first[table] = start
    return first


def _drop_secondary(cursor) -> list[str]:
    """Drop the foreign keys, unique constraints and secondary indexes of the (empty) tables; return the
    SQL that puts them back. Building an index once over a million rows is far cheaper than keeping it
    up to date row by row, and a foreign key added back is checked in one pass."""
    tables = list(TABLES)
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u')",
        [tables],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
        [tables],
    )
    indexes = cursor.fetchall()
    for table, name, _, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    restore = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, kind, d in constraints if kind == "u"]
    restore += [definition for _, definition in indexes]
    restore += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, kind, d in constraints if kind == "f"]
    return restore


class _CopyWriter(threading.Thread):
    """Sends COPY batches on the connection while the main thread generates the next batch."""

    def __init__(self, raw_cursor):
        super().__init__(daemon=True)
        self.raw = raw_cursor
        self.batches: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error:
                continue
            try:
                for table, lines in batch.items():
                    columns = ", ".join(f'"{c}"' for c in TABLES[table])
                    with self.raw.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                        copy.write("\n".join(lines) + "\n")
            except BaseException as exc:  # re-raised in the main thread
                self.error = exc

    def send(self, batch: dict[str, list[str]]) -> None:
        if self.error:
            raise self.error
        self.batches.put(batch)

    def finish(self) -> None:
        self.batches.put(None)
        self.join()
        if self.error:
            raise self.error


class _Rows:
    """Per-table COPY text lines and counts, with the next id for each table.

    Lines are formatted by hand (one f-string per row) rather than value by value: over millions of
    rows that is most of the generator's time.
    """

    def __init__(self, first_ids: dict[str, int]):
        self.next_id = dict(first_ids)
        self.lines: dict[str, list[str]] = {t: [] for t in TABLES}
        self.counts = dict.fromkeys(TABLES, 0)

    def _id(self, table: str) -> int:
        row_id = self.next_id[table]
        self.next_id[table] = row_id + 1
        self.counts[table] += 1
        return row_id

    def patient(self, nhs, gender, born, place, death, death_status, sensitive, now) -> int:
        pid = self._id("pds_patient")
        self.lines["pds_patient"].append(
            f"{pid}\t{nhs}\t{gender}\t{born}\t{place}\t{death or NULL}\t{death_status}\t{'t' if sensitive else 'f'}"
            f"\t1\t{now}\t{now}"
        )
        return pid

    def name(self, pid, use, given, family, start, end) -> None:
        given_array = "{" + ",".join(f'"{g}"' for g in given) + "}"
        self.lines["pds_patientname"].append(
            f"{self._id('pds_patientname')}\t{pid}\t{use}\t\t{given_array}\t{family}\t{start}\t{end or NULL}"
        )

    def address(self, pid, house, road, town, postcode, start, end) -> None:
        self.lines["pds_patientaddress"].append(
            f"{self._id('pds_patientaddress')}\t{pid}\t{house}\t{road}\t\t{town}\t\t{postcode}\t{start}\t{end or NULL}"
        )

    def gp(self, pid, ods, start, end, reason) -> None:
        self.lines["pds_gpperiod"].append(f"{self._id('pds_gpperiod')}\t{pid}\t{ods}\t{start}\t{end or NULL}\t{reason}")

    def take(self) -> dict[str, list[str]]:
        batch = {t: lines for t, lines in self.lines.items() if lines}
        self.lines = {t: [] for t in TABLES}
        return batch


NULL = "\\N"


def _person_rows(gen: Generator, rows: _Rows, person: dict, nhs_number: str, now: str) -> None:
    rng = gen.rng
    born = person["born"]
    death_date = None
    death_status = ""
    if rng.random() < DECEASED_RATE * (4 if (TODAY - born).days > 70 * 365 else 0.3):
        death_date = born + dt.timedelta(days=rng.between(0, max(1, (TODAY - born).days)))
        death_status = "formal" if rng.random() < 0.9 else "informal"
    house, road, town, postcode = person["address"]
    place = town if rng.random() < 0.7 else ""
    pid = rows.patient(
        nhs_number, person["gender"], born, place, death_date, death_status, rng.random() < SENSITIVE_RATE, now
    )
    married = born + dt.timedelta(days=365 * 25)
    if person["maiden"]:
        rows.name(pid, "maiden", person["given"], person["maiden"], born, married)
    rows.name(pid, "usual", person["given"], person["family"], married if person["maiden"] else born, None)
    moved_in = max(born, TODAY - dt.timedelta(days=rng.between(30, 20 * 365)))
    if rng.random() < MOVED_RATE and moved_in > born:
        old_house, old_road, old_town, old_postcode = gen._address()
        rows.address(pid, old_house, old_road, old_town, old_postcode, born, moved_in)
    rows.address(pid, house, road, town, postcode, moved_in, None)
    registered = max(born, TODAY - dt.timedelta(days=rng.between(30, 15 * 365)))
    if rng.random() < PREVIOUS_GP_RATE and registered > born:
        rows.gp(pid, rng.pick(gen.all_practices), born, registered, "")
    ended = death_date if death_date and death_date >= registered else None
    rows.gp(pid, gen._practice(postcode), registered, ended, "DEA" if ended else "")


def seed(size: int, seed: int = 1, *, progress=None, phases: dict[str, float] | None = None) -> dict[str, int]:
    """Generate `size` people and COPY them in, in one transaction. Returns the row counts per table.

    `phases`, when given, receives the seconds spent loading, indexing, checking and analysing.
    """
    phases = phases if phases is not None else {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        phases[name] = round(now_ - clock, 2)
        clock = now_

    gen = Generator(size, seed)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).isoformat()
    numbers = nhs_numbers()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for table in TABLES:
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pds_patient)")
        restore = [] if cursor.fetchone()[0] else _drop_secondary(cursor)
        # Generous upper bounds per table; unused ids are harmless gaps.
        bounds = {
            "pds_patient": size,
            "pds_patientname": size * 2,
            "pds_patientaddress": size * 2,
            "pds_gpperiod": size * 2,
        }
        rows = _Rows(_next_ids(cursor, list(TABLES), bounds))
        writer = _CopyWriter(cursor.cursor)  # the psycopg 3 cursor under Django's wrapper
        writer.start()
        try:
            for index, person in enumerate(gen.people()):
                _person_rows(gen, rows, person, next(numbers), now)
                if index % BATCH == BATCH - 1:
                    writer.send(rows.take())
                    if progress:
                        progress(index + 1)
            writer.send(rows.take())
        finally:
            writer.finish()
        lap("generate_and_copy")
        for statement in restore:
            cursor.execute(statement)
        lap("indexes_and_keys")
        # Django's foreign keys are deferred: check them now, so the triggers can be switched back on.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in TABLES:
            cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        lap("constraints")
        for table in TABLES:
            cursor.execute(f'ANALYZE "{table}"')
        lap("analyze")
    lap("commit")
    return rows.counts
