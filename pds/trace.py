"""Demographic trace: who, among a million records, is the person these details describe?

Two steps, both deterministic:

1. **Candidates** come from indexed columns only (never a table scan): everyone born on the given
   date (or on the date with day and month swapped, a common slip), everyone who has ever lived at
   the given postcode, and, when only part of the birth date is known, everyone with the given
   surname (current or previous) born in that period. A person whose birth date was mistyped is
   still found through the postcode; one who also moved is not, and the trace says NONE rather than
   guess (a surname-and-year block would find them, at ten times the cost for common surnames).
2. **Scoring** compares each candidate item by item, with RapidFuzz for names. Every item says how
   it matched (exact, fuzzy, transposed, previous name or address, partial, no match) and the score
   is the weighted share of the items given that agree. The reasons are part of the answer, so a
   person working a case can see *why* a candidate was offered.

The outcome is one of MATCH (one confident candidate, clear of the rest), MULTIPLE (plausible
candidates a person must choose between, including a lone candidate that is plausible but not
confident), or NONE (nobody plausible). Processing turns each into a different decision.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from rapidfuzz.distance import JaroWinkler

from .models import Patient, normalise_postcode

MATCH, MULTIPLE, NONE = "MATCH", "MULTIPLE", "NONE"

# Items and their weights. A registration often comes with a new address, so the postcode counts for
# little; names and birth date carry the identity.
WEIGHTS = {
    "surname": 0.30,
    "forename": 0.25,
    "birth date": 0.30,
    "gender": 0.05,
    "postcode": 0.10,
    "place of birth": 0.05,
}
CONFIDENT = 0.85  # at or above: good enough to act on without a person, if clear of the rest
PLAUSIBLE = 0.70  # at or above: worth showing to a person
MARGIN = 0.10  # the best must lead the next by this much to be a MATCH
NAME_SIMILAR = 0.85  # Jaro-Winkler similarity from which two names are "fuzzy" equal
CANDIDATE_LIMIT = 5000  # a safety cap on one trace's candidate set (a pseudo-postcode, say)

EXACT = "exact"
FUZZY = "fuzzy"
TRANSPOSED = "transposed"
PREVIOUS = "previous"
PARTIAL = "partial"
MISMATCH = "no match"
NOT_HELD = "not held"

IDENTITY = ("surname", "forename", "birth date", "gender")
# What each identifying item must show for a MATCH: the same person, not a similar one. A forename
# that is only similar in spelling (John/Joan), a transposed or mistyped birth date, an unknown sex or
# swapped names leave the choice to a person (issue #12: PDS's own rules need a birth date).
AGREES = {
    "surname": (EXACT, PREVIOUS, FUZZY),
    "forename": (EXACT, PARTIAL, PREVIOUS),
    "birth date": (EXACT,),
    "gender": (EXACT,),
}


@dataclass(frozen=True)
class TraceQuery:
    """What is known about the person. Birth date is exact (`birth_date`) or a range (partial)."""

    surname: str = ""
    forenames: tuple[str, ...] = ()
    gender: str = ""  # "1" male, "2" female, "0"/"9" or empty: not known
    birth_date: dt.date | None = None
    birth_from: dt.date | None = None
    birth_to: dt.date | None = None
    postcode: str = ""
    place_of_birth: str = ""

    def __post_init__(self) -> None:
        if self.birth_date:
            object.__setattr__(self, "birth_from", self.birth_date)
            object.__setattr__(self, "birth_to", self.birth_date)
        object.__setattr__(self, "surname", self.surname.strip().upper())
        object.__setattr__(self, "forenames", tuple(f.strip().upper() for f in self.forenames if f.strip()))
        object.__setattr__(self, "postcode", normalise_postcode(self.postcode) if self.postcode.strip() else "")
        object.__setattr__(self, "place_of_birth", self.place_of_birth.strip().upper())

    @property
    def has_birth(self) -> bool:
        return self.birth_from is not None or self.birth_to is not None

    @property
    def birth_precision(self) -> float:
        """1 for an exact date; less for a month or a year, so a partial date counts for less."""
        if self.birth_date:
            return 1.0
        if not self.has_birth:
            return 0.0
        lo, hi = self.birth_from or dt.date.min, self.birth_to or dt.date.max
        days = (hi - lo).days
        return 0.6 if days <= 31 else 0.35 if days <= 366 else 0.2


def partial_birth_date(value: str) -> tuple[dt.date | None, dt.date, dt.date]:
    """ "1980-05-17" -> exact; "1980-05" -> that month; "1980" -> that year. Raises ValueError otherwise."""
    value = value.strip()
    if len(value) == 4 and value.isdigit():
        year = int(value)
        return None, dt.date(year, 1, 1), dt.date(year, 12, 31)
    if len(value) == 7 and value[4] == "-":
        first = dt.date(int(value[:4]), int(value[5:]), 1)
        following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return None, first, following - dt.timedelta(days=1)
    exact = dt.date.fromisoformat(value)
    return exact, exact, exact


@dataclass(frozen=True)
class ItemMatch:
    item: str
    result: str  # exact, fuzzy, transposed, previous, partial, no match, not held
    score: float  # 0..1 for this item
    detail: str

    def __str__(self) -> str:
        return f"{self.item}: {self.result} ({self.detail})"


@dataclass(frozen=True)
class Candidate:
    patient_id: int
    nhs_number: str
    score: float
    matches: tuple[ItemMatch, ...]

    @property
    def reasons(self) -> list[str]:
        return [str(m) for m in self.matches]

    def as_dict(self) -> dict:
        return {
            "nhs_number": self.nhs_number,
            "score": self.score,
            "matches": [
                {"item": m.item, "result": m.result, "score": m.score, "detail": m.detail} for m in self.matches
            ],
        }


@dataclass(frozen=True)
class TraceResult:
    outcome: str
    candidates: tuple[Candidate, ...]  # the plausible ones, best first (capped at max_results)
    reason: str
    examined: int  # how many records were scored
    too_many: bool = False  # more plausible candidates than max_results
    all_scored: tuple[Candidate, ...] = field(default=(), repr=False)

    @property
    def match(self) -> Candidate | None:
        return self.candidates[0] if self.outcome == MATCH else None

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "examined": self.examined,
            "too_many": self.too_many,
            "candidates": [c.as_dict() for c in self.candidates],
        }


def trace(query: TraceQuery, *, max_results: int = 10, supplied_only: bool = False) -> TraceResult:
    """Find and score candidates for `query`, and decide MATCH, MULTIPLE or NONE.

    `supplied_only` scores over the items given, as PDS's search API reports a score (1.0 = every
    given item exact); PCRM's own identity decisions never use it (see `score`)."""
    if not (query.surname or query.forenames):
        raise ValueError("a trace needs a surname or a forename")
    if not (query.has_birth or query.postcode):
        raise ValueError("a trace needs a birth date (exact or partial) or a postcode")
    scored = sorted(
        (score(query, s, supplied_only=supplied_only) for s in candidates(query)),
        key=lambda c: (-c.score, c.nhs_number),
    )
    return decide(scored, max_results=max_results, identity=not supplied_only)


def decide(scored: list[Candidate], *, max_results: int = 10, identity: bool = True) -> TraceResult:
    """`identity`: a MATCH also needs every identifying item to agree (PCRM's automatic decisions);
    a person's search (or PDS's search API) shows the best candidate by score alone."""
    plausible = [c for c in scored if c.score >= PLAUSIBLE]
    shown = tuple(plausible[:max_results])
    too_many = len(plausible) > max_results
    if not plausible:
        best = f" (best {scored[0].score:.2f})" if scored else ""
        return TraceResult(
            NONE, (), f"no candidate scored {PLAUSIBLE:.2f} or more{best}", len(scored), all_scored=tuple(scored)
        )
    best = plausible[0]
    runner_up = plausible[1] if len(plausible) > 1 else None
    disagreeing = not_agreeing(best) if identity else []
    if disagreeing:
        reason = f"best candidate ({best.score:.2f}) does not agree on {', '.join(disagreeing)}" + (
            f"; {len(plausible)} plausible candidates" if runner_up else ""
        )
        return TraceResult(MULTIPLE, shown, reason, len(scored), too_many, tuple(scored))
    if best.score >= CONFIDENT and (runner_up is None or best.score - runner_up.score >= MARGIN):
        reason = f"one confident candidate ({best.score:.2f})"
        if runner_up:
            reason += f", {best.score - runner_up.score:.2f} ahead of the next"
        return TraceResult(MATCH, shown, reason, len(scored), too_many, tuple(scored))
    if runner_up is None:
        reason = f"one plausible candidate, below the confidence threshold ({best.score:.2f} < {CONFIDENT:.2f})"
    else:
        close = sum(1 for c in plausible if best.score - c.score < MARGIN)
        reason = f"{len(plausible)} plausible candidates, {close} within {MARGIN:.2f} of the best"
    return TraceResult(MULTIPLE, shown, reason, len(scored), too_many, tuple(scored))


def not_agreeing(candidate: Candidate) -> list[str]:
    """The identifying items on which a candidate does not clearly agree (all four must, to match)."""
    results = {m.item: m.result for m in candidate.matches}
    return [item for item in IDENTITY if results.get(item, MISMATCH) not in AGREES[item]]


# --- candidate retrieval -------------------------------------------------------------------------


def _swapped(day: dt.date) -> dt.date | None:
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month)


def candidate_sql(query: TraceQuery) -> tuple[str, list]:
    """The SQL for the candidate ids: a UNION of indexed blocks, deterministic and capped."""
    parts: list[str] = []
    params: list = []
    if query.birth_date:
        dates = [query.birth_date]
        if swapped := _swapped(query.birth_date):
            dates.append(swapped)
        parts.append("SELECT id FROM pds_patient WHERE birth_date = ANY(%s)")
        params.append(dates)
    if query.postcode:
        parts.append("SELECT patient_id FROM pds_patientaddress WHERE postcode = %s")
        params.append(query.postcode)
    if query.surname and query.has_birth and not query.birth_date:
        lo = query.birth_from or dt.date.min
        hi = query.birth_to or dt.date.max
        parts.append(
            "SELECT n.patient_id FROM pds_patientname n JOIN pds_patient p ON p.id = n.patient_id "
            "WHERE upper(n.family) = %s AND p.birth_date BETWEEN %s AND %s"
        )
        params += [query.surname, lo, hi]
    if not query.birth_date and query.has_birth and query.forenames and not query.surname:
        parts.append(
            "SELECT n.patient_id FROM pds_patientname n JOIN pds_patient p ON p.id = n.patient_id "
            "WHERE upper(n.given[1]) = %s AND p.birth_date BETWEEN %s AND %s"
        )
        params += [query.forenames[0], query.birth_from or dt.date.min, query.birth_to or dt.date.max]
    return " UNION ".join(parts) + f" ORDER BY 1 LIMIT {CANDIDATE_LIMIT}", params


@dataclass(frozen=True)
class SubjectName:
    use: str
    family: str
    given: tuple[str, ...]
    end: dt.date | None


@dataclass(frozen=True)
class SubjectAddress:
    postcode: str
    end: dt.date | None


@dataclass(frozen=True)
class Subject:
    """What scoring needs of a record: light, so a hundred candidates load in one round trip."""

    pk: int
    nhs_number: str
    gender: str
    birth_date: dt.date | None
    place_of_birth: str
    names: tuple[SubjectName, ...]
    addresses: tuple[SubjectAddress, ...]

    @classmethod
    def of(cls, patient: Patient) -> "Subject":
        return cls(
            patient.pk,
            patient.nhs_number,
            patient.gender,
            patient.birth_date,
            patient.place_of_birth,
            tuple(
                SubjectName(n.use, n.family, tuple(n.given), n.end)
                for n in sorted(patient.names.all(), key=lambda n: n.pk)
            ),
            tuple(SubjectAddress(a.postcode, a.end) for a in patient.addresses.all()),
        )


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def candidates(query: TraceQuery) -> list[Subject]:
    """The candidates with their names and addresses, in one query."""
    blocks, params = candidate_sql(query)
    sql = (
        f"WITH c(id) AS ({blocks}) "
        "SELECT p.id, p.nhs_number, p.gender, p.birth_date, p.place_of_birth, "
        '(SELECT json_agg(json_build_array(n.use, n.family, n.given, n."end") ORDER BY n.id) '
        " FROM pds_patientname n WHERE n.patient_id = p.id), "
        '(SELECT json_agg(json_build_array(a.postcode, a."end")) FROM pds_patientaddress a WHERE a.patient_id = p.id) '
        "FROM c JOIN pds_patient p ON p.id = c.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        Subject(
            pk,
            nhs_number,
            gender,
            birth_date,
            place,
            tuple(SubjectName(u, f, tuple(g or ()), _day(e)) for u, f, g, e in names or ()),
            tuple(SubjectAddress(pc, _day(e)) for pc, e in addresses or ()),
        )
        for pk, nhs_number, gender, birth_date, place, names, addresses in rows
    ]


# --- scoring -------------------------------------------------------------------------------------


def score(query: TraceQuery, patient: "Subject | Patient", *, supplied_only: bool = False) -> Candidate:
    if isinstance(patient, Patient):
        patient = Subject.of(patient)
    names = list(patient.names)
    usual = next((n for n in names if n.use == "usual" and n.end is None), names[0] if names else None)
    others = [n for n in names if n is not usual]
    matches: list[ItemMatch] = []
    transposed = _transposed(query, usual)
    if query.surname:
        matches.append(transposed[0] if transposed else _surname(query.surname, usual, others))
    if query.forenames:
        matches.append(transposed[1] if transposed else _forename(query.forenames, usual, others))
    if query.has_birth:
        matches.append(_birth(query, patient.birth_date))
    if query.gender:
        matches.append(_gender(query.gender, patient.gender))
    if query.postcode:
        matches.append(_postcode(query.postcode, list(patient.addresses)))
    if query.place_of_birth:
        matches.append(_place(query.place_of_birth, patient.place_of_birth))
    # The identifying items always count in the denominator, supplied or not, held or not: an item
    # nobody compared confirms nothing. Normalising over the items supplied made surname + postcode
    # alone score 1.0 (issue #12, finding 1). Postcode and place of birth count only when sent.
    total = 0.0
    weight = 0.0 if supplied_only else sum(WEIGHTS[item] for item in IDENTITY)
    for m in matches:
        w = WEIGHTS[m.item] * (query.birth_precision if m.item == "birth date" else 1.0)
        if m.item in IDENTITY and not supplied_only:
            total += w * m.score  # its weight is already in the denominator
            continue
        if m.result == NOT_HELD:
            continue
        total += w * m.score
        weight += w
    return Candidate(patient.pk, patient.nhs_number, round(total / weight, 4) if weight else 0.0, tuple(matches))


def letters(name: str) -> str:
    """A name as letters only: case, hyphens, spaces and apostrophes make no difference to identity."""
    return "".join(ch for ch in name.upper() if "A" <= ch <= "Z")


def _similar(a: str, b: str) -> float:
    return JaroWinkler.normalized_similarity(a, b)


def _surname(wanted: str, usual, others) -> ItemMatch:
    if usual and letters(usual.family) == letters(wanted):
        return ItemMatch("surname", EXACT, 1.0, usual.family)
    for name in others:
        if letters(name.family) == letters(wanted):
            return ItemMatch("surname", PREVIOUS, 0.9, f"{name.family} is a {name.use} name")
    best, best_name = 0.0, None
    for name in [usual, *others] if usual else others:
        s = _similar(wanted, name.family.upper())
        if s > best:
            best, best_name = s, name
    if best_name is not None and best >= NAME_SIMILAR:
        return ItemMatch("surname", FUZZY, round(best * 0.9, 4), f"{wanted} ~ {best_name.family} ({best:.2f})")
    held = usual.family if usual else "none"
    return ItemMatch("surname", MISMATCH, 0.0, f"{wanted} vs {held}")


def _forename(wanted: tuple[str, ...], usual, others) -> ItemMatch:
    first = wanted[0]
    held = [g.upper() for g in usual.given] if usual else []
    if not held:
        return ItemMatch("forename", NOT_HELD, 0.0, "no forename held")
    if letters(held[0]) == letters(first):
        return ItemMatch("forename", EXACT, 1.0, held[0])
    if len(first) == 1 and held[0].startswith(first):
        return ItemMatch("forename", PARTIAL, 0.6, f"initial {first} of {held[0]}")
    if letters(first) in (letters(h) for h in held[1:]):
        return ItemMatch("forename", PARTIAL, 0.8, f"{first} is a middle name")
    for name in others:
        if name.given and letters(name.given[0]) == letters(first):
            return ItemMatch("forename", PREVIOUS, 0.9, f"{first} in a {name.use} name")
    s = _similar(first, held[0])
    if s >= NAME_SIMILAR:
        return ItemMatch("forename", FUZZY, round(s * 0.9, 4), f"{first} ~ {held[0]} ({s:.2f})")
    return ItemMatch("forename", MISMATCH, 0.0, f"{first} vs {held[0]}")


def _transposed(query: TraceQuery, usual) -> tuple[ItemMatch, ItemMatch] | None:
    """Surname and forename given the wrong way round: both match, crosswise."""
    if not (usual and usual.given and query.surname and query.forenames):
        return None
    family, first = usual.family.upper(), usual.given[0].upper()
    if family == first or query.surname != first or query.forenames[0] != family:
        return None
    detail = "surname and forename swapped"
    return ItemMatch("surname", TRANSPOSED, 0.8, detail), ItemMatch("forename", TRANSPOSED, 0.8, detail)


def _birth(query: TraceQuery, held: dt.date | None) -> ItemMatch:
    if held is None:
        return ItemMatch("birth date", NOT_HELD, 0.0, "no birth date held")
    lo, hi = query.birth_from or dt.date.min, query.birth_to or dt.date.max
    if not query.birth_date:
        if lo <= held <= hi:
            return ItemMatch(
                "birth date", PARTIAL, 1.0, f"{held.isoformat()} within {lo.isoformat()}..{hi.isoformat()}"
            )
        return ItemMatch("birth date", MISMATCH, 0.0, f"{held.isoformat()} outside {lo.isoformat()}..{hi.isoformat()}")
    wanted = query.birth_date
    if held == wanted:
        return ItemMatch("birth date", EXACT, 1.0, held.isoformat())
    if _swapped(wanted) == held:
        return ItemMatch("birth date", TRANSPOSED, 0.7, f"day and month swapped: {held.isoformat()}")
    a, b = wanted.strftime("%Y%m%d"), held.strftime("%Y%m%d")
    if sum(x != y for x, y in zip(a, b, strict=True)) == 1:
        return ItemMatch("birth date", FUZZY, 0.6, f"one digit differs: {held.isoformat()}")
    if (held.year, held.month) == (wanted.year, wanted.month):
        return ItemMatch("birth date", PARTIAL, 0.5, f"same month: {held.isoformat()}")
    if held.year == wanted.year:
        return ItemMatch("birth date", PARTIAL, 0.3, f"same year: {held.isoformat()}")
    return ItemMatch("birth date", MISMATCH, 0.0, f"{wanted.isoformat()} vs {held.isoformat()}")


def _gender(wanted: str, held: str) -> ItemMatch:
    if wanted not in ("1", "2") or held not in ("1", "2"):
        return ItemMatch("gender", NOT_HELD, 0.0, "not known on one side")
    if wanted == held:
        return ItemMatch("gender", EXACT, 1.0, "same")
    return ItemMatch("gender", MISMATCH, 0.0, "different")


def _postcode(wanted: str, addresses) -> ItemMatch:
    if not addresses:
        return ItemMatch("postcode", NOT_HELD, 0.0, "no address held")
    current = [a for a in addresses if a.end is None]
    if any(a.postcode == wanted for a in current):
        return ItemMatch("postcode", EXACT, 1.0, wanted)
    if any(a.postcode == wanted for a in addresses):
        return ItemMatch("postcode", PREVIOUS, 0.85, f"{wanted} is a previous address")
    held = current[0].postcode if current else addresses[0].postcode
    if held[:-2] == wanted[:-2]:
        return ItemMatch("postcode", PARTIAL, 0.5, f"same sector: {held}")
    if held.split(" ")[0] == wanted.split(" ")[0]:
        return ItemMatch("postcode", PARTIAL, 0.3, f"same district: {held}")
    return ItemMatch("postcode", MISMATCH, 0.0, f"{wanted} vs {held}")


def _place(wanted: str, held: str) -> ItemMatch:
    if not held:
        return ItemMatch("place of birth", NOT_HELD, 0.0, "not held")
    held = held.upper()
    if held == wanted:
        return ItemMatch("place of birth", EXACT, 1.0, held)
    s = _similar(wanted, held)
    if s >= NAME_SIMILAR:
        return ItemMatch("place of birth", FUZZY, round(s * 0.9, 4), f"{wanted} ~ {held} ({s:.2f})")
    return ItemMatch("place of birth", MISMATCH, 0.0, f"{wanted} vs {held}")
