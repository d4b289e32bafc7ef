"""The FHIR R4 Patient API at /pds/FHIR/R4/Patient, answering as the national PDS does.

Read (`GET /Patient/{nhs}`), search (`GET /Patient?...`) and update (`PATCH /Patient/{nhs}` with
If-Match). Plain Django views returning JSON: they authenticate for themselves (bearer token or
session; pds/auth.py), so they are exempt from the login redirect and from CSRF for token callers.
Every answer that is not a Patient or a Bundle is an OperationOutcome with PDS's Spine error code.
Reads and amendments are separate permissions, and every one is audited.
"""

import datetime as dt
import functools
import json
import logging
import re

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from core import nhs_number as nhs
from core.roles import Perm

from . import audit, fhir, fhir_patch, selectors, services, trace
from .auth import NotAuthenticated, authenticate, csrf_failure
from .selectors import MAX_RESULTS, Search

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
READ_PERMISSION = Perm.VIEW_PATIENT_RECORD
AMEND_PERMISSION = Perm.AMEND_PATIENT_RECORD
SENSITIVE_PERMISSION = Perm.VIEW_SENSITIVE_RECORD
SEARCH_PARAMS = {
    "family",
    "given",
    "gender",
    "birthdate",
    "death-date",
    "address-postalcode",
    "address-postcode",
    "general-practitioner",
    "email",
    "phone",
    "_fuzzy-match",
    "_exact-match",
    "_history",
    "_max-results",
}
IF_MATCH = re.compile(r'^W/"(\d+)"$')
# The specification's patterns: a UUID request id, and a search date "<eq|ge|le>yyyy-mm-dd" (the
# prefix may be left out for eq, as the sandbox allows). 20101022 is not a date here.
REQUEST_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SEARCH_DATE = re.compile(r"^(eq|ge|le)?([12]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))$")


class FhirError(Exception):
    def __init__(self, code: str, diagnostics: str = "", status: int | None = None):
        super().__init__(diagnostics or code)
        self.code = code
        self.diagnostics = diagnostics
        self.status = status


def _respond(request, status: int, body: dict, *, version: int | None = None) -> JsonResponse:
    response = JsonResponse(body, status=status, content_type=FHIR_JSON, json_dumps_params={"separators": (",", ":")})
    for header in ("X-Request-ID", "X-Correlation-ID"):
        if request.headers.get(header):
            response[header] = request.headers[header]
    if version is not None:
        response["ETag"] = fhir.etag(version)
    return response


def _outcome(request, code: str, diagnostics: str = "", status: int | None = None) -> JsonResponse:
    default_status, body = fhir.operation_outcome(code, diagnostics)
    response = _respond(request, status or default_status, body)
    if response.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="pds"'
    return response


def _method_not_allowed(request, allowed: str) -> JsonResponse:
    """405 with the Allow header HTTP requires of it (RFC 9110 15.5.6), naming what the path takes."""
    response = _outcome(request, "METHOD_NOT_ALLOWED", f"{request.method} is not supported here ({allowed})")
    response["Allow"] = allowed
    return response


MAX_JSON_DEPTH = 16
# Characters PostgreSQL text cannot hold (NUL) and other control characters: refused in any string.
UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _json_body(request):
    """The request body as JSON, or FhirError: too large, not JSON, nested too deeply, or holding a
    character that cannot be stored. Nothing of the body is echoed back."""
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise FhirError("REQUEST_TOO_LARGE", "Invalid patch - the body is too large") from exc
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise FhirError("INVALID_UPDATE", "Invalid patch - the body is not valid JSON") from exc
    except RecursionError as exc:
        raise FhirError("INVALID_UPDATE", f"Invalid patch - nested deeper than {MAX_JSON_DEPTH} levels") from exc
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise FhirError("INVALID_UPDATE", f"Invalid patch - nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, str) and UNSTORABLE.search(value):
            raise FhirError("INVALID_UPDATE", "Invalid patch - a value contains a character that cannot be stored")
        if isinstance(value, dict):
            stack += [(k, depth) for k in value] + [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
    return body


def fhir_errors(view):
    """Every answer of the FHIR API is FHIR: an error the view did not foresee is an OperationOutcome too
    (503 when the database is unavailable), never Django's HTML error page. Its message is not echoed."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except FhirError as exc:
            return _outcome(request, exc.code, exc.diagnostics, exc.status)
        except OperationalError:
            logger.exception("FHIR API: the database is unavailable")
            return _outcome(request, "SERVICE_UNAVAILABLE", "The service is unavailable; try again later")
        except Exception:
            logger.exception("FHIR API: unexpected error")
            return _outcome(request, "SERVER_ERROR", "Unexpected error; it has been logged")

    return wrapper


def _prepare(request, permission: str):
    """Check the request id, authenticate and authorise: the user, or raise FhirError.

    X-Request-ID is mandatory in the specification (PDS de-duplicates and traces by it): without it
    the answer is 400 MISSING_VALUE, for reads, searches and updates alike.
    """
    request_id = request.headers.get("X-Request-ID")
    if request_id is None:
        raise FhirError(
            "MISSING_VALUE", "Invalid request with error - X-Request-ID header must be supplied to access this resource"
        )
    if not REQUEST_ID.match(request_id):
        raise FhirError("INVALID_VALUE", f"Invalid value - '{request_id[:64]}' in header 'X-Request-ID'")
    try:
        user = authenticate(request)
    except NotAuthenticated as exc:
        raise FhirError("ACCESS_DENIED", str(exc), status=401) from exc
    if not user.has_perm(permission):
        raise FhirError("ACCESS_DENIED", f"The caller lacks the permission {permission}")
    return user


def _check_nhs_number(value: str) -> None:
    # Not echoed: a mistyped NHS number is still somebody's identifier.
    if not nhs.is_valid(value):
        raise FhirError("INVALID_RESOURCE_ID", "Invalid resource ID - not a valid NHS number")


def _base_url(request) -> str:
    return request.build_absolute_uri(reverse("pds:fhir-search"))


# --- /Patient/{id} -----------------------------------------------------------------------------------


@csrf_exempt
@login_not_required
@fhir_errors
def patient(request, nhs_number: str):
    try:
        if request.method == "GET":
            return _read(request, nhs_number)
        if request.method == "PATCH":
            return _patch(request, nhs_number)
        return _method_not_allowed(request, "GET, PATCH")
    except FhirError as exc:
        return _outcome(request, exc.code, exc.diagnostics, exc.status)


def _lookup(nhs_number: str) -> selectors.Lookup:
    try:
        return selectors.get_patient(nhs_number)
    except services.PatientNotFound as exc:
        raise FhirError("RESOURCE_NOT_FOUND", "Patient record not found") from exc


def _read(request, nhs_number: str) -> JsonResponse:
    user = _prepare(request, READ_PERMISSION)
    if request.GET:
        raise FhirError("ADDITIONAL_PROPERTIES", f"Unexpected query parameters: {', '.join(sorted(request.GET))}")
    _check_nhs_number(nhs_number)
    lookup = _lookup(nhs_number)
    found = lookup.patient
    restricted = not user.has_perm(SENSITIVE_PERMISSION)
    detail = {"superseded_from": lookup.superseded_from} if lookup.superseded_from else {}
    audit.record(
        action=audit.API_READ,
        user=user,
        nhs_number=found.nhs_number,
        detail=detail,
        role=request.pds_role,
        wait_for_disk=False,
    )
    resource = fhir.patient_resource(found, restricted_view=restricted)
    return _respond(request, 200, resource, version=found.version)


def _if_match(request) -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise FhirError("PRECONDITION_FAILED", "Invalid update with error - If-Match header must be supplied")
    match = IF_MATCH.match(header.strip())
    if not match:
        raise FhirError("PRECONDITION_FAILED", f'Invalid If-Match header - "{header}" is not W/"<versionId>"')
    return int(match.group(1))


def _patch(request, nhs_number: str) -> JsonResponse:
    user = _prepare(request, AMEND_PERMISSION)
    if reason := csrf_failure(request):
        raise FhirError("ACCESS_DENIED", reason)
    _check_nhs_number(nhs_number)
    content_type = request.content_type or ""
    if content_type != JSON_PATCH:
        raise FhirError("INVALID_VALUE", f"Invalid Content-Type - PATCH takes {JSON_PATCH}, not '{content_type}'")
    version = _if_match(request)
    lookup = _lookup(nhs_number)
    found = lookup.patient
    if found.sensitive and not user.has_perm(SENSITIVE_PERMISSION):
        raise FhirError("FORBIDDEN_UPDATE", "The record is restricted; the caller may not update it")
    if version != found.version:
        raise FhirError(
            "RESOURCE_VERSION_MISMATCH", f"Invalid update with error - version {version} is not the current version"
        )
    body = _json_body(request)
    before = fhir.patient_resource(found)
    try:
        patched = fhir_patch.apply(before, fhir_patch.parse_body(body))
        changes = fhir_patch.changes_between(before, patched)
    except fhir_patch.PatchRejected as exc:
        raise FhirError(exc.code, f"Invalid update with error - {exc.diagnostics}") from exc
    request_ref = request.headers["X-Request-ID"]
    reason = f"FHIR PATCH request {request_ref}"
    correlation = request.headers.get("X-Correlation-ID", "").strip()
    if correlation and correlation != request_ref:
        reason += f": {correlation[:200]}"
    try:
        services.apply_changes(
            found,
            changes,
            expected_version=version,
            by=user.get_username(),
            reason=reason,
            user=user,
        )
    except services.VersionConflict as exc:
        raise FhirError(
            "RESOURCE_VERSION_MISMATCH", "Invalid update with error - the record changed meanwhile"
        ) from exc
    except services.ForbiddenUpdate as exc:
        raise FhirError("FORBIDDEN_UPDATE", f"Forbidden update with error - {exc}") from exc
    except services.InvalidChange as exc:
        raise FhirError("INVALID_UPDATE", f"Invalid update with error - {exc}") from exc
    audit.record(
        action=audit.API_AMEND,
        user=user,
        nhs_number=found.nhs_number,
        detail={"request": request_ref},
        role=request.pds_role,
    )
    logger.info("PDS record amended through the FHIR API (request %s)", request_ref)
    updated = selectors.get_patient(found.nhs_number).patient
    return _respond(request, 200, fhir.patient_resource(updated), version=updated.version)


# --- POST /Patient ---------------------------------------------------------------------------------------


def _create(request) -> JsonResponse:
    """Create a record for a new patient, with a newly allocated NHS number, unless PDS already holds a
    record that matches (then 200 with SINGLE_MATCH or MULTIPLE_MATCHES, and nothing is created)."""
    user = _prepare(request, AMEND_PERMISSION)
    if reason := csrf_failure(request):
        raise FhirError("ACCESS_DENIED", reason)
    try:
        body = json.loads(request.body or b"null")
        name = body["name"][0]
        gender = fhir.FHIR_TO_GENDER[body.get("gender", "unknown")]
        birth_date = dt.date.fromisoformat(body["birthDate"])
    except (ValueError, UnicodeDecodeError, KeyError, IndexError, TypeError) as exc:
        raise FhirError("INVALID_VALUE", "Invalid create - a Patient needs a name, a gender and a birthDate") from exc
    address = (body.get("address") or [None])[0]
    values = None
    if address:
        # PDS leaves empty lines out, so fewer than five are read by content, as everywhere else.
        values = fhir.address_fields(address.get("line") or [])
        values["postcode"] = address.get("postalCode", "")
    place = next((e for e in body.get("extension", []) if e.get("url") == fhir.BIRTH_PLACE_URL), {})
    query = trace.TraceQuery(
        surname=name.get("family", ""),
        forenames=tuple(name.get("given", [])),
        gender=gender,
        birth_date=birth_date,
        postcode=(values or {}).get("postcode", ""),
    )
    found = trace.trace(query, max_results=2, supplied_only=True)
    if found.outcome in (trace.MATCH, trace.MULTIPLE):
        code = "SINGLE_MATCH" if found.outcome == trace.MATCH else "MULTIPLE_MATCHES"
        return _outcome(request, code, "A record for this person already exists; nothing was created")
    request_ref = request.headers["X-Request-ID"]
    correlation = request.headers.get("X-Correlation-ID", "").strip()
    try:
        created = services.create_patient(
            family=name.get("family", ""),
            given=list(name.get("given", [])),
            prefix=(name.get("prefix") or [""])[0],
            gender=gender,
            birth_date=birth_date,
            place_of_birth=place.get("valueAddress", {}).get("city", ""),
            address=values,
            by=user.get_username(),
            reason=f"FHIR create request {request_ref}" + (f": {correlation[:200]}" if correlation else ""),
            user=user,
        )
    except services.InvalidChange as exc:
        raise FhirError("INVALID_VALUE", f"Invalid create - {exc}") from exc
    audit.record(
        action=audit.API_CREATE,
        user=user,
        nhs_number=created.nhs_number,
        detail={"request": request_ref},
        role=request.pds_role,
    )
    created = selectors.get_patient(created.nhs_number).patient
    return _respond(request, 201, fhir.patient_resource(created), version=created.version)


# --- /Patient?... --------------------------------------------------------------------------------------


def _bool(params, name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise FhirError("INVALID_VALUE", f"Invalid value in field '{name}' (true or false)")
    return value.lower() == "true"


def _date_range(values: list[str], name: str) -> tuple[dt.date | None, dt.date | None]:
    if len(values) > 2:
        raise FhirError("INVALID_SEARCH_DATA", f"Invalid search data - at most two '{name}' values (a range)")
    lo = hi = None
    for value in values:
        # The value is not repeated in the diagnostic: a birth date is personal data.
        match = SEARCH_DATE.match(value)
        try:
            if not match:
                raise ValueError(name)
            prefix, day = match.group(1) or "eq", dt.date.fromisoformat(match.group(2))
        except ValueError as exc:
            raise FhirError(
                "INVALID_VALUE", f"Invalid value in field '{name}' - the format is <eq|ge|le>yyyy-mm-dd"
            ) from exc
        if prefix in ("eq", "ge"):
            lo = day
        if prefix in ("eq", "le"):
            hi = day
    return lo, hi


def parse_search(params) -> Search:
    if not params:
        raise FhirError("UNSUPPORTED_SERVICE", "Unsupported service - a search needs parameters")
    unknown = sorted(set(params) - SEARCH_PARAMS)
    if unknown:
        raise FhirError(
            "ADDITIONAL_PROPERTIES", f"Invalid request with error - unknown parameter(s): {', '.join(unknown)}"
        )
    if "address-postalcode" in params and "address-postcode" in params:
        raise FhirError("INVALID_SEARCH_DATA", "Use address-postalcode only (address-postcode is deprecated)")
    search = Search(
        fuzzy=_bool(params, "_fuzzy-match"), exact=_bool(params, "_exact-match"), history=_bool(params, "_history")
    )
    if "_max-results" in params:
        raw = params["_max-results"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_RESULTS:
            raise FhirError("INVALID_VALUE", f"Invalid value in field '_max-results' (1 to {MAX_RESULTS})")
        search.max_results = int(raw)
    search.family = params.get("family", "").strip().upper()
    if len(search.family) > 35:
        raise FhirError("INVALID_VALUE", "Invalid value in field 'family' - at most 35 characters")
    search.given = [g.strip().upper() for g in params.getlist("given") if g.strip()]
    if len(search.given) > 5:
        raise FhirError("INVALID_VALUE", "Invalid value - at most 5 'given' names")
    for name, value in [("family", search.family), *[("given", g) for g in search.given]]:
        if "*" in value and (search.fuzzy or value.index("*") < 2):
            raise FhirError(
                "INVALID_SEARCH_DATA",
                f"Invalid search data - wildcard in '{name}' (not in the first 2 characters or fuzzy)",
            )
    if "gender" in params:
        if params["gender"] not in fhir.FHIR_TO_GENDER:
            raise FhirError("INVALID_VALUE", "Invalid value in field 'gender' - male, female, other or unknown")
        search.gender = fhir.FHIR_TO_GENDER[params["gender"]]
    search.birth_from, search.birth_to = _date_range(params.getlist("birthdate"), "birthdate")
    search.death_from, search.death_to = _date_range(params.getlist("death-date"), "death-date")
    postcode = params.get("address-postalcode") or params.get("address-postcode") or ""
    search.postcode = postcode.strip().upper()
    search.gp = params.get("general-practitioner", "").strip().upper()
    search.email = params.get("email", "").strip()
    search.phone = params.get("phone", "").strip()
    _check_combination(search)
    return search


def _check_combination(search: Search) -> None:
    has_birth = search.birth_from is not None or search.birth_to is not None
    if search.fuzzy:
        combos = (
            bool(search.given and search.family and has_birth),
            bool(search.family and has_birth and search.gender and search.postcode),
            bool(search.given and has_birth and search.gender and search.postcode),
        )
        if not any(combos):
            raise FhirError(
                "INVALID_SEARCH_DATA",
                "Invalid search data - a fuzzy search needs given+family+birthdate, family+birthdate+gender+postcode "
                "or given+birthdate+gender+postcode",
            )
        return
    if search.email or search.phone:
        return
    if not has_birth:
        raise FhirError("MISSING_VALUE", "Missing value - 'birthdate' is required for a non-fuzzy search")
    if not search.family:
        raise FhirError(
            "INVALID_SEARCH_DATA", "Invalid search data - a non-fuzzy search needs 'family' and 'birthdate'"
        )


@csrf_exempt
@login_not_required
@fhir_errors
def patient_search(request):
    if request.method == "POST":
        try:
            return _create(request)
        except FhirError as exc:
            return _outcome(request, exc.code, exc.diagnostics, exc.status)
    try:
        if request.method != "GET":
            return _method_not_allowed(request, "GET, POST")
        user = _prepare(request, READ_PERMISSION)
        search = parse_search(request.GET)
        scored = selectors.search_patients(search)
    except FhirError as exc:
        return _outcome(request, exc.code, exc.diagnostics, exc.status)
    if search.exact:
        scored = [(p, s) for p, s in scored if s >= 1.0]
    if len(scored) > search.max_results:
        audit.record(
            action=audit.API_SEARCH,
            user=user,
            detail={"outcome": "TOO_MANY_MATCHES", "results": []},
            role=request.pds_role,
            wait_for_disk=False,
        )
        status, body = fhir.operation_outcome("TOO_MANY_MATCHES")
        return _respond(request, status, body)
    restricted = not user.has_perm(SENSITIVE_PERMISSION)
    entries = [(fhir.patient_resource(p, restricted_view=restricted, search_subset=True), s) for p, s in scored]
    audit.record(
        action=audit.API_SEARCH,
        user=user,
        detail={"results": [p.nhs_number for p, _ in scored]},
        role=request.pds_role,
        wait_for_disk=False,
    )
    bundle = fhir.search_bundle(entries, base_url=_base_url(request), timestamp=timezone.now())
    return _respond(request, 200, bundle)


@csrf_exempt
@login_not_required
@fhir_errors
def not_found(request, path: str = ""):
    """Anything else under the FHIR base: PDS answers with an OperationOutcome, not an HTML page."""
    return _outcome(request, "NOT_FOUND", "No such FHIR endpoint")
