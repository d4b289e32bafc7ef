"""The patient page shows what PCRM holds that PDS does not (#12 point 9): each registration PCRM made
with its GP, dispensing marker and residential institute code, and a deduction held for a date."""

import datetime as dt

import pytest
from django.urls import reverse
from factories import GPFactory, PatientFactory, PracticeFactory, UserFactory
from pytest_django.asserts import assertContains, assertNotContains

from pds.models import Patient
from registrations.models import PendingDeduction, Registration

pytestmark = pytest.mark.django_db

JANE = "9434765919"


@pytest.fixture
def registered(db):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="A10001")
    practice = PracticeFactory(ods_code="A10001", name="New Surgery")
    gp = GPFactory(practice=practice, national_code="4826940", local_code="281")
    Registration.objects.create(
        nhs_number=JANE,
        practice=practice,
        gp=gp,
        acceptance_date=dt.date(2026, 11, 2),
        dispensing=True,
        residential_institute="RT",
    )
    PendingDeduction.objects.create(nhs_number=JANE, practice=practice, gp=gp, reason="9", due_on=dt.date(2026, 12, 31))
    return practice


def test_dm_ric_and_a_held_deduction_are_on_the_patient_page(client, registered):
    client.force_login(UserFactory(roles=["NBO agent"]))
    response = client.get(reverse("pds:patient-detail", args=[JANE]))
    assertContains(response, "Registrations PCRM made")
    assertContains(response, '<td class="nhsuk-table__cell">RT</td>', html=True)
    assertContains(response, "4826940,281")
    assertContains(response, "Deduction waiting")
    assertContains(response, "deducted from A10001 New Surgery on 31 December 2026 (reason 9)")


def test_a_restricted_record_hides_them_like_the_registered_practice(client, registered):
    Patient.objects.filter(nhs_number=JANE).update(sensitive=True)
    client.force_login(UserFactory(roles=["NBO agent"]))
    response = client.get(reverse("pds:patient-detail", args=[JANE]))
    assertNotContains(response, "Registrations PCRM made")
    assertNotContains(response, "A10001")
