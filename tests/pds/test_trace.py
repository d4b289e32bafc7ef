"""Trace: candidates from indexed columns, explainable scores, and the three distinct outcomes."""

import datetime as dt

import pytest
from django.db import connection
from factories import PatientFactory

from pds import services
from pds.models import PatientName
from pds.trace import MATCH, MULTIPLE, NONE, TraceQuery, candidate_sql, partial_birth_date, trace

pytestmark = pytest.mark.django_db

BORN = dt.date(1980, 5, 17)


def person(name: str, born=BORN, postcode="LS1 4AP", gender="2", **kwargs):
    return PatientFactory(name=name, birth_date=born, address=postcode, gender=gender, **kwargs)


@pytest.fixture
def neighbourhood(db):
    """Jane, her twin Jill, a namesake born elsewhere in time, and unrelated neighbours."""
    return {
        "jane": person("THOMPSON JANE"),
        "jill": person("THOMPSON JILL"),
        "namesake": person("THOMPSON JANE", born=dt.date(1991, 2, 3), postcode="M1 1AE"),
        "neighbour": person("PATEL ARJUN", born=dt.date(1975, 1, 1), gender="1"),
        "stranger": person("JONES OLIVIA", postcode="B1 1AA"),
    }


def items(candidate) -> dict[str, str]:
    return {m.item: m.result for m in candidate.matches}


def test_exact_details_are_a_confident_match_with_every_item_exact(neighbourhood):
    result = trace(TraceQuery(surname="Thompson", forenames=("Jane",), gender="2", birth_date=BORN, postcode="ls14ap"))
    assert result.outcome == MATCH
    assert result.match.nhs_number == neighbourhood["jane"].nhs_number
    assert result.match.score == 1.0
    assert items(result.match) == {
        "surname": "exact",
        "forename": "exact",
        "birth date": "exact",
        "gender": "exact",
        "postcode": "exact",
    }
    # The twin is plausible but well behind: she does not make the answer ambiguous.
    assert [c.nhs_number for c in result.candidates] == [
        neighbourhood["jane"].nhs_number,
        neighbourhood["jill"].nhs_number,
    ]
    assert items(result.candidates[1])["forename"] == "no match"


def test_a_misspelt_surname_and_a_new_address_still_match_with_fuzzy_reasons(neighbourhood):
    result = trace(TraceQuery(surname="Thomson", forenames=("Jane",), gender="2", birth_date=BORN, postcode="LS6 2AA"))
    assert result.outcome == MATCH
    assert result.match.nhs_number == neighbourhood["jane"].nhs_number
    reasons = items(result.match)
    assert reasons["surname"] == "fuzzy"
    assert reasons["postcode"] == "no match"
    assert 0.85 <= result.match.score < 1.0
    assert any("THOMSON ~ THOMPSON" in r for r in result.match.reasons)


def test_two_records_for_the_same_person_are_multiple(neighbourhood):
    person("THOMPSON JANE")  # a duplicate registration with another NHS number
    result = trace(TraceQuery(surname="Thompson", forenames=("Jane",), gender="2", birth_date=BORN, postcode="LS1 4AP"))
    assert result.outcome == MULTIPLE
    assert len([c for c in result.candidates if c.score == 1.0]) == 2
    assert result.match is None


def test_a_lone_plausible_but_unconfident_candidate_is_multiple_not_a_match(neighbourhood):
    # Every identifying item agrees (the surname only fuzzily) and the postcode does not: 0.84, just short.
    query = TraceQuery(
        surname="Patil", forenames=("Arjun",), gender="1", birth_date=dt.date(1975, 1, 1), postcode="ZZ9 9ZZ"
    )
    result = trace(query)
    assert (result.outcome, [c.nhs_number for c in result.candidates]) == (
        MULTIPLE,
        [neighbourhood["neighbour"].nhs_number],
    )
    assert result.reason == "one plausible candidate, below the confidence threshold (0.84 < 0.85)"


def test_a_forename_that_fits_nobody_leaves_the_twins_to_a_person(neighbourhood):
    result = trace(TraceQuery(surname="Thompson", forenames=("Judith",), gender="2", birth_date=BORN))
    assert result.outcome == MULTIPLE
    assert {c.nhs_number for c in result.candidates} == {neighbourhood[k].nhs_number for k in ("jane", "jill")}
    assert result.reason == "best candidate (0.72) does not agree on forename; 2 plausible candidates"


def test_nobody_plausible_is_none(neighbourhood):
    result = trace(TraceQuery(surname="Okafor", forenames=("Chidi",), gender="1", birth_date=dt.date(2001, 9, 9)))
    assert result.outcome == NONE
    assert result.candidates == ()


def test_day_and_month_swapped_is_found_and_explained(neighbourhood):
    swapped = person("WRIGHT SAM", born=dt.date(1990, 3, 7), postcode="LS9 9ZZ", gender="1")
    result = trace(TraceQuery(surname="Wright", forenames=("Sam",), gender="1", birth_date=dt.date(1990, 7, 3)))
    assert result.candidates[0].nhs_number == swapped.nhs_number
    assert items(result.candidates[0])["birth date"] == "transposed"


def test_a_partial_birth_date_finds_by_surname_within_the_period(neighbourhood):
    exact, lo, hi = partial_birth_date("1991")
    assert exact is None and (lo, hi) == (dt.date(1991, 1, 1), dt.date(1991, 12, 31))
    result = trace(TraceQuery(surname="Thompson", forenames=("Jane",), birth_from=lo, birth_to=hi))
    assert result.candidates[0].nhs_number == neighbourhood["namesake"].nhs_number
    assert items(result.candidates[0])["birth date"] == "partial"
    assert partial_birth_date("1980-05")[1:] == (dt.date(1980, 5, 1), dt.date(1980, 5, 31))


def test_surname_and_forename_swapped_are_transposed(neighbourhood):
    result = trace(TraceQuery(surname="Arjun", forenames=("Patel",), birth_date=dt.date(1975, 1, 1)))
    assert result.candidates[0].nhs_number == neighbourhood["neighbour"].nhs_number
    assert items(result.candidates[0])["surname"] == "transposed"


def test_a_maiden_name_matches_as_a_previous_name(jane):
    services.change_name(
        jane,
        family="Brown",
        given=["Jane"],
        start=dt.date(2020, 6, 1),
        previous_use="maiden",
        expected_version=1,
        by="test",
        reason="marriage",
    )
    result = trace(TraceQuery(surname="Smith", forenames=("Jane",), gender="2", birth_date=BORN, postcode="LS1 4AP"))
    assert result.outcome == MATCH
    assert items(result.match)["surname"] == "previous"


def test_trace_is_deterministic(neighbourhood):
    person("THOMPSON JANE")
    query = TraceQuery(surname="Thompson", forenames=("Jane",), birth_date=BORN)
    first, second = trace(query), trace(query)
    assert first == second
    scores = [(c.score, c.nhs_number) for c in first.candidates]
    assert scores == sorted(scores, key=lambda pair: (-pair[0], pair[1]))


def test_too_many_plausible_candidates_are_flagged(db):
    for _ in range(4):
        person("KHAN ALI", gender="1")
    result = trace(TraceQuery(surname="Khan", forenames=("Ali",), birth_date=BORN), max_results=3)
    assert result.outcome == MULTIPLE
    assert result.too_many
    assert len(result.candidates) == 3


def test_a_trace_needs_a_name_and_a_birth_date_or_postcode(db):
    with pytest.raises(ValueError, match="surname or a forename"):
        trace(TraceQuery(birth_date=BORN))
    with pytest.raises(ValueError, match="birth date"):
        trace(TraceQuery(surname="Smith"))


def candidate_ids(query: TraceQuery) -> list[int]:
    sql, params = candidate_sql(query)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def plan_for(query: TraceQuery) -> str:
    sql, params = candidate_sql(query)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_candidate_retrieval_can_use_indexes_only(neighbourhood):
    """With sequential scans priced out, every block's plan is index access: no table scan exists in it."""
    exact = TraceQuery(surname="Thompson", forenames=("Jane",), birth_date=BORN, postcode="LS1 4AP")
    assert neighbourhood["jane"].pk in candidate_ids(exact)
    plan = plan_for(exact)
    assert "Seq Scan" not in plan
    assert "pds_patient_birth_date" in plan
    assert "pds_address_postcode" in plan
    _, lo, hi = partial_birth_date("1980")
    partial = plan_for(TraceQuery(surname="Thompson", birth_from=lo, birth_to=hi))
    assert "Seq Scan" not in partial
    assert "pds_name_family_prefix" in partial


def test_old_names_count_as_names_to_trace_on(jane):
    PatientName.objects.create(patient=jane, use="nickname", family="SMITH", given=["JJ"])
    result = trace(TraceQuery(surname="Smith", forenames=("JJ",), birth_date=BORN))
    assert items(result.candidates[0])["forename"] == "previous"
