"""#16 item 2 (ux-home): every NHS number shown links to the patient's audited page, through the one
`{% patient_link %}` tag; the queue keeps a separate link to the case."""

import pytest
from django.urls import reverse
from factories import ExceptionCaseFactory, HealthAuthorityFactory, TransactionFactory
from pytest_django.asserts import assertContains, assertInHTML
from support import role_user

from migration.models import ShadowResult, ShadowRun

pytestmark = pytest.mark.django_db

JANE = "9434765919"
PATIENT = reverse("pds:patient-detail", args=[JANE])


def test_a_queue_row_links_the_patient_and_its_name_opens_the_case(client):
    client.force_login(role_user("NBO agent"))
    tx = TransactionFactory(data={"nhs_number": JANE, "surname": "STEVENS", "forenames": ["JANE"]})
    case = ExceptionCaseFactory(nhs_number=JANE, transaction=tx)
    response = client.get(reverse("exceptions:case-list"))
    assertInHTML(f'<a class="nhsuk-link pcrm-nowrap" href="{PATIENT}">943 476 5919</a>', response.text)
    assertInHTML(
        f'<a class="nhsuk-link pcrm-case-link" href="/cases/{case.pk}/">STEVENS, Jane'
        f'<span class="nhsuk-u-visually-hidden"> (case {case.pk})</span></a>',
        response.text,
    )


def test_the_shadow_report_links_each_patient(client):
    client.force_login(role_user("Team leader"))
    ha = HealthAuthorityFactory(cipher="XX1", migrated=False)
    run = ShadowRun.objects.create(ha=ha, by="terry", transactions=1, agreed=1)
    ShadowResult.objects.create(
        run=run, type="G5", sender="TES5", sis=1, tn=7, nhs_number=JANE, practice_ods="A10001",
        verdict="agreed", pcrm_answer="F2", pcrm_outcome="DONE", nhais_answer="F2",
    )  # fmt: skip
    response = client.get(reverse("migration:shadow", args=[ha.cipher, run.pk]))
    assertContains(response, f'<a class="nhsuk-link pcrm-nowrap" href="{PATIENT}">943 476 5919</a>', html=True)


def test_a_role_that_cannot_open_patients_sees_the_number_as_text(client):
    """PCSE viewers open no patient record, so nothing they see links to one (they see no queue either)."""
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = role_user("PCSE viewer")
    html = Template("{% load patients %}{% patient_link n %}").render(Context({"request": request, "n": JANE}))
    assert html == "943 476 5919"
