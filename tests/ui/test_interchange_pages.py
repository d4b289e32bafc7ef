"""The Interchanges page: searchable, and each interchange opens to its messages, transactions, the
RECEP sent and received, cases and raw bytes, with restricted (S-flagged) patients' details hidden
from roles not cleared to see them. Interchanges are made by the real pipeline (store, ingest,
process, relay build), without MESH: the page starts where the pipeline hands over."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from factories import PatientFactory, UserFactory
from support import g1_interchange

from exceptions.models import AuditEvent
from pds.models import Patient
from registrations.models import Interchange as InterchangeRow
from registrations.services import inbound, outbox, processing

pytestmark = pytest.mark.django_db

JANE = "9434765919"


def receive(sis: int, *, mailbox="GPMB00301") -> InterchangeRow:
    """TES5's acceptance of Jane Stevens (SIS and SMS `sis`), from `mailbox`, read, decided and answered."""
    body = g1_interchange(sis=sis, tn=sis, nhs_number=JANE)
    row, _ = inbound.store_inbound(
        mesh_message_id=f"M{sis}",
        body=body,
        workflow="NHAIS_REG",
        message_type="DATA",
        sender=mailbox,
        recipient="PCRMHUB01",
    )
    for tx_id in inbound.ingest_interchange(row.pk).new_transaction_ids:
        processing.process_transaction(tx_id)
    outbox.build_pending(now=timezone.now())
    row.refresh_from_db()
    return row


@pytest.fixture
def login(client):
    def as_role(role: str):
        user = UserFactory(username=role.replace(" ", "-").lower(), roles=[role])
        client.force_login(user)
        return user

    return as_role


def listed(client, **query) -> list[int]:
    response = client.get(reverse("registrations:interchange-list"), query)
    assert response.status_code == 200
    return [row.record.pk for row in response.context["table"].page.object_list]


def test_interchanges_are_searchable_by_partner_sis_status_direction_and_date(client, login, casework):
    login("NBO agent")
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    first = receive(1)
    held = receive(2, mailbox="GPMB00399")  # not TES5's mailbox: held
    recep = InterchangeRow.objects.get(direction="out", workflow="NHAIS_RECEP")

    assert set(listed(client, partner="tes5")) >= {first.pk, held.pk, recep.pk}
    assert listed(client, partner="GPMB00399") == [held.pk]
    assert listed(client, sis=2, direction="in") == [held.pk]
    assert listed(client, status="HELD") == [held.pk]
    assert recep.pk in listed(client, direction="out") and first.pk not in listed(client, direction="out")
    today = timezone.localdate()
    assert first.pk in listed(client, recorded_from=today.isoformat(), recorded_to=today.isoformat())
    assert listed(client, recorded_to=(today - dt.timedelta(days=1)).isoformat()) == []

    response = client.get(reverse("registrations:interchange-list"), {"sis": "twelve"})
    assert response.status_code == 200 and response.context["filter_errors"]
    assert "Error: Interchanges" in response.content.decode()
    # An htmx search swaps only the table partial.
    partial = client.get(reverse("registrations:interchange-list"), {"partner": "TES5"}, HTTP_HX_REQUEST="true")
    assert "<h1" not in partial.content.decode() and "interchange-count" in partial.content.decode()


def test_an_interchange_opens_to_its_messages_transactions_receps_cases_and_bytes(client, login, casework):
    user = login("NBO agent")
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    row = receive(1)

    response = client.get(reverse("registrations:interchange-detail", args=[row.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Message SMS 1: G1" in html and "RECEP CP" in html
    assert "943 476 5919" in html
    recep = InterchangeRow.objects.get(direction="out", workflow="NHAIS_RECEP")
    assert reverse("registrations:interchange-detail", args=[recep.pk]) in html
    assert "PNA+PAT+9434765919:OPI" in html, "raw bytes, one segment per line"
    assert AuditEvent.objects.filter(
        user=user, action="view_interchange", nhs_number=JANE, object_id=str(row.pk)
    ).exists()
    # The RECEP PCRM sent links back to what it answers; the F4 says no RECEP has come yet.
    recep_page = client.get(reverse("registrations:interchange-detail", args=[recep.pk])).content.decode()
    assert reverse("registrations:interchange-detail", args=[row.pk]) in recep_page
    approval = InterchangeRow.objects.get(direction="out", workflow="NHAIS_REG", recipient="TES5")
    assert (
        "No RECEP received yet"
        in client.get(reverse("registrations:interchange-detail", args=[approval.pk])).content.decode()
    )


def test_a_held_interchange_shows_why_and_its_case(client, login, casework):
    login("NBO agent")
    row = receive(1, mailbox="GPMB00399")

    html = client.get(reverse("registrations:interchange-detail", args=[row.pk])).content.decode()

    assert "Held: partner not authenticated" in html
    assert "GPMB00399 is not TES5" in html
    assert "Unauthenticated partner" in html and "the partner is not authenticated" in html


def test_restricted_patients_details_and_bytes_are_hidden_without_clearance(client, login, casework):
    PatientFactory(nhs_number=JANE, name="STEVENS JANE", registered_at="B20002")
    Patient.objects.filter(nhs_number=JANE).update(sensitive=True)
    row = receive(1)
    url = reverse("registrations:interchange-detail", args=[row.pk])

    agent = login("NBO agent")
    html = client.get(url).content.decode()
    assert "Restricted" in html and "943 476 5919" not in html and "PNA+PAT" not in html
    assert not AuditEvent.objects.filter(user=agent, action="view_interchange").exists(), "nothing shown"

    admin = login("Administrator")
    html = client.get(url).content.decode()
    assert "943 476 5919" in html and "PNA+PAT+9434765919" in html
    assert AuditEvent.objects.filter(user=admin, action="view_interchange", nhs_number=JANE).exists()


def test_only_roles_that_watch_the_pipeline_see_interchanges(client, login, casework):
    login("PCSE viewer")
    row = receive(1, mailbox="GPMB00399")
    assert client.get(reverse("registrations:interchange-list")).status_code == 403
    assert client.get(reverse("registrations:interchange-detail", args=[row.pk])).status_code == 403
