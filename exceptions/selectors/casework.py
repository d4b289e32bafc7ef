"""What the case page shows, worked out in Python so the templates only lay it out (style point 4):

- the message and the PDS record as two lists of the same items, with the items that differ marked;
- the trace candidates with their scores and the reason for each item's match;
- the rule trace ("why this case is here"), the last check being the one that sent it;
- the case's timeline in words;
- the raw EDIFACT interchange, one segment per line, this transaction's segments marked.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.utils import dateformat

from core.presenters import nhs_number
from exceptions import actions
from exceptions.models import CaseEvent, ExceptionCase
from pds.models import Gender, Patient
from registrations.gplinks import CodecError
from registrations.gplinks.tokenizer import decode, split_segments, wire_of
from registrations.models import GP

ADDRESS_PARTS = ("house", "road", "locality", "post_town", "county")
SEX = dict(Gender.choices)


def _date(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    return dateformat.format(value, "j F Y")


def _norm(value) -> str:
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value if v)
    return " ".join(str(value or "").upper().split())


@dataclass(frozen=True)
class CompareRow:
    key: str
    message: Any  # a string, or a list of lines
    pds: Any
    differs: bool = False


def _row(key: str, message, pds) -> CompareRow:
    m, p = _norm(message), _norm(pds)
    # Only a disagreement counts: an item the message does not carry is not a difference.
    return CompareRow(key, message or "", pds or "", differs=bool(m and p and m != p))


def transaction_data(case: ExceptionCase) -> dict[str, Any]:
    data = (case.evidence or {}).get("transaction")
    if not data and case.transaction_id:
        data = case.transaction.data
    return data or {}


def _load(numbers: list[str]) -> Patient | None:
    """The PDS record for the first of these numbers PDS knows, following a superseded (merged-away) number
    to the record that replaced it, as PDS itself answers a read of one."""
    numbers = [n for n in numbers if n]
    if not numbers:
        return None
    found = (
        Patient.objects.prefetch_related("names", "addresses", "gp_periods", "superseded_numbers")
        .filter(Q(nhs_number__in=numbers) | Q(superseded_numbers__nhs_number__in=numbers))
        .distinct()
    )
    by_number: dict[str, Patient] = {}
    for p in found:
        by_number[p.nhs_number] = p
        for old in p.superseded_numbers.all():
            by_number.setdefault(old.nhs_number, p)
    return next((by_number[n] for n in numbers if n in by_number), None)


def superseded(case: ExceptionCase) -> str:
    """The merged-away NHS number a superseded-number case is about ("" for any other case)."""
    return str((case.evidence or {}).get("superseded_number") or "")


def pds_patient(case: ExceptionCase, compare: str | None = None) -> Patient | None:
    """The PDS record to set beside the message: the one a person asked to compare (only a record this
    case already names, so no other patient can be opened by editing the URL), else the case's own
    patient (for a superseded number, the record that retained it), else the trace's best candidate."""
    evidence = case.evidence or {}
    own = [case.nhs_number, transaction_data(case).get("nhs_number"), evidence.get("retained_number")]
    offered = [c["nhs_number"] for c in raw_candidates(case)]
    if compare and compare in [*own, *offered]:
        return _load([compare])
    return _load(own) or _load(offered[:1])


RESTRICTED = "Restricted"


def restricted_numbers(numbers) -> set[str]:
    """Which of these NHS numbers are restricted (S-flagged) records on PDS."""
    wanted = {n for n in numbers if n}
    if not wanted:
        return set()
    return set(Patient.objects.filter(nhs_number__in=wanted, sensitive=True).values_list("nhs_number", flat=True))


def _gp_words(gp_code: str) -> tuple[str, str]:
    """The message's GP code in words, and the practice it belongs to in reference data ("" if unknown)."""
    if not gp_code:
        return "", ""
    national, _, local = gp_code.partition(",")
    gp = GP.objects.select_related("practice").filter(national_code=national, local_code=local).first()
    if gp is None:
        return f"GP {gp_code} (not in reference data)", ""
    return f"{gp.practice.ods_code} {gp.practice.name} (GP {gp_code})", gp.practice.ods_code


# Transactions that speak for a patient already on the sending practice's list: for them a practice that
# is not PDS's registered one is a real difference. An acceptance names the practice the patient joins.
ON_THE_LIST = ("G2", "G3", "G5")


def _gp_row(data: dict[str, Any], gp) -> CompareRow:
    words, practice = _gp_words(data.get("gp_code") or "")
    pds = f"{gp.practice_ods} since {_date(gp.start)}" if gp else ""
    differs = bool(practice and gp and data.get("type") in ON_THE_LIST and practice != gp.practice_ods)
    return CompareRow("GP practice", words, pds, differs=differs)


def _number_row(sent: str, patient: Patient | None) -> CompareRow:
    """The NHS numbers side by side; a number PDS merged into the record shown is the same patient's."""
    row = _row("NHS number", nhs_number(sent), nhs_number(patient.nhs_number if patient else ""))
    if patient and sent in {s.nhs_number for s in patient.superseded_numbers.all()}:
        return CompareRow(row.key, row.message, f"{row.pds} (replaced {nhs_number(sent)})")
    return row


def compare(data: dict[str, Any], patient: Patient | None, *, show_address: bool) -> list[CompareRow]:
    """The message's patient against the PDS record, item by item.

    An acceptance carries the whole patient, so every item is shown; other transactions carry only what
    they are about, and an item they do not carry is left out rather than shown as "Not sent". The
    message's GP code is resolved to its practice and set beside PDS's registered practice.

    A viewer without the sensitive-record permission sees no address, postcode, place of birth or
    registered GP of a restricted patient: not from PDS, and not from the practice's message either, when
    the message is about a restricted record (it carries the same address). Those items read "Restricted",
    never "Not held", so the page neither misleads nor hints at whether PDS holds them."""
    name = patient.usual_name if patient else None
    address = patient.current_address if patient else None
    gp = patient.current_gp if patient else None
    message_address = data.get("address") or {}
    pds_lines = [getattr(address, part) for part in ADDRESS_PARTS if getattr(address, part, "")] if address else []
    restricted = not show_address and bool(
        (patient and patient.sensitive) or restricted_numbers([data.get("nhs_number")])
    )
    rows = [
        _number_row(data.get("nhs_number") or "", patient),
        _row("Surname", data.get("surname"), name.family if name else ""),
        _row(
            "Forenames", " ".join(f for f in (data.get("forenames") or []) if f), " ".join(name.given) if name else ""
        ),
        _row("Title", data.get("title"), name.prefix if name else ""),
        _row("Sex", SEX.get(data.get("sex") or "", data.get("sex")), patient.get_gender_display() if patient else ""),
        _row("Date of birth", _date(data.get("birth_date")), _date(patient.birth_date) if patient else ""),
        _row("Place of birth", data.get("place_of_birth"), patient.place_of_birth if patient else ""),
        _row("Address", [message_address.get(p) for p in ADDRESS_PARTS if message_address.get(p)], pds_lines),
        _row("Postcode", message_address.get("postcode"), address.postcode if address else ""),
        _gp_row(data, gp),
    ]
    if restricted:
        # Hidden is not different: the comparison must not hint at what a restricted detail says.
        hidden = RESTRICTED if patient else ""
        rows[6] = CompareRow("Place of birth", RESTRICTED if rows[6].message else "", hidden)
        rows[7] = CompareRow("Address", [RESTRICTED] if rows[7].message else "", [hidden] if hidden else [])
        rows[8] = CompareRow("Postcode", RESTRICTED if rows[8].message else "", hidden)
        rows[9] = CompareRow("GP practice", rows[9].message, hidden)
    if data.get("type") and data.get("type") != "G1":
        rows = [r for i, r in enumerate(rows) if i == 0 or r.message]
    if patient and patient.death_date:
        rows.append(
            CompareRow("Date of death", PDS_ONLY, f"{_date(patient.death_date)} ({patient.get_death_status_display()})")
        )
    if patient and patient.sensitive:
        rows.append(CompareRow("Sensitive record", PDS_ONLY, "Yes: restricted (S flag)"))
    return rows


PDS_ONLY = "—"  # a PDS fact no GP Links message carries


def sides(rows: list[CompareRow]) -> tuple[list[dict], list[dict]]:
    """The comparison as two NHS.UK summary lists (components/summary_list.html): message, then PDS."""

    def side(value, empty: str, differs: bool) -> dict:
        return (
            {"lines": value, "empty": empty, "highlight": differs}
            if isinstance(value, list)
            else {"value": value, "empty": empty, "highlight": differs}
        )

    message = [{"key": r.key, **side(r.message, "Not sent", r.differs)} for r in rows]
    pds = [{"key": r.key, **side(r.pds, "Not held", r.differs)} for r in rows]
    return message, pds


@dataclass
class CandidateView:
    nhs_number: str
    score: float | None
    reasons: list[str]
    name: str = ""
    born: str = ""
    postcode: str = ""
    on_pds: bool = False
    retained: bool = False  # the record that retained the case's superseded number

    @property
    def score_percent(self) -> str:
        return "" if self.score is None else f"{round(self.score * 100)}%"


def _reasons(raw: dict[str, Any]) -> list[str]:
    if raw.get("matches"):
        return [
            f"{m.get('item')}: {m.get('result')}" + (f" ({m['detail']})" if m.get("detail") else "")
            for m in raw["matches"]
        ]
    reasons = raw.get("reasons") or []
    if isinstance(reasons, dict):
        return [f"{item}: {result}" for item, result in reasons.items()]
    return [str(r) for r in reasons]


TRACED = "traced"  # the case event of a trace a person ran from the case page


def last_trace(case: ExceptionCase) -> CaseEvent | None:
    """The latest trace a person ran from the case page (its candidates are in the event's detail)."""
    return case.events.filter(action=TRACED).order_by("-at", "-id").first() if case.pk else None


def raw_candidates(case: ExceptionCase) -> list[dict[str, Any]]:
    """The records this case names as possibly the patient, best first, each once: the record that retained
    a superseded number, then the trace's candidates when processing ran it, then those of the latest
    trace a person ran from the case page."""
    evidence = case.evidence or {}
    found = evidence.get("candidates")
    if found is None and isinstance(evidence.get("trace"), dict):
        found = evidence["trace"].get("candidates")
    found = list(found or [])
    retained = evidence.get("retained_number")
    if retained:
        why = f"The record NHS number {nhs_number(superseded(case))} was merged into (PDS keeps this one)"
        found.insert(0, {"nhs_number": retained, "reasons": [why], "retained": True})
    traced = last_trace(case)
    if traced is not None:
        found += traced.detail.get("candidates") or []
    unique: dict[str, dict[str, Any]] = {}
    for c in found:
        if isinstance(c, dict) and c.get("nhs_number"):
            unique.setdefault(c["nhs_number"], c)
    return list(unique.values())


def _shown_reasons(raw: dict[str, Any], hidden: bool) -> list[str]:
    # A restricted record's postcode is hidden, so is whether it matched.
    return [r for r in _reasons(raw) if not (hidden and r.lower().startswith("postcode"))]


def candidates(case: ExceptionCase, *, show_address: bool) -> list[CandidateView]:
    """The records the trace offered, best first, with today's PDS details beside each."""
    raw = raw_candidates(case)
    patients = {
        p.nhs_number: p
        for p in Patient.objects.prefetch_related("names", "addresses").filter(
            nhs_number__in=[c["nhs_number"] for c in raw]
        )
    }
    views = []
    for c in raw:
        p = patients.get(c["nhs_number"])
        name = p.usual_name if p else None
        address = p.current_address if p else None
        hidden = bool(p and p.sensitive and not show_address)
        score = c.get("score")
        views.append(
            CandidateView(
                nhs_number=c["nhs_number"],
                score=float(score) if isinstance(score, int | float) else None,
                reasons=_shown_reasons(c, hidden),
                name=str(name) if name else "",
                born=_date(p.birth_date) if p else "",
                postcode=RESTRICTED if hidden else (address.postcode if address else ""),
                on_pds=p is not None,
                retained=bool(c.get("retained")),
            )
        )
    return views


@dataclass
class TraceStep:
    check: str
    result: str
    why: str
    decisive: bool = False


def rule_trace(case: ExceptionCase) -> list[TraceStep]:
    steps = [s for s in (case.rule_trace or []) if isinstance(s, dict)]
    views = [TraceStep(str(s.get("check", "")), str(s.get("result", "")), str(s.get("why", ""))) for s in steps]
    if views:
        views[-1].decisive = True  # rules stop at the check that sends the case to a person
    return views


# --- the timeline ---------------------------------------------------------------------------------

STILL_NEEDS_A_PERSON = "still_needs_a_person"  # processing ran again for the case and it still needs a person

EVENT_WORDS = {
    "opened": "Case opened",
    "claimed": "Claimed",
    "released": "Released",
    "assigned": "Assigned",
    "note": "Note added",
    TRACED: "PDS trace run",
    STILL_NEEDS_A_PERSON: "Processed again: still needs a person",
    "closed": "Closed",
}


@dataclass
class TimelineItem:
    title: str
    at: dt.datetime
    by: str
    reason: str = ""
    note: str = ""
    detail: list[str] = field(default_factory=list)


def _actions() -> dict:
    return actions.ACTIONS  # the resolution actions' own words


def _event_title(event: CaseEvent) -> str:
    if event.action in EVENT_WORDS:
        title = EVENT_WORDS[event.action]
        if event.action == "claimed" and event.detail.get("via") == "take next":
            title += " (take next)"
        if event.action == "assigned" and event.detail.get("to"):
            title += f" to {event.detail['to']}"
        return title
    action = _actions().get(event.action)
    return action.label if action else event.action.replace("_", " ").capitalize()


def timeline(case: ExceptionCase) -> list[TimelineItem]:
    items = []
    for event in case.events.select_related("user").order_by("at", "id"):
        by = (event.user.get_full_name() or event.user.get_username()) if event.user else f"PCRM {event.system}"
        detail = []
        if event.detail.get("summary"):
            detail.append(str(event.detail["summary"]))
        items.append(
            TimelineItem(
                title=_event_title(event),
                at=event.at,
                by=by,
                reason=actions.reason_label(event.action, event.reason_code),
                note=event.note if event.action != "opened" else "",
                detail=detail,
            )
        )
    return items


# --- the raw EDIFACT --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdifactLine:
    number: int
    text: str
    mine: bool  # part of this case's transaction


def _transaction_segments(segments: list[str], tn) -> set[int]:
    """Indexes of transaction `tn`'s segments: its S01 group, up to the next S01 or the UNT."""
    if tn in (None, ""):
        return set()
    marker, found, start = f"RFF+TN:{tn}", set(), None
    for i, seg in enumerate([*segments, "UNT"]):  # a final UNT closes the last group
        if seg[:3] in ("S01", "UNT"):
            if start is not None and marker in segments[start:i]:
                found.update(range(start, i))
            start = i if seg[:3] == "S01" else None
    return found


# Segments that carry a restricted record's detail: its address, previous address, place of birth, free text.
RESTRICTED_SEGMENTS = ("NAD+PAT", "NAD+PER", "LOC+950", "FTX+")
EDIFACT_PAGE_LINES = 200


@dataclass(frozen=True)
class EdifactPage:
    page: Page  # of EdifactLine, for components/pagination.html
    total: int
    hidden: int  # segments withheld because they hold a restricted record's detail

    @property
    def lines(self) -> list[EdifactLine]:
        return list(self.page.object_list)


def _groups(segments: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each transaction's segments: an S01 up to the next S01 or UNT."""
    groups, start = [], None
    for i, seg in enumerate([*segments, "UNT"]):
        if seg[:3] in ("S01", "UNT"):
            if start is not None:
                groups.append((start, i))
            start = i if seg[:3] == "S01" else None
    return groups


def _patient_number(segments: list[str]) -> str:
    for seg in segments:
        if seg.startswith("PNA+PAT+"):
            return seg[8:].split("+", 1)[0].split(":", 1)[0]
    return ""


def _withheld(segments: list[str]) -> set[int]:
    """Indexes of the segments that hold a restricted (S-flagged) record's detail."""
    groups = [(start, end, _patient_number(segments[start:end])) for start, end in _groups(segments)]
    restricted = restricted_numbers(number for _s, _e, number in groups)
    return {
        i
        for start, end, number in groups
        if number in restricted
        for i in range(start, end)
        if segments[i].startswith(RESTRICTED_SEGMENTS)
    }


def edifact_page(case: ExceptionCase, *, show_restricted: bool, page: str | None = None) -> EdifactPage | None:
    """The interchange as the GP system sent it, one segment per line (the way NHAIS files look), with this
    case's transaction marked, EDIFACT_PAGE_LINES at a time: the `page` asked for, else the one where this
    transaction starts (a 100,000-segment interchange is not one page). Without the sensitive-record
    permission, the segments holding a restricted record's detail are withheld, whoever's case it is."""
    if not case.interchange_id:
        return None
    raw = bytes(case.interchange.raw or b"")
    if not raw:
        return None
    try:
        text, _warnings = decode(raw)
        segments = [wire_of(s) for s in split_segments(text)]
    except CodecError:
        # Unreadable as EDIFACT: still show it, split on the segment terminator, so a person can see why.
        segments = [s.strip() for s in raw.decode("latin-1").split("'") if s.strip()]
    mine = _transaction_segments(segments, transaction_data(case).get("tn"))
    paginator = Paginator(range(len(segments)), EDIFACT_PAGE_LINES)
    if page is not None and page.isdigit() and 1 <= int(page) <= paginator.num_pages:
        number = int(page)
    else:
        number = (min(mine) // EDIFACT_PAGE_LINES + 1) if mine else 1
    shown = paginator.page(number)
    withheld = set() if show_restricted else _withheld(segments)
    shown.object_list = [
        EdifactLine(i + 1, "Restricted (S flag): segment not shown" if i in withheld else f"{segments[i]}'", i in mine)
        for i in shown.object_list
    ]
    return EdifactPage(shown, len(segments), len(withheld))
