"""Restricted (S-flagged) records on the case page: an agent without the sensitive-record permission sees no
address, postcode, place of birth or registered GP of the patient, whether it comes from PDS, from the
practice's message, or from the raw EDIFACT. A team member with the permission sees them.

And a very large interchange is shown a page of segments at a time on the case page."""

import hashlib

import pytest
from django.urls import reverse
from factories import (
    ExceptionCaseFactory,
    InterchangeFactory,
    MessageFactory,
    PatientFactory,
    TransactionFactory,
    UserFactory,
)
from support import g1_transaction, practice_interchange

from exceptions.selectors import casework
from pds.models import Patient
from registrations.gplinks import Address, Transaction
from registrations.gplinks.jsonio import transaction_to_json

pytestmark = pytest.mark.django_db

SECRET_ROAD = "7 HIDDEN LANE"
SECRET_TOWN = "SECRETTOWN"
SECRET_POSTCODE = "ZE2 9XQ"
SECRET_BIRTHPLACE = "LERWICK"


def g1(tn: int, nhs_number: str, **extra) -> Transaction:
    """Jane Stevens' G1 (support.g1_transaction) from a secret address and birthplace."""
    return g1_transaction(
        tn,
        nhs_number,
        place_of_birth=SECRET_BIRTHPLACE,
        address=Address("", SECRET_ROAD, "", SECRET_TOWN, "", SECRET_POSTCODE),
        **extra,
    )


def case_for(transactions: list[Transaction], index: int = 0):
    raw = practice_interchange(1, transactions)
    interchange = InterchangeFactory(raw=raw, sha256=hashlib.sha256(raw).hexdigest())
    data = transaction_to_json(transactions[index])
    tx = TransactionFactory(
        message=MessageFactory(interchange=interchange),
        tn=transactions[index].tn,
        data=data,
        status="MANUAL",
        nhs_number=data.get("nhs_number") or "",
    )
    return ExceptionCaseFactory(
        kind="DEMOGRAPHIC_MISMATCH",
        summary="Demographics differ: surname",
        nhs_number=data.get("nhs_number") or "",
        practice_ods="A10001",
        transaction=tx,
        interchange=interchange,
        evidence={"transaction": data},
    )


@pytest.fixture
def restricted_patient():
    patient = PatientFactory(
        nhs_number="9434765919", name="STEVENS JANE", address=SECRET_POSTCODE, registered_at="Y12345"
    )
    Patient.objects.filter(pk=patient.pk).update(sensitive=True, place_of_birth=SECRET_BIRTHPLACE)
    return patient


def page(client, username: str, roles: list[str], case, **params) -> str:
    client.force_login(UserFactory(username=username, roles=roles))
    response = client.get(reverse("exceptions:case-detail", args=[case.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


SECRETS = (SECRET_ROAD, SECRET_TOWN, SECRET_POSTCODE, SECRET_BIRTHPLACE, "Y12345")


def test_an_agent_never_sees_a_restricted_patients_address_on_the_case_page(client, restricted_patient):
    case = case_for([g1(1, "9434765919")])
    html = page(client, "agent1", ["NBO agent"], case)
    for secret in SECRETS:
        assert secret not in html, secret
    assert "Restricted (S flag)" in html
    assert "STEVENS" in html  # the name and NHS number are not restricted: the case can still be worked


def test_someone_with_the_sensitive_record_permission_sees_them(client, restricted_patient):
    case = case_for([g1(1, "9434765919")])
    html = page(client, "admin1", ["Administrator"], case)
    for secret in (SECRET_ROAD, SECRET_POSTCODE):
        assert secret in html, secret


def test_another_patients_restricted_segments_in_the_same_interchange_are_withheld(client, restricted_patient):
    """The interchange also carries the restricted patient's acceptance; the agent works the other one."""
    PatientFactory(nhs_number="9434765870", name="OTHER JOHN")
    other = g1(1, "9434765870")
    case = case_for([other, g1(2, "9434765919")], index=0)
    html = page(client, "agent2", ["NBO agent"], case)
    edifact = html[html.index('id="edifact"') :]
    assert "RFF+TN:2" in edifact and "Restricted (S flag): segment not shown" in edifact
    # The agent's own (unrestricted) patient's address is shown once per its own segment and compare rows;
    # the restricted one's only place would have been its own segments.
    assert edifact.count(SECRET_ROAD) == 1
    assert SECRET_BIRTHPLACE in edifact  # the unrestricted transaction's LOC+950


def test_a_100000_segment_interchange_is_shown_a_page_at_a_time(client):
    many = [
        Transaction(tn=tn, type="G1", gp_code="4826940,281", surname="STEVENS", acceptance_code="A")
        for tn in range(1, 25_001)
    ]
    case = case_for(many, index=24_000)
    view = casework.edifact_page(case, show_restricted=False)
    assert view.total >= 100_000, view.total
    html = page(client, "agent3", ["NBO agent"], case)
    assert len(html) < 500_000, len(html)
    assert f"RFF+TN:{many[24_000].tn}&#x27;" in html  # the page where this case's transaction is
    assert "Pages of the interchange" in html
    first = page(client, "agent3", ["NBO agent"], case, page="1")
    assert "UNB+" in first and f"RFF+TN:{many[24_000].tn}&#x27;" not in first
