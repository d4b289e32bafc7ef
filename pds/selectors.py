"""Reads of the demographic master for the FHIR API's search: which patients a search finds, with
their scores. The API parses and answers; the queries live here."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Upper

from . import trace
from .models import GPPeriod, Patient, PatientAddress, PatientName, PatientTelecom, normalise_postcode

MAX_RESULTS = 50
# A non-fuzzy search reads at most this many rows before scoring; more means "too many matches" anyway.
NON_FUZZY_FETCH_LIMIT = 500


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
    return qs.prefetch_related("names", "addresses", "gp_periods", "telecoms")


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
