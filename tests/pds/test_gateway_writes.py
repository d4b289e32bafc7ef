"""What resolution asks of PDS — create a patient, change a name, update demographics — through the
gateway, with the same tests run against the local store and against a remote FHIR endpoint (our own
API on a live server: real HTTP, views, services and database)."""

import datetime as dt

import pytest
from factories import ApiTokenFactory, UserFactory

from core.nhs_number import is_valid
from pds import errors, services
from pds.client import PdsClient
from pds.gateway import LocalGateway, RemoteGateway

BORN = dt.date(1980, 5, 17)
JANE = "9434765919"


@pytest.fixture
def remote(live_server, transactional_db):
    user = UserFactory(username="pcrm-system", roles=["Administrator"])
    token = ApiTokenFactory(user=user, name="processing")
    client = PdsClient(f"{live_server.url}/pds/FHIR/R4", token=token.raw, read_timeout=10, backoff=0.01)
    return RemoteGateway(client)


@pytest.fixture(params=["local", "remote"])
def gateway(request):
    if request.param == "local":
        request.getfixturevalue("transactional_db")
        return LocalGateway()
    return request.getfixturevalue("remote")


def make_jane():
    return services.create_patient(
        family="Smith",
        given=["Jane"],
        gender="2",
        birth_date=BORN,
        address={"road": "1 High Street", "post_town": "Leeds", "postcode": "LS1 4AP"},
        nhs_number=JANE,
        by="test-suite",
        reason="fixture",
    )


def test_create_patient_allocates_a_new_number(gateway):
    created = gateway.create_patient(
        family="Okafor",
        given=["Ada"],
        gender="2",
        birth_date=dt.date(2026, 1, 5),
        place_of_birth="Leeds",
        address={"house": "", "road": "2 Mill Road", "post_town": "Leeds", "postcode": "LS6 2AB"},
        by="agent",
        reason="case 1: new NHS number",
    )
    assert is_valid(created.nhs_number) and created.version == 1
    assert (created.usual_name.family, created.usual_name.given) == ("OKAFOR", ("ADA",))
    assert (created.gender, created.birth_date) == ("2", dt.date(2026, 1, 5))
    assert created.current_address.postcode == "LS6 2AB"
    # An empty premises is left out, not sent as a blank line that would shift the others.
    assert (created.current_address.house, created.current_address.road) == ("", "2 MILL ROAD")
    assert created.current_address.post_town == "LEEDS"
    assert LocalGateway().get(created.nhs_number) == created


def test_change_name_keeps_the_old_name_and_adds_a_previous_surname(gateway):
    make_jane()
    renamed = gateway.change_name(
        JANE, family="Jones", given=["Jane", "Ann"], start=dt.date(2026, 3, 1), expected_version=1, by="a", reason="r"
    )
    assert (renamed.usual_name.family, renamed.usual_name.given, renamed.version) == ("JONES", ("JANE", "ANN"), 2)
    assert ("old", "SMITH") in {(n.use, n.family) for n in renamed.names}
    previous = gateway.change_name(
        JANE, family="Brown", given=[], use="old", start=dt.date(2026, 3, 1), expected_version=2, by="a", reason="r"
    )
    assert ("old", "BROWN") in {(n.use, n.family) for n in previous.names}
    assert previous.usual_name.family == "JONES" and previous.version == 3
    assert set(LocalGateway().get(JANE).names) == set(previous.names)


def test_update_demographics_changes_only_the_items_given(gateway):
    make_jane()
    born = gateway.update_demographics(JANE, birth_date=dt.date(1980, 5, 18), expected_version=1, by="a", reason="r")
    assert (born.birth_date, born.gender, born.version) == (dt.date(1980, 5, 18), "2", 2)
    sexed = gateway.update_demographics(JANE, gender="1", expected_version=2, by="a", reason="r")
    assert (sexed.birth_date, sexed.gender, sexed.version) == (dt.date(1980, 5, 18), "1", 3)


def test_a_stale_version_is_a_conflict_and_a_bad_change_is_refused(gateway):
    make_jane()
    with pytest.raises(errors.VersionConflict):
        gateway.change_name(JANE, family="Jones", given=["Jane"], start=BORN, expected_version=7, by="a", reason="r")
    with pytest.raises(errors.InvalidChange):
        gateway.change_name(JANE, family="", given=["Jane"], start=BORN, expected_version=1, by="a", reason="r")


def test_a_remote_create_for_someone_pds_already_holds_is_refused(remote):
    """PDS's create endpoint answers 200 SINGLE_MATCH and makes nothing when it holds the person already."""
    make_jane()
    with pytest.raises(errors.InvalidChange):
        remote.create_patient(
            family="Smith",
            given=["Jane"],
            gender="2",
            birth_date=BORN,
            address={"road": "1 High Street", "post_town": "Leeds", "postcode": "LS1 4AP"},
            by="a",
            reason="r",
        )
