"""seed_population (realistic, deterministic, loaded by COPY with history switched off) and pds_token."""

import datetime as dt
import io
import re

import pytest
from django.core.management import CommandError, call_command
from factories import UserFactory

from core import nhs_number
from pds import history, services
from pds.models import GPPeriod, Patient, PatientAddress, PatientEvent, PatientName

REQUEST_ID = "0f5c6b0e-3a1d-4a8e-9b57-2c1e8f3d4a60"

pytestmark = pytest.mark.django_db
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9]{1,2} [0-9][A-Z]{2}$")


def seed(n: int, seed: int = 5, *extra: str) -> str:
    out = io.StringIO()
    call_command("seed_population", "--patients", str(n), "--seed", str(seed), *extra, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple]:
    return list(
        PatientName.objects.filter(use="usual")
        .order_by("patient__nhs_number")
        .values_list("patient__nhs_number", "family", "given", "patient__birth_date", "patient__gender")
    )


def test_the_same_seed_gives_the_same_people(db):
    assert "Seeded 3,000 people" in seed(3000)
    first = snapshot()
    with pytest.raises(CommandError, match="already seeded"):
        seed(3000)
    seed(3000, 5, "--truncate")
    assert snapshot() == first
    seed(3000, 6, "--truncate")
    assert snapshot() != first


def test_the_population_looks_like_a_population(db):
    seed(5000)
    assert Patient.objects.count() == 5000
    assert all(nhs_number.is_valid(n) for n in Patient.objects.values_list("nhs_number", flat=True))
    surnames = PatientName.objects.filter(use="usual").values_list("family", flat=True)
    assert len(set(surnames)) > 300
    assert list(surnames).count("SMITH") > list(surnames).count("PEARSON") > 0
    ages = [(dt.date(2026, 11, 1) - b).days // 365 for b in Patient.objects.values_list("birth_date", flat=True)]
    assert min(ages) == 0 and max(ages) >= 90
    assert 30 < sum(ages) / len(ages) < 50
    assert all(POSTCODE.match(p) for p in PatientAddress.objects.values_list("postcode", flat=True))
    assert PatientName.objects.filter(use="maiden").count() > 200
    assert PatientAddress.objects.filter(end__isnull=False).exists()
    assert GPPeriod.objects.filter(end__isnull=False, removal_reason="").exists()
    assert GPPeriod.objects.values("practice_ods").distinct().count() >= 5
    deceased = Patient.objects.filter(death_date__isnull=False)
    assert deceased.filter(death_status="formal").exists() and deceased.filter(death_status="informal").exists()
    assert Patient.objects.filter(sensitive=True).exists()
    # Duplicates and twins: the same surname and birth date under two NHS numbers.
    pairs = {}
    for number, family, _, born, _ in snapshot():
        pairs.setdefault((family, born), []).append(number)
    assert sum(1 for numbers in pairs.values() if len(numbers) > 1) > 10


def test_seeded_rows_have_no_history_but_later_changes_do(db):
    seed(500)
    patient = Patient.objects.order_by("pk").first()
    assert not PatientEvent.objects.exists()
    services.register_with_practice(
        patient, practice_ods="Z99999", start=dt.date(2026, 11, 2), expected_version=1, by="test", reason="r"
    )
    entry = history.timeline(patient)[0]
    assert entry.action == "register_with_practice"
    closed = next(c for c in entry.changes if c.kind == "changed")
    assert {f.before for f in closed.fields} == {history.NOT_RECORDED}


def test_pds_token_issues_a_working_token_and_revokes_it(client, agent):
    out = io.StringIO()
    call_command("pds_token", "agent", "--name", "processing", stdout=out)
    raw = out.getvalue().strip()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_X_REQUEST_ID": REQUEST_ID}
    assert client.get("/pds/FHIR/R4/Patient/9000000009", **headers).status_code == 404
    call_command("pds_token", "agent", "--revoke", raw[:8], stdout=io.StringIO())
    assert client.get("/pds/FHIR/R4/Patient/9000000009", **headers).status_code == 401
    with pytest.raises(CommandError):
        call_command("pds_token", "nobody")


def test_tokens_are_stored_only_as_hashes(db):
    from pds.models import ApiToken

    token, raw = ApiToken.issue(UserFactory(), "x")
    assert raw not in (token.key_hash, token.prefix) and len(token.key_hash) == 64
