"""Reads of the demographic master: one record by NHS number (the hottest read PDS has), the
patients the lookup pages show, and which patients a FHIR search finds, with their scores. Views
and the API parse and answer; the queries live here. Nothing here writes."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models
from django.db.models import Exists, OuterRef, Q, prefetch_related_objects
from django.db.models.functions import Upper

from . import trace
from .errors import PatientNotFound
from .models import GPPeriod, Patient, PatientAddress, PatientName, PatientTelecom, normalise_postcode

RELATED = ("names", "addresses", "gp_periods", "telecoms")

MAX_RESULTS = 50
# A non-fuzzy search reads at most this many rows before scoring; more means "too many matches" anyway.
NON_FUZZY_FETCH_LIMIT = 500


@dataclass(frozen=True)
class Lookup:
    patient: Patient
    superseded_from: str | None = None  # the number asked for, when it was merged into this record


def get_patient(nhs_number: str) -> Lookup:
    """Find a record by NHS number, following a superseded number to the retained record.

    One query brings the record with its names, addresses, GP periods and contacts (as JSON), which
    are put in place as if prefetched: reads are the hottest path PDS has.
    """
    patient, superseded_from = _fetch(nhs_number)
    if patient is None:
        raise PatientNotFound("no record with that NHS number")
    return Lookup(patient, superseded_from)


_CHILDREN = (
    ("names", PatientName),
    ("addresses", PatientAddress),
    ("gp_periods", GPPeriod),
    ("telecoms", PatientTelecom),
)


def _fetch_sql() -> str:
    columns = ", ".join(f'p."{f.column}"' for f in Patient._meta.concrete_fields)
    children = ", ".join(
        f'(SELECT json_agg(c ORDER BY c.id) FROM "{model._meta.db_table}" c WHERE c.patient_id = p.id)'
        for _, model in _CHILDREN
    )
    return (
        f"SELECT {columns}, NULL, {children} FROM pds_patient p WHERE p.nhs_number = %s "
        f"UNION ALL "
        f"SELECT {columns}, s.nhs_number, {children} FROM pds_supersedednumber s "
        f"JOIN pds_patient p ON p.id = s.patient_id WHERE s.nhs_number = %s LIMIT 1"
    )


def _from_json(model, item: dict) -> Any:
    values = []
    for f in model._meta.concrete_fields:
        value = item[f.column]
        if value is not None and isinstance(f, models.DateTimeField):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(f, models.DateField):
            value = dt.date.fromisoformat(value)
        values.append(value)
    return model.from_db("default", [f.attname for f in model._meta.concrete_fields], values)


def _fetch(nhs_number: str) -> tuple[Patient | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(_fetch_sql(), [nhs_number, nhs_number])
        row = cursor.fetchone()
    if row is None:
        return None, None
    width = len(Patient._meta.concrete_fields)
    patient = Patient.from_db("default", [f.attname for f in Patient._meta.concrete_fields], row[:width])
    superseded_from = row[width]
    patient._prefetched_objects_cache = {}
    for (name, model), items in zip(_CHILDREN, row[width + 1 :], strict=True):
        children = [_from_json(model, item) for item in items or ()]
        for child in children:
            child._state.fields_cache["patient"] = patient
        # What prefetch_related leaves behind: a queryset whose results are already known.
        queryset = model._default_manager.all()
        queryset._result_cache = children
        queryset._prefetch_done = True
        patient._prefetched_objects_cache[name] = queryset
    return patient, superseded_from


def with_superseded_numbers(patient: Patient) -> Patient:
    """The record (as get_patient read it) with the numbers merged into it, for the patient page."""
    prefetch_related_objects([patient], "superseded_numbers")
    return patient


def patients_by_pk(pks: list[int]) -> dict[int, Patient]:
    """The records a trace found, with the names and addresses its result rows show."""
    return {p.pk: p for p in Patient.objects.filter(pk__in=pks).prefetch_related("names", "addresses")}


@dataclass
class Search:
    family: str = ""
    given: list[str] = field(default_factory=list)
    gender: str = ""
    birth_from: dt.date | None = None
    birth_to: dt.date | None = None
    death_from: dt.date | None = None
    death_to: dt.date | None = None
    postcode: str = ""
    gp: str = ""
    email: str = ""
    phone: str = ""
    fuzzy: bool = False
    exact: bool = False
    history: bool = False
    max_results: int = MAX_RESULTS

    @property
    def birth_exact(self) -> dt.date | None:
        return self.birth_from if self.birth_from and self.birth_from == self.birth_to else None


def _prefetched(qs):
    return qs.prefetch_related(*RELATED)


def _trace_query(search: Search) -> trace.TraceQuery:
    return trace.TraceQuery(
        surname=search.family.replace("*", "") if "*" not in search.family else "",
        forenames=tuple(g for g in search.given if "*" not in g),
        gender=search.gender,
        birth_date=search.birth_exact,
        birth_from=None if search.birth_exact else search.birth_from,
        birth_to=None if search.birth_exact else search.birth_to,
        postcode=search.postcode if "*" not in search.postcode else "",
    )


def _fuzzy(search: Search) -> list[tuple[Patient, float]]:
    query = _trace_query(search)
    result = trace.trace(query, max_results=search.max_results, supplied_only=True)
    plausible = [c for c in result.all_scored if c.score >= trace.PLAUSIBLE]
    if len(plausible) > search.max_results and not search.exact:
        return [(None, c.score) for c in plausible]  # too many: only the count matters
    candidates = Patient.objects.filter(pk__in=[c.patient_id for c in plausible])
    patients = {p.pk: p for p in _prefetched(_telecom_filter(candidates, search, history=True))}
    if search.postcode or search.gp:
        patients = {pk: p for pk, p in patients.items() if not p.sensitive}
    return [(patients[c.patient_id], c.score) for c in plausible if c.patient_id in patients]


def _text_filter(column: str, value: str) -> Q:
    if "*" in value:
        return Q(**{f"{column}__startswith": value.split("*", 1)[0]})
    return Q(**{column: value})


def _telecom_filter(qs, search: Search, *, history: bool):
    """Email and phone match exactly (email without regard to case), current contact details only
    unless history is searched; a fuzzy search always includes history."""
    for system, value, lookup in (("email", search.email, "value__iexact"), ("phone", search.phone, "value")):
        if value:
            telecoms = PatientTelecom.objects.filter(patient=OuterRef("pk"), system=system, **{lookup: value})
            if not history:
                telecoms = telecoms.filter(end__isnull=True)
            qs = qs.filter(Exists(telecoms))
    return qs


# Complexity exemption (C901): one branch per FHIR search parameter, as the PDS spec lists them


def _non_fuzzy(search: Search) -> list[tuple[Patient, float]]:  # noqa: C901
    qs = Patient.objects.all()
    if search.birth_from:
        qs = qs.filter(birth_date__gte=search.birth_from)
    if search.birth_to:
        qs = qs.filter(birth_date__lte=search.birth_to)
    if search.death_from:
        qs = qs.filter(death_date__gte=search.death_from)
    if search.death_to:
        qs = qs.filter(death_date__lte=search.death_to)
    if search.gender:
        qs = qs.filter(gender=search.gender)
    if search.family or search.given:
        names = PatientName.objects.annotate(family_upper=Upper("family")).filter(patient=OuterRef("pk"))
        if not search.history:
            names = names.filter(use__in=["usual", "nickname", "temp"], end__isnull=True)
        if search.family:
            names = names.filter(_text_filter("family_upper", search.family))
        for position, given in enumerate(search.given[:1]):
            names = names.filter(_text_filter(f"given__{position}", given))
        qs = qs.filter(Exists(names))
    if search.postcode:
        wanted = search.postcode if "*" in search.postcode else normalise_postcode(search.postcode)
        addresses = PatientAddress.objects.filter(patient=OuterRef("pk")).filter(_text_filter("postcode", wanted))
        if not search.history:
            addresses = addresses.filter(end__isnull=True)
        qs = qs.filter(Exists(addresses), sensitive=False)
    if search.gp:
        qs = qs.filter(
            Exists(GPPeriod.objects.filter(patient=OuterRef("pk"), practice_ods=search.gp, end__isnull=True)),
            sensitive=False,
        )
    qs = _telecom_filter(qs, search, history=search.history)
    found = list(_prefetched(qs.order_by("pk"))[:NON_FUZZY_FETCH_LIMIT])
    query = _trace_query(search)
    wildcard = any("*" in v for v in (search.family, search.postcode, *search.given))
    scored = []
    for candidate in found:
        score = trace.score(query, candidate, supplied_only=True).score if (query.surname or query.forenames) else 1.0
        scored.append((candidate, min(score, 0.9) if wildcard else score))
    scored.sort(key=lambda pair: (-pair[1], pair[0].nhs_number))
    return scored


def search_patients(search: Search) -> list[tuple[Patient | None, float]]:
    """The patients a search finds with their scores, best first (a fuzzy search that finds too many
    gives only scores, since only the count matters then)."""
    return _fuzzy(search) if search.fuzzy else _non_fuzzy(search)


def deceased_still_registered(practice_ods: list[str], *, limit: int) -> list[str]:
    """NHS numbers of patients with a death recorded (formal or informal) whose registration with one of
    these practices is still open: the deaths a registration service has yet to act on."""
    return list(
        Patient.objects.filter(
            death_date__isnull=False, gp_periods__end__isnull=True, gp_periods__practice_ods__in=practice_ods
        )
        .order_by("death_date", "nhs_number")
        .values_list("nhs_number", flat=True)[:limit]
    )
