"""The remote PDS client sends what the PDS specification describes (issue #18, points 1 to 3).

Against our own FHIR API on a live server, with every request the client sends recorded: addresses
are read by content and use, never by line position; no empty address line is sent; new list items
are added at "/-"; the home address is found by use and period; a trace makes only the searches PDS
allows, always with a birth date, and keeps PDS's scores. The same client against NHS England's own
sandbox is in tests/external/.
"""

import datetime as dt
import http.server
import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from factories import ApiTokenFactory, PatientFactory, UserFactory

from pds import errors, fhir, services
from pds.client import PdsClient
from pds.gateway import PatientRecord, RemoteGateway
from pds.trace import MATCH, MULTIPLE, NONE, TraceQuery

BORN = dt.date(1980, 5, 17)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["23 Mill Lane", "Leeds"], {"road": "23 Mill Lane", "post_town": "Leeds"}),
        (["Rose Cottage", "1 High St", "Leeds"], {"house": "Rose Cottage", "road": "1 High St", "post_town": "Leeds"}),
        (
            ["1 High St", "Headingley", "Leeds", "West Yorkshire"],
            {"road": "1 High St", "locality": "Headingley", "post_town": "Leeds", "county": "West Yorkshire"},
        ),
        (
            ["Flat 3", "12 Park Rd", "Headingley", "Leeds"],
            {"house": "Flat 3", "road": "12 Park Rd", "locality": "Headingley", "post_town": "Leeds"},
        ),
        (
            ["The Lodge", "Mill Lane", "Bramhope", "Leeds", "West Yorkshire"],
            {
                "house": "The Lodge",
                "road": "Mill Lane",
                "locality": "Bramhope",
                "post_town": "Leeds",
                "county": "West Yorkshire",
            },
        ),
        (["23 Mill Lane", "", "Leeds"], {"road": "23 Mill Lane", "post_town": "Leeds"}),
    ],
)
def test_address_lines_are_read_by_content_not_position(lines, expected):
    assert {k: v for k, v in fhir.address_fields(lines).items() if v} == expected


def test_address_lines_sent_leave_out_empty_lines():
    assert fhir.address_lines({"house": "", "road": "23 Mill Lane", "locality": " ", "post_town": "Leeds"}) == [
        "23 Mill Lane",
        "Leeds",
    ]


def test_the_current_home_address_is_found_by_use_and_period_not_position():
    resource = {
        "resourceType": "Patient",
        "id": "9434765919",
        "name": [{"use": "usual", "family": "Smith", "given": ["Jane"]}],
        "address": [
            {"use": "temp", "text": "Student Accommodation", "line": ["Hall 4", "Leeds"], "postalCode": "LS2 9JT"},
            {"use": "home", "period": {"start": "2001-01-01", "end": "2010-01-01"}, "line": ["1 Old Rd", "York"]},
            {
                "use": "home",
                "period": {"start": "2010-01-01"},
                "line": ["23 Mill Lane", "Leeds"],
                "postalCode": "LS6 1AA",
            },
        ],
    }
    home = PatientRecord.from_resource(resource, 1).current_address
    assert (home.road, home.post_town, home.postcode, home.use) == ("23 Mill Lane", "Leeds", "LS6 1AA", "home")


class Recorder:
    """A requests session that keeps (method, path, query, body) of everything the client sends."""

    def __init__(self):
        self.session = requests.Session()
        self.sent: list[tuple[str, str, dict, object]] = []
        self.session.hooks["response"].append(self._keep)

    def _keep(self, response, *args, **kwargs):
        request = response.request
        url = urlsplit(request.url)
        body = json.loads(request.body) if request.body else None
        self.sent.append((request.method, url.path, parse_qs(url.query), body))

    def patches(self) -> list[dict]:
        return [op for method, _, _, body in self.sent if method == "PATCH" for op in body["patches"]]

    def searches(self) -> list[dict]:
        return [query for method, path, query, _ in self.sent if method == "GET" and path.endswith("/Patient")]


@pytest.fixture
def recorded(live_server, transactional_db):
    user = UserFactory(username="pcrm-system", roles=["Administrator"])
    token = ApiTokenFactory(user=user, name="processing")
    recorder = Recorder()
    client = PdsClient(f"{live_server.url}/pds/FHIR/R4", token=token.raw, backoff=0.01, session=recorder.session)
    return RemoteGateway(client), recorder


def _bare_patient(**kwargs):
    """A record with a name and birth date only: no address, no practice, no extensions."""
    return services.create_patient(
        family="Minimal", given=["Min"], gender="1", birth_date=BORN, by="t", reason="fixture", **kwargs
    )


def test_first_practice_and_first_extension_are_added_at_the_end_of_the_list(recorded):
    gateway, recorder = recorded
    patient = _bare_patient()
    registered = gateway.register_with_practice(
        patient.nhs_number, practice_ods="B82001", start=dt.date(2026, 3, 1), expected_version=1, by="x", reason="r"
    )
    died = gateway.record_death(
        patient.nhs_number, date=dt.date(2026, 3, 3), status="informal", expected_version=2, by="x", reason="r"
    )
    moved = gateway.change_address(
        patient.nhs_number,
        address={"road": "23 Mill Lane", "post_town": "Leeds", "postcode": "LS6 1AA"},
        start=dt.date(2026, 3, 4),
        expected_version=3,
        by="x",
        reason="r",
    )
    paths = [(op["op"], op["path"]) for op in recorder.patches()]
    assert paths == [
        ("add", "/generalPractitioner/-"),
        ("add", "/deceasedDateTime"),
        ("add", "/extension/-"),
        ("add", "/address/-"),
    ]
    assert registered.gp_practice == "B82001" and died.death_status == "informal"
    address = moved.current_address
    assert (address.road, address.post_town, address.house, address.postcode) == (
        "23 MILL LANE",
        "LEEDS",
        "",
        "LS6 1AA",
    )
    sent_address = recorder.patches()[-1]["value"]
    assert sent_address["line"] == ["23 Mill Lane", "Leeds"]  # no empty strings


def test_a_change_of_address_replaces_the_current_home_address_by_its_id(recorded):
    gateway, recorder = recorded
    patient = _bare_patient(address={"road": "1 High Street", "post_town": "Leeds", "postcode": "LS1 4AP"})
    home_id = str(patient.addresses.get().pk)
    gateway.change_address(
        patient.nhs_number,
        address={"house": "Rose Cottage", "road": "2 Park Lane", "post_town": "Leeds", "postcode": "LS2 7UE"},
        start=dt.date(2026, 3, 2),
        expected_version=1,
        by="x",
        reason="r",
    )
    test, replace = recorder.patches()
    assert test == {"op": "test", "path": "/address/0/id", "value": home_id}
    assert replace["path"] == "/address/0" and replace["value"]["id"] == home_id
    assert replace["value"]["line"] == ["Rose Cottage", "2 Park Lane", "Leeds"]
    record = gateway.get(patient.nhs_number)
    assert (record.current_address.house, record.current_address.road) == ("ROSE COTTAGE", "2 PARK LANE")


def _allowed(params: dict) -> bool:
    """Whether a search is one PDS allows (the specification's combinations, a birth date always)."""
    names = set(params) - {"_max-results"}
    if "birthdate" not in names:
        return False
    if params.get("_fuzzy-match") == ["true"]:
        return (
            {"given", "family", "birthdate"} <= names
            or {"family", "birthdate", "gender", "address-postalcode"} <= names
            or {"given", "birthdate", "gender", "address-postalcode"} <= names
        )
    return {"family", "birthdate"} <= names and "gender" not in names


def test_a_trace_searches_only_as_pds_allows_and_keeps_its_scores(recorded):
    gateway, recorder = recorded
    services.create_patient(
        family="Smith",
        given=["Jane"],
        gender="2",
        birth_date=BORN,
        address={"road": "1 High Street", "post_town": "Leeds", "postcode": "LS1 4AP"},
        nhs_number="9434765919",
        by="t",
        reason="fixture",
    )
    exact = gateway.trace(TraceQuery(surname="Smith", forenames=("Jane",), gender="2", birth_date=BORN))
    assert exact.outcome == MATCH and [(c.nhs_number, c.score) for c in exact.candidates] == [("9434765919", 1.0)]
    fuzzy = gateway.trace(TraceQuery(surname="Smyth", forenames=("Jane",), gender="2", birth_date=BORN))
    assert fuzzy.outcome == MULTIPLE and fuzzy.candidates[0].score < 1.0
    by_postcode = gateway.trace(TraceQuery(surname="Smyth", gender="2", birth_date=BORN, postcode="LS1 4AP"))
    assert by_postcode.outcome == MULTIPLE and by_postcode.candidates[0].nhs_number == "9434765919"
    searches = recorder.searches()
    assert len(searches) == 5  # exact: non-fuzzy; then twice non-fuzzy (nobody) and fuzzy
    assert all(_allowed(params) for params in searches), searches
    assert all(params["_max-results"] == ["10"] for params in searches)
    assert [params.get("_fuzzy-match") for params in searches] == [None, None, ["true"], None, ["true"]]


def test_without_a_birth_date_there_is_no_pds_search(recorded):
    gateway, recorder = recorded
    result = gateway.trace(TraceQuery(surname="Smith", forenames=("Jane",), postcode="LS1 4AP"))
    assert result.outcome == NONE and "birth date" in result.reason
    assert recorder.sent == []


def test_application_restricted_access_asks_for_one_result_and_sends_no_update(recorded):
    gateway, recorder = recorded
    gateway.client.access_mode = "application-restricted"
    for _ in range(2):
        PatientFactory(name="KHAN ALI", birth_date=BORN)
    crowded = gateway.trace(TraceQuery(surname="Khan", forenames=("Ali",), birth_date=BORN))
    assert crowded.outcome == MULTIPLE and crowded.too_many
    assert recorder.searches()[0]["_max-results"] == ["1"]
    patient = _bare_patient()
    with pytest.raises(errors.UpdateNeedsAPerson):
        gateway.register_with_practice(
            patient.nhs_number, practice_ods="B82001", start=dt.date(2026, 3, 1), expected_version=1, by="x", reason="r"
        )
    assert not [method for method, *_ in recorder.sent if method == "PATCH"]


class _TwoHomes(http.server.BaseHTTPRequestHandler):
    """A PDS record with a temporary address listed before the home one; records what is PATCHed."""

    patched: list = []
    resource = {
        "resourceType": "Patient",
        "id": "9434765919",
        "meta": {"versionId": "4"},
        "name": [{"id": "1", "use": "usual", "family": "Smith", "given": ["Jane"]}],
        "address": [
            {"id": "T1", "use": "temp", "text": "Student Accommodation", "line": ["Hall 4", "Leeds"]},
            {"id": "H0", "use": "home", "period": {"start": "2001-01-01", "end": "2010-01-01"}, "line": ["York"]},
            {"id": "H1", "use": "home", "period": {"start": "2010-01-01"}, "line": ["23 Mill Lane", "Leeds"]},
        ],
    }

    def _answer(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("ETag", 'W/"4"')
        self.end_headers()
        self.wfile.write(json.dumps(self.resource).encode())

    def do_GET(self):
        self._answer()

    def do_PATCH(self):
        type(self).patched.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self._answer()

    def log_message(self, *args):
        pass


def test_the_home_address_replaced_is_the_current_one_wherever_it_is_in_the_list():
    _TwoHomes.patched = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TwoHomes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gateway = RemoteGateway(PdsClient(f"http://127.0.0.1:{server.server_address[1]}"))
        gateway.change_address(
            "9434765919",
            address={"road": "9 Park Lane", "post_town": "Leeds", "postcode": "LS2 7UE"},
            start=dt.date(2026, 3, 2),
            expected_version=4,
            by="x",
            reason="r",
        )
    finally:
        server.shutdown()
        server.server_close()
    [body] = _TwoHomes.patched
    assert body["patches"][0] == {"op": "test", "path": "/address/2/id", "value": "H1"}
    assert body["patches"][1]["path"] == "/address/2"
    assert body["patches"][1]["value"]["line"] == ["9 Park Lane", "Leeds"]
