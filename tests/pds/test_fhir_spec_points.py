"""Our FHIR API where it used to differ from NHS England's PDS specification (issue #18, points 5 to 10).

Each test is one point: "correction" accepted; adding the first item of a list the record does not
have; no personal data in any error; X-Request-ID mandatory; dates only in the specification's
formats; no empty arrays; telecom in search results and filters; the contact preference,
communication and nominated pharmacy extensions. The responses themselves are validated against
the specification in tests/external/test_pds_spec_api.py.
"""

import json

import pytest

from pds import fhir, services
from pds.models import Patient

NHS = "/9434765919"
GENDER_TO_MALE = [{"op": "replace", "path": "/gender", "value": "male"}]


@pytest.fixture
def amend(api, amender_token):
    return api(amender_token)


@pytest.fixture
def read(api, reader_token):
    return api(reader_token)


def code_of(response) -> str:
    return response.json()["issue"][0]["details"]["coding"][0]["code"]


def test_a_patch_marked_as_a_correction_is_accepted(amend, jane):
    response = amend.patch(NHS, None, version=1, body=json.dumps({"patches": GENDER_TO_MALE, "correction": False}))
    assert response.status_code == 200, response.json()
    response = amend.patch(NHS, None, version=2, body=json.dumps({"patches": GENDER_TO_MALE, "correction": "yes"}))
    assert (response.status_code, code_of(response)) == (400, "INVALID_VALUE")


def test_the_first_item_of_a_list_the_record_lacks_is_added_at_the_end(amend, make_patient):
    bare = services.create_patient(family="Bare", given=["Ann"], gender="2", birth_date=None, by="t", reason="r")
    response = amend.patch(
        f"/{bare.nhs_number}",
        [
            {"op": "add", "path": "/address/-", "value": {"use": "home", "line": ["23 Mill Lane", "Leeds"]}},
            {"op": "add", "path": "/generalPractitioner/-", "value": {"identifier": {"value": "B82001"}}},
            {
                "op": "add",
                "path": "/extension/-",
                "value": {"url": fhir.PHARMACY_URL, "valueReference": {"identifier": {"value": "FA123"}}},
            },
        ],
        version=1,
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["address"][0]["line"] == ["23 MILL LANE", "LEEDS"]
    assert body["generalPractitioner"][0]["identifier"]["value"] == "B82001"
    assert body["extension"][0]["valueReference"]["identifier"]["value"] == "FA123"
    address = Patient.objects.get(pk=bare.pk).addresses.get()
    assert (address.road, address.post_town, address.house) == ("23 MILL LANE", "LEEDS", "")


# Values that are personal data: none of them may appear in any error the API gives.
SECRETS = ["SMITH", "Smith", "JANE", "1980-05-17", "LS1 4AP", "HIGH STREET", "9434765918", "19800517"]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        # (the request, the Spine code of its 400: a bad id, a bad value, or a patch that cannot apply)
        (lambda a: a.get("/9434765918"), "INVALID_RESOURCE_ID"),
        (lambda a: a.get("", {"family": "Smith", "birthdate": "19800517"}), "INVALID_VALUE"),
        (lambda a: a.get("", {"family": "Smith", "birthdate": "eq1980-05-17", "gender": "SMITH"}), "INVALID_VALUE"),
        (
            lambda a: a.patch(NHS, [{"op": "test", "path": "/name/0/family", "value": "JONES"}, *GENDER_TO_MALE], 1),
            "INVALID_UPDATE",
        ),
        (lambda a: a.patch(NHS, [{"op": "add", "path": "/name/7/given/-", "value": "JANE"}], 1), "INVALID_UPDATE"),
        (lambda a: a.patch(NHS, [{"op": "replace", "path": "/birthDate", "value": "19800517"}], 1), "INVALID_VALUE"),
        (lambda a: a.patch(NHS, [{"op": "replace", "path": "/gender", "value": "SMITH"}], 1), "INVALID_VALUE"),
        (lambda a: a.patch(NHS, [{"op": "remove", "path": "/name/0/family"}], 1), "INVALID_VALUE"),
        (
            lambda a: a.patch(NHS, [{"op": "replace", "path": "/address/0/line", "value": ["HIGH STREET", 3]}], 1),
            "INVALID_VALUE",
        ),
    ],
)
def test_no_error_repeats_the_record_or_the_values_sent(amend, jane, call, code):
    response = call(amend)
    answer = response.json()
    assert (response.status_code, answer["issue"][0]["details"]["coding"][0]["code"]) == (400, code), answer
    text = response.content.decode()
    assert not [secret for secret in SECRETS if secret in text], text
    assert '"resourceType":"Patient"' not in text


def test_x_request_id_is_mandatory_for_read_search_and_patch(read, amend, jane):
    for response in (
        read.get(NHS, HTTP_X_REQUEST_ID=None),
        read.get("", {"family": "Smith", "birthdate": "eq1980-05-17"}, HTTP_X_REQUEST_ID=None),
        amend.patch(NHS, GENDER_TO_MALE, version=1, HTTP_X_REQUEST_ID=None),
    ):
        assert (response.status_code, code_of(response)) == (400, "MISSING_VALUE")
        assert "X-Request-ID" in response.json()["issue"][0]["diagnostics"]
    bad = read.get(NHS, HTTP_X_REQUEST_ID="not-a-uuid")
    assert (bad.status_code, code_of(bad)) == (400, "INVALID_VALUE")
    assert Patient.objects.get(pk=jane.pk).version == 1


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/birthDate", "20101022"),
        ("/birthDate", "2010-10-22T00:00:00+00:00"),
        ("/birthDate", "2010-13-01"),
        ("/birthDate", "22/10/2010"),
    ],
)
def test_birth_dates_only_in_the_specifications_format(amend, jane, path, value):
    response = amend.patch(NHS, [{"op": "replace", "path": path, "value": value}], version=1)
    assert (response.status_code, code_of(response)) == (400, "INVALID_VALUE")


def test_death_dates_only_in_the_specifications_formats(amend, jane):
    notification = {
        "url": fhir.DEATH_URL,
        "extension": [{"url": "deathNotificationStatus", "valueCodeableConcept": {"coding": [{"code": "1"}]}}],
    }

    def died(value, version):
        return amend.patch(
            NHS,
            [
                {"op": "add", "path": "/deceasedDateTime", "value": value},
                {"op": "add", "path": "/extension/-", "value": notification},
            ],
            version=version,
        )

    assert code_of(died("20200101", 1)) == "INVALID_VALUE"
    assert code_of(died("2020-01-01T10:00:00+01:00", 1)) == "INVALID_VALUE"
    assert died("2020-01-01T10:00:00+00:00", 1).json()["deceasedDateTime"] == "2020-01-01T00:00:00+00:00"


@pytest.mark.parametrize("value", ["eq19800517", "19800517", "gt1980-05-17", "eq1980-5-17"])
def test_search_dates_only_in_the_specifications_format(read, jane, value):
    response = read.get("", {"family": "Smith", "birthdate": value})
    assert (response.status_code, code_of(response)) == (400, "INVALID_VALUE")


def test_a_search_that_finds_nobody_has_no_empty_entry_array(read, jane):
    body = read.get("", {"family": "Nobody", "birthdate": "eq1980-05-17"}).json()
    assert (body["resourceType"], body["total"]) == ("Bundle", 0)
    assert "entry" not in body


@pytest.fixture
def jane_with_contacts(amend, jane):
    response = amend.patch(
        NHS,
        [
            {"op": "add", "path": "/telecom/-", "value": {"system": "phone", "use": "mobile", "value": "07700900123"}},
            {
                "op": "add",
                "path": "/telecom/-",
                "value": {"system": "email", "use": "home", "value": "J.S@example.com"},
            },
        ],
        version=1,
    )
    assert response.status_code == 200, response.json()
    return jane


def test_search_results_carry_telecom_and_phone_and_email_filter(read, jane_with_contacts):
    base = {"family": "Smith", "birthdate": "eq1980-05-17"}
    [entry] = read.get("", base).json()["entry"]
    assert {t["system"]: t["value"] for t in entry["resource"]["telecom"]} == {
        "phone": "07700900123",
        "email": "J.S@example.com",
    }
    assert read.get("", {**base, "phone": "07700900123"}).json()["total"] == 1
    assert read.get("", {**base, "email": "j.s@EXAMPLE.com"}).json()["total"] == 1  # emails ignore case
    assert read.get("", {**base, "phone": "07700900999"}).json()["total"] == 0
    fuzzy = {"family": "Smyth", "given": "Jane", "birthdate": "eq1980-05-17", "_fuzzy-match": "true"}
    assert read.get("", {**fuzzy, "phone": "07700900123"}).json()["total"] == 1
    assert read.get("", {**fuzzy, "phone": "07700900999"}).json()["total"] == 0


PREFERENCES = [
    {"url": fhir.PHARMACY_URL, "valueReference": {"identifier": {"system": fhir.ODS_SYSTEM, "value": "FA123"}}},
    {
        "url": fhir.COMMUNICATION_URL,
        "extension": [
            {"url": "language", "valueCodeableConcept": {"coding": [{"system": fhir.LANGUAGE_SYSTEM, "code": "fr"}]}},
            {"url": "interpreterRequired", "valueBoolean": True},
        ],
    },
    {
        "url": fhir.CONTACT_PREFERENCE_URL,
        "extension": [
            {"url": "PreferredWrittenCommunicationFormat", "valueCodeableConcept": {"coding": [{"code": "12"}]}},
            {"url": "PreferredContactMethod", "valueCodeableConcept": {"coding": [{"code": "1"}]}},
            {"url": "PreferredContactTimes", "valueString": "Not after 7pm"},
        ],
    },
]


def test_pharmacy_communication_and_contact_preferences_are_held_and_returned(amend, read, jane):
    response = amend.patch(NHS, [{"op": "add", "path": "/extension/-", "value": e} for e in PREFERENCES], version=1)
    assert response.status_code == 200, response.json()
    patient = Patient.objects.get(pk=jane.pk)
    assert (patient.nominated_pharmacy, patient.language, patient.interpreter_required) == ("FA123", "fr", True)
    assert (patient.preferred_written_format, patient.preferred_contact_method) == ("12", "1")
    assert patient.preferred_contact_times == "Not after 7pm"
    extensions = {e["url"]: e for e in read.get(NHS).json()["extension"]}
    assert extensions[fhir.PHARMACY_URL]["valueReference"]["identifier"]["value"] == "FA123"
    assert extensions[fhir.COMMUNICATION_URL]["extension"][1] == {"url": "interpreterRequired", "valueBoolean": True}
    method = extensions[fhir.CONTACT_PREFERENCE_URL]["extension"][1]["valueCodeableConcept"]["coding"][0]
    assert (method["code"], method["display"]) == ("1", "Letter")
    # A search returns none of them (the specification's search subset).
    [entry] = read.get("", {"family": "Smith", "birthdate": "eq1980-05-17"}).json()["entry"]
    assert "extension" not in entry["resource"]
    # Removed again: the test of its url, then the remove.
    index = next(i for i, e in enumerate(response.json()["extension"]) if e["url"] == fhir.PHARMACY_URL)
    removed = amend.patch(
        NHS,
        [
            {"op": "test", "path": f"/extension/{index}/url", "value": fhir.PHARMACY_URL},
            {"op": "remove", "path": f"/extension/{index}"},
        ],
        version=2,
    )
    assert removed.status_code == 200, removed.json()
    assert Patient.objects.get(pk=jane.pk).nominated_pharmacy == ""


@pytest.mark.parametrize(
    "extension",
    [
        {"url": fhir.PHARMACY_URL, "valueReference": {"identifier": {"value": "A"}}},
        {"url": fhir.COMMUNICATION_URL, "extension": [{"url": "interpreterRequired", "valueBoolean": "yes"}]},
        {
            "url": fhir.CONTACT_PREFERENCE_URL,
            "extension": [{"url": "PreferredContactMethod", "valueCodeableConcept": {"coding": [{"code": "9"}]}}],
        },
    ],
)
def test_preferences_outside_the_specifications_codes_are_refused(amend, jane, extension):
    response = amend.patch(NHS, [{"op": "add", "path": "/extension/-", "value": extension}], version=1)
    assert (response.status_code, code_of(response)) == (400, "INVALID_VALUE")
