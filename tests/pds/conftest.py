"""PDS test fixtures: people in each role, FHIR API callers with tokens, and a history-aware patient."""

import datetime as dt
import uuid

import pytest
from factories import ApiTokenFactory, PatientFactory, UserFactory

from pds import services

FHIR = "/pds/FHIR/R4/Patient"


@pytest.fixture
def admin_user(db):
    """Administrator: may also see S-flagged addresses."""
    return UserFactory(username="administrator", roles=["Administrator"])


@pytest.fixture
def reader_token(agent):
    return ApiTokenFactory(user=agent)


@pytest.fixture
def amender_token(admin_user):
    return ApiTokenFactory(user=admin_user)


@pytest.fixture
def api(client):
    """Call the FHIR API with a bearer token: api(token).get(path) / .patch(path, body, version)."""

    class Caller:
        def __init__(self, token):
            # Every call carries a fresh X-Request-ID, which the specification makes mandatory; pass
            # HTTP_X_REQUEST_ID=None to leave it out.
            self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token.raw}"} if token else {}
            self.headers["HTTP_X_REQUEST_ID"] = str(uuid.uuid4())

        def get(self, path="", data=None, **extra):
            return client.get(FHIR + path, data, **_without_none({**self.headers, **extra}))

        def patch(self, path, patches, version=None, *, body=None, content_type="application/json-patch+json", **extra):
            import json

            headers = _without_none({**self.headers, **extra})
            extra = {}
            if version is not None:
                headers["HTTP_IF_MATCH"] = f'W/"{version}"'
            payload = body if body is not None else json.dumps({"patches": patches})
            return client.patch(FHIR + path, payload, content_type=content_type, **headers, **extra)

    return Caller


@pytest.fixture
def jane(db):
    """Jane Smith, born 17 May 1980, at LS1 4AP, registered with A12345; created through the service."""
    return services.create_patient(
        family="Smith",
        given=["Jane", "Ann"],
        gender="2",
        birth_date=dt.date(1980, 5, 17),
        place_of_birth="Leeds",
        address={"road": "1 High Street", "post_town": "Leeds", "postcode": "ls14ap"},
        practice_ods="A12345",
        registered_on=dt.date(2015, 1, 1),
        nhs_number="9434765919",
        by="test-suite",
        reason="test fixture",
    )


@pytest.fixture
def make_patient(db):
    return PatientFactory


def _without_none(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if v is not None}
