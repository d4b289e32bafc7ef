"""The demographic master as FHIR R4 Patient resources, shaped like the national PDS FHIR API.

Pure mapping: records in, JSON-ready dicts out (and back, for PATCH, in pds/fhir_patch.py). The
shapes, systems and codes follow the PDS FHIR specification; see docs/ and pds/api.py for the HTTP side.
"""

import datetime as dt
import re
from typing import Any

from .models import DeathStatus, Patient

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SPINE_ERROR_SYSTEM = "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode"
CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
VERIFICATION_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
VERIFICATION_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus"
DEATH_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeathNotificationStatus"
DEATH_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DeathNotificationStatus"
BIRTH_PLACE_URL = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
PHARMACY_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NominatedPharmacy"
COMMUNICATION_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSCommunication"
LANGUAGE_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-HumanLanguage"
CONTACT_PREFERENCE_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-ContactPreference"
WRITTEN_FORMAT_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-PreferredWrittenCommunicationFormat"
CONTACT_METHOD_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-PreferredContactMethod"
WRITTEN_FORMATS = {"11": "Large print", "12": "Braille", "13": "Audio tape"}
CONTACT_METHODS = {
    "1": "Letter",
    "2": "Visit",
    "3": "Telephone",
    "4": "E-mail",
    "5": "Minicom (Textphone)",
    "6": "Telephone contact via proxy",
    "7": "Sign language",
    "8": "No Telephone contact",
}

# GP Links / Data Dictionary codes <-> FHIR administrative gender.
GENDER_TO_FHIR = {"0": "unknown", "1": "male", "2": "female", "9": "other"}
FHIR_TO_GENDER = {v: k for k, v in GENDER_TO_FHIR.items()}
DEATH_TO_FHIR = {
    DeathStatus.INFORMAL: (
        "1",
        "Informal - death notice received via an update from a local NHS Organisation such as GP or Trust",
    ),
    DeathStatus.FORMAL: ("2", "Formal - death notice received from Registrar of Deaths"),
}
FHIR_TO_DEATH = {code: status for status, (code, _) in DEATH_TO_FHIR.items()}

# Spine error code -> (HTTP status, FHIR issue code, severity, display), from the PDS specification.
SPINE_ERRORS: dict[str, tuple[int, str, str, str]] = {
    "INVALID_RESOURCE_ID": (400, "value", "error", "Resource Id is invalid"),
    "UNSUPPORTED_SERVICE": (400, "processing", "error", "Unsupported Service"),
    "MISSING_VALUE": (400, "required", "error", "Required value is missing"),
    "INVALID_VALUE": (400, "value", "error", "Provided value is invalid"),
    "INVALID_SEARCH_DATA": (400, "value", "error", "Search data is invalid"),
    "ADDITIONAL_PROPERTIES": (400, "invariant", "error", "Additional properties should not be included"),
    "INVALID_UPDATE": (400, "structure", "error", "Update is invalid"),
    "ACCESS_DENIED": (403, "forbidden", "error", "Access has been denied to process this request"),
    "FORBIDDEN_UPDATE": (403, "forbidden", "error", "Forbidden update with the requested changes"),
    "RESOURCE_NOT_FOUND": (404, "not-found", "information", "Resource not found"),
    "NOT_FOUND": (404, "not-found", "error", "The requested URL was not found"),
    "METHOD_NOT_ALLOWED": (405, "not-supported", "error", "Method not allowed"),
    "RESOURCE_VERSION_MISMATCH": (409, "conflict", "error", "Resource version supplied does not match actual version"),
    "PRECONDITION_FAILED": (412, "structure", "error", "Required condition was not fulfilled"),
    "TOO_MANY_MATCHES": (200, "multiple-matches", "information", "Too Many Matches"),
    # A create refused because PDS already holds the person (the create endpoint's 200 answers).
    "SINGLE_MATCH": (200, "informational", "information", "Single match found"),
    "MULTIPLE_MATCHES": (200, "multiple-matches", "information", "Multiple matches found"),
    # Not in the PDS specification's table; answered so that no error is ever an HTML page.
    "REQUEST_TOO_LARGE": (413, "too-long", "error", "The request body is too large"),
    "SERVICE_UNAVAILABLE": (503, "transient", "error", "Service unavailable"),
    "SERVER_ERROR": (500, "exception", "error", "Unexpected internal server error"),
}


def operation_outcome(code: str, diagnostics: str = "") -> tuple[int, dict[str, Any]]:
    status, issue_code, severity, display = SPINE_ERRORS[code]
    issue: dict[str, Any] = {
        "severity": severity,
        "code": issue_code,
        "details": {"coding": [{"system": SPINE_ERROR_SYSTEM, "version": "1", "code": code, "display": display}]},
    }
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return status, {"resourceType": "OperationOutcome", "issue": [issue]}


def etag(version: int) -> str:
    return f'W/"{version}"'


def _period(start: dt.date | None, end: dt.date | None) -> dict[str, str]:
    period = {}
    if start:
        period["start"] = start.isoformat()
    if end:
        period["end"] = end.isoformat()
    return period


def _with_period(item: dict[str, Any], start, end) -> dict[str, Any]:
    period = _period(start, end)
    if period:
        item["period"] = period
    return item


def name_resource(name) -> dict[str, Any]:
    item: dict[str, Any] = {"id": str(name.pk), "use": name.use}
    _with_period(item, name.start, name.end)
    if name.given:
        item["given"] = list(name.given)
    item["family"] = name.family
    if name.prefix:
        item["prefix"] = [name.prefix]
    return item


# Counties that appear as the last line of English and Welsh addresses. PDS drops empty lines, so
# a line's position does not say what it is: a known county on the last line is the county.
COUNTIES = frozenset(
    {
        "AVON",
        "BEDFORDSHIRE",
        "BERKSHIRE",
        "BUCKINGHAMSHIRE",
        "CAMBRIDGESHIRE",
        "CHESHIRE",
        "CLEVELAND",
        "CORNWALL",
        "CUMBRIA",
        "DERBYSHIRE",
        "DEVON",
        "DORSET",
        "DURHAM",
        "ESSEX",
        "GLOUCESTERSHIRE",
        "HAMPSHIRE",
        "HEREFORDSHIRE",
        "HERTFORDSHIRE",
        "KENT",
        "LANCASHIRE",
        "LEICESTERSHIRE",
        "LINCOLNSHIRE",
        "MERSEYSIDE",
        "MIDDLESEX",
        "NORFOLK",
        "NORTHAMPTONSHIRE",
        "NORTHUMBERLAND",
        "NOTTINGHAMSHIRE",
        "OXFORDSHIRE",
        "RUTLAND",
        "SHROPSHIRE",
        "SOMERSET",
        "STAFFORDSHIRE",
        "SUFFOLK",
        "SURREY",
        "WARWICKSHIRE",
        "WILTSHIRE",
        "WORCESTERSHIRE",
        "ANGLESEY",
        "CARMARTHENSHIRE",
        "CEREDIGION",
        "CONWY",
        "DENBIGHSHIRE",
        "FLINTSHIRE",
        "GWYNEDD",
        "MONMOUTHSHIRE",
        "PEMBROKESHIRE",
        "POWYS",
        "COUNTY DURHAM",
        "EAST SUSSEX",
        "WEST SUSSEX",
        "EAST YORKSHIRE",
        "EAST RIDING OF YORKSHIRE",
        "NORTH YORKSHIRE",
        "SOUTH YORKSHIRE",
        "WEST YORKSHIRE",
        "GREATER LONDON",
        "GREATER MANCHESTER",
        "ISLE OF WIGHT",
        "ISLE OF MAN",
        "TYNE AND WEAR",
        "WEST MIDLANDS",
        "MID GLAMORGAN",
        "SOUTH GLAMORGAN",
        "WEST GLAMORGAN",
        "ISLE OF ANGLESEY",
    }
)
# A street line starts with a house number ("23 Mill Lane", "23A Mill Lane", "23-25 Mill Lane");
# a premises line names a building or a flat ("Rose Cottage", "Flat 3").
STREET_LINE = re.compile(r"^\s*\d+[A-Z]?(\s*-\s*\d+[A-Z]?)?\b(?!\s*$)", re.IGNORECASE)
PREMISES_LINE = re.compile(r"^\s*(flat|apartment|unit|room|suite)\b", re.IGNORECASE)


def address_fields(lines: list[str]) -> dict[str, str]:
    """PDS address lines as PCRM's five fields (premises, street, locality, post town, county).

    PDS's convention is those five in that order, but it removes empty lines, so
    ["23 Mill Lane", "Leeds"] is a street and a post town, not a premises and a street. Five lines
    are positional; fewer are read by content: a known county on the last line, then the post town
    last, then the street (the line with the house number) and what is around it.
    """
    lines = [line.strip() for line in lines if line and line.strip()][:5]
    keys = ("house", "road", "locality", "post_town", "county")
    if len(lines) == 5:
        return dict(zip(keys, lines, strict=True))
    fields = dict.fromkeys(keys, "")
    if len(lines) >= 2 and lines[-1].upper() in COUNTIES:
        fields["county"] = lines.pop()
    if len(lines) >= 2 or (lines and not STREET_LINE.match(lines[0])):
        fields["post_town"] = lines.pop()
    if len(lines) == 3:
        fields["house"], fields["road"], fields["locality"] = lines
    elif len(lines) == 2:
        first, second = lines
        if STREET_LINE.match(first) and not PREMISES_LINE.match(first) and not STREET_LINE.match(second):
            fields["road"], fields["locality"] = first, second
        else:
            fields["house"], fields["road"] = first, second
    elif len(lines) == 1:
        fields["house" if PREMISES_LINE.match(lines[0]) else "road"] = lines[0]
    return fields


def address_lines(address: dict[str, str]) -> list[str]:
    """PCRM's five fields as PDS address lines: in PDS's order, empty ones left out (PDS drops them)."""
    keys = ("house", "road", "locality", "post_town", "county")
    return [address[k].strip() for k in keys if (address.get(k) or "").strip()]


def address_resource(address) -> dict[str, Any]:
    item: dict[str, Any] = {"id": str(address.pk), "use": "home"}
    _with_period(item, address.start, address.end)
    # PDS line conventions: premises, street, locality, post town, county, empty lines left out.
    lines = address_lines({k: getattr(address, k) for k in ("house", "road", "locality", "post_town", "county")})
    if lines:
        item["line"] = lines
    if address.postcode:
        item["postalCode"] = address.postcode
    return item


def telecom_resource(telecom) -> dict[str, Any]:
    item: dict[str, Any] = {"id": str(telecom.pk), "system": telecom.system, "use": telecom.use, "value": telecom.value}
    return _with_period(item, telecom.start, telecom.end)


def gp_resource(period) -> dict[str, Any]:
    return {
        "id": str(period.pk),
        "type": "Organization",
        "identifier": {"system": ODS_SYSTEM, "value": period.practice_ods, "period": _period(period.start, None)},
    }


def patient_resource(patient: Patient, *, restricted_view: bool = False, search_subset: bool = False) -> dict:
    """The Patient resource for `patient`.

    `restricted_view`: the reader may not see a restricted (S-flagged) record's address, contact
    details, registered GP or place of birth; they are left out, as PDS does.
    `search_subset`: what a search returns: usual, nickname and temp names, the home address only,
    no place of birth.
    """
    hide = patient.sensitive and restricted_view
    names = sorted(patient.names.all(), key=lambda n: (n.use != "usual", n.end is not None, n.pk))
    if search_subset:
        names = [n for n in names if n.use in ("usual", "nickname", "temp") and n.end is None]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient.nhs_number,
        "identifier": [
            {
                "system": NHS_NUMBER_SYSTEM,
                "value": patient.nhs_number,
                "extension": [
                    {
                        "url": VERIFICATION_URL,
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": VERIFICATION_SYSTEM,
                                    "version": "1.0.0",
                                    "code": "01",
                                    "display": "Number present and verified",
                                }
                            ]
                        },
                    }
                ],
            }
        ],
        "meta": {
            "versionId": str(patient.version),
            "security": [
                {"system": CONFIDENTIALITY_SYSTEM, "code": "R", "display": "restricted"}
                if patient.sensitive
                else {"system": CONFIDENTIALITY_SYSTEM, "code": "U", "display": "unrestricted"}
            ],
        },
        "name": [name_resource(n) for n in names],
        "gender": GENDER_TO_FHIR.get(patient.gender, "unknown"),
    }
    if patient.birth_date:
        resource["birthDate"] = patient.birth_date.isoformat()
    if patient.death_date:
        resource["deceasedDateTime"] = f"{patient.death_date.isoformat()}T00:00:00+00:00"
    if not hide:
        addresses = [a for a in patient.addresses.all() if a.end is None]
        if addresses:
            resource["address"] = [address_resource(a) for a in sorted(addresses, key=lambda a: a.pk)]
        # Contact details are part of a search result too (the specification's search subset).
        telecoms = [t for t in patient.telecoms.all() if t.end is None]
        if telecoms:
            resource["telecom"] = [telecom_resource(t) for t in sorted(telecoms, key=lambda t: t.pk)]
        current_gp = next((p for p in patient.gp_periods.all() if p.end is None), None)
        if current_gp:
            resource["generalPractitioner"] = [gp_resource(current_gp)]
    extensions = []
    if patient.death_status:
        code, display = DEATH_TO_FHIR[patient.death_status]
        extensions.append(
            {
                "url": DEATH_URL,
                "extension": [
                    {
                        "url": "deathNotificationStatus",
                        "valueCodeableConcept": {
                            "coding": [{"system": DEATH_SYSTEM, "version": "1.0.0", "code": code, "display": display}]
                        },
                    }
                ],
            }
        )
    if patient.place_of_birth and not hide and not search_subset:
        extensions.append({"url": BIRTH_PLACE_URL, "valueAddress": {"city": patient.place_of_birth}})
    if not search_subset:  # a search returns no pharmacy, communication or contact preferences
        extensions += preference_extensions(patient, hide_pharmacy=hide)
    if extensions:
        resource["extension"] = extensions
    return resource


def preference_extensions(patient: Patient, *, hide_pharmacy: bool = False) -> list[dict[str, Any]]:
    """Nominated pharmacy (hidden on a restricted record, as PDS hides it), communication and
    contact preferences, in the shapes of the specification's extensions."""
    extensions: list[dict[str, Any]] = []
    if patient.nominated_pharmacy and not hide_pharmacy:
        extensions.append(
            {
                "url": PHARMACY_URL,
                "valueReference": {"identifier": {"system": ODS_SYSTEM, "value": patient.nominated_pharmacy}},
            }
        )
    communication: list[dict[str, Any]] = []
    if patient.language:
        coding = {"system": LANGUAGE_SYSTEM, "version": "1.0.0", "code": patient.language}
        communication.append({"url": "language", "valueCodeableConcept": {"coding": [coding]}})
    if patient.interpreter_required is not None:
        communication.append({"url": "interpreterRequired", "valueBoolean": patient.interpreter_required})
    if communication:
        extensions.append({"url": COMMUNICATION_URL, "extension": communication})
    preferences: list[dict[str, Any]] = []
    for url, system, names, code in (
        (
            "PreferredWrittenCommunicationFormat",
            WRITTEN_FORMAT_SYSTEM,
            WRITTEN_FORMATS,
            patient.preferred_written_format,
        ),
        ("PreferredContactMethod", CONTACT_METHOD_SYSTEM, CONTACT_METHODS, patient.preferred_contact_method),
    ):
        if code:
            coding = {"system": system, "code": code, "display": names[code]}
            preferences.append({"url": url, "valueCodeableConcept": {"coding": [coding]}})
    if patient.preferred_contact_times:
        preferences.append({"url": "PreferredContactTimes", "valueString": patient.preferred_contact_times})
    if preferences:
        extensions.append({"url": CONTACT_PREFERENCE_URL, "extension": preferences})
    return extensions


def search_bundle(entries: list[tuple[dict, float]], *, base_url: str, timestamp: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": timestamp.replace(microsecond=0).isoformat(),
        "total": len(entries),
        # FHIR forbids empty arrays: a search that found nobody has no "entry" at all.
        **(
            {
                "entry": [
                    {"fullUrl": f"{base_url}/{resource['id']}", "search": {"score": score}, "resource": resource}
                    for resource, score in entries
                ]
            }
            if entries
            else {}
        ),
    }
