"""HTTP client for a PDS FHIR R4 endpoint (ours on another host, or NHS England's PDS).

One class, explicit timeouts, typed errors (pds/errors.py), and PDS's retry rules: a busy (429)
or unavailable (5xx) answer, a timeout or a dropped connection is transient and retried with
exponential backoff (Retry-After wins when given), reusing the same X-Request-ID so the server
can recognise a repeat. Authentication is pluggable (pds/oauth.py): a 401 drops the cached token
and the request is sent once more with a fresh one. Response bodies and NHS numbers are never logged.
"""

import json
import logging
import time
import uuid
from typing import Any

import requests
from django.dispatch import Signal

from . import errors, oauth

logger = logging.getLogger(__name__)

# Sent after every call to PDS (all its attempts) with the HTTP method, the seconds it took and its outcome:
# "ok" or the PdsError's class name. The ops app turns it into the PDS latency and error metrics.
pds_call = Signal()

FHIR_JSON = "application/fhir+json"
# PDS's access modes (docs/pds.md): application-restricted searches return one unique match at most
# and may not update; healthcare-worker (user-restricted) access may return up to 50 and update.
APPLICATION_RESTRICTED = "application-restricted"
HEALTHCARE_WORKER = "healthcare-worker"
ACCESS_MODES = (APPLICATION_RESTRICTED, HEALTHCARE_WORKER)


class PdsClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        auth: oauth.Auth | None = None,
        access_mode: str = "healthcare-worker",
        trace_max_results: int = 10,
        end_user_ods: str = "",
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_attempts: int = 3,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        sleep=time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.auth = auth or (oauth.StaticToken(token) if token else oauth.NoAuth())
        if access_mode not in ACCESS_MODES:
            raise ValueError(f"access_mode must be one of {', '.join(ACCESS_MODES)}")
        self.access_mode = access_mode
        self._trace_max_results = trace_max_results
        self.end_user_ods = end_user_ods
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.session = session or requests.Session()
        self._sleep = sleep

    @classmethod
    def from_settings(cls) -> "PdsClient":
        from django.conf import settings

        return cls(
            settings.PDS_FHIR_URL,
            auth=oauth.from_settings(),
            access_mode=settings.PDS_ACCESS_MODE,
            trace_max_results=settings.PDS_TRACE_MAX_RESULTS,
            end_user_ods=settings.PDS_END_USER_ODS,
            connect_timeout=settings.PDS_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.PDS_READ_TIMEOUT_SECONDS,
            max_attempts=settings.PDS_MAX_ATTEMPTS,
            backoff=settings.PDS_BACKOFF_SECONDS,
        )

    @property
    def max_results(self) -> int:
        """`_max-results` for a trace: 1 under application-restricted access (PDS refuses more, and
        answers only a unique match); otherwise the configured number, enough candidates for a person
        to compare and few enough that a vague search says "too many" rather than list strangers."""
        if self.access_mode == APPLICATION_RESTRICTED:
            return 1
        return max(1, min(50, self._trace_max_results))

    @property
    def may_update(self) -> bool:
        return self.access_mode != APPLICATION_RESTRICTED

    # --- the PDS interactions -------------------------------------------------------------------------

    def read(self, nhs_number: str) -> tuple[dict[str, Any], int]:
        """The Patient resource and its version (from the ETag)."""
        response = self._request("GET", f"/Patient/{nhs_number}")
        return response.json(), _version(response)

    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        """A searchset Bundle; PDS's too-many-matches answer (200 OperationOutcome) is returned as it is.

        The official sandbox sends TOO_MANY_MATCHES as a 400; the specification says 200. Either way
        it is the same answer about the search, so both come back as the OperationOutcome.
        """
        try:
            return self._request("GET", "/Patient", params=params).json()
        except errors.TooManyMatches as exc:
            return exc.outcome

    def patch(
        self, nhs_number: str, patches: list[dict[str, Any]], *, version: int, correlation_id: str | None = None
    ) -> tuple[dict[str, Any], int]:
        """Apply JSON Patch operations at `version`. `correlation_id` travels with the request (our API
        records it as the reason for the change)."""
        headers = {"If-Match": f'W/"{version}"', "Content-Type": "application/json-patch+json"}
        if correlation_id:
            headers["X-Correlation-ID"] = correlation_id
        response = self._request("PATCH", f"/Patient/{nhs_number}", json_body={"patches": patches}, headers=headers)
        return response.json(), _version(response)

    def create(self, resource: dict[str, Any], *, correlation_id: str | None = None) -> tuple[dict[str, Any], int]:
        """Create a record for a new patient (PDS allocates the NHS number): the new Patient and its version.

        PDS answers 200 with an OperationOutcome, not 201, when it already holds a matching record: that
        is raised as InvalidChange, because a second record for one person must never be made."""
        headers = {"Content-Type": "application/json"}
        if correlation_id:
            headers["X-Correlation-ID"] = correlation_id
        response = self._request("POST", "/Patient", json_body=resource, headers=headers)
        body = response.json()
        if response.status_code != 201 or body.get("resourceType") != "Patient":
            code, diagnostics = _spine_code(response)
            raise errors.InvalidChange(f"PDS did not create the record: {code or response.status_code} {diagnostics}")
        return body, _version(response)

    # --- transport -----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return self._attempts(method, path, **kwargs)
        except errors.PdsError as exc:
            outcome = type(exc).__name__
            raise
        finally:
            pds_call.send(sender=PdsClient, method=method, seconds=time.perf_counter() - started, outcome=outcome)

    def _attempts(self, method: str, path: str, *, params=None, json_body=None, headers=None) -> requests.Response:
        request_id = str(uuid.uuid4())
        all_headers = {"Accept": FHIR_JSON, "X-Request-ID": request_id, "X-Correlation-ID": request_id}
        if self.end_user_ods:
            all_headers["NHSD-End-User-Organisation-ODS"] = self.end_user_ods
        all_headers.update(headers or {})
        last: errors.PdsError | None = None
        refreshed = False
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=json.dumps(json_body) if json_body is not None else None,
                    headers={**all_headers, **self.auth.headers()},
                    timeout=self.timeout,
                )
            except requests.Timeout as exc:
                last = errors.Unavailable(f"PDS timed out ({method}, request {request_id})")
                last.__cause__ = exc
                wait = self._wait(attempt, None)
            except requests.ConnectionError as exc:
                last = errors.Unavailable(f"PDS could not be reached ({method}, request {request_id})")
                last.__cause__ = exc
                wait = self._wait(attempt, None)
            else:
                if response.status_code < 400:
                    return response
                if response.status_code == 401 and not refreshed and getattr(self.auth, "refreshable", False):
                    # An expired or revoked token: fetch a new one and send the request once more.
                    refreshed = True
                    self.auth.invalidate()
                    attempt -= 1
                    continue
                last = _error_for(response, method, path, request_id)
                if not isinstance(last, errors.Transient):
                    raise last
                wait = self._wait(attempt, response.headers.get("Retry-After"))
            if attempt < self.max_attempts:
                logger.info(
                    "PDS %s was transient (attempt %d of %d); retrying in %.2fs",
                    method,
                    attempt,
                    self.max_attempts,
                    wait,
                )
                self._sleep(wait)
        assert last is not None
        raise last

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return float(retry_after)
        return self.backoff * (2 ** (attempt - 1))


def _version(response: requests.Response) -> int:
    etag = response.headers.get("ETag", "")
    digits = etag.removeprefix("W/").strip('"')
    if not digits.isdigit():
        raise errors.BadResponse(f"PDS answered without a usable ETag ({etag!r})")
    return int(digits)


def _spine_code(response: requests.Response) -> tuple[str, str]:
    try:
        issue = response.json()["issue"][0]
        return issue["details"]["coding"][0]["code"], issue.get("diagnostics", "")
    except (ValueError, KeyError, IndexError, TypeError):
        return "", ""


def _error_for(response: requests.Response, method: str, path: str, request_id: str) -> errors.PdsError:
    status = response.status_code
    code, diagnostics = _spine_code(response)
    detail = f"{method} {status} {code or 'no OperationOutcome'} (request {request_id})"
    if status == 429:
        return errors.RateLimited(detail)
    if status >= 500 or status == 408:
        return errors.Unavailable(detail)
    if status == 404:
        return errors.PatientNotFound(detail)
    if status == 409:
        return errors.VersionConflict(detail)
    if status in (401, 403) and code == "FORBIDDEN_UPDATE":
        return errors.ForbiddenUpdate(f"{detail}: {diagnostics}")
    if status in (401, 403):
        return errors.AccessDenied(detail)
    if code == "TOO_MANY_MATCHES":
        error = errors.TooManyMatches(detail)
        error.outcome = response.json()
        return error
    if code == "INVALID_RESOURCE_ID":
        return errors.InvalidNhsNumber(detail)
    if status == 400 and code in PATCH_REFUSALS and method == "PATCH":
        return errors.InvalidChange(f"{detail}: {diagnostics}")
    if status == 400 and code in SEARCH_REFUSALS and method == "GET" and path == "/Patient":
        return errors.InvalidSearch(f"{detail}: {diagnostics}")
    return errors.BadResponse(f"{detail}: {diagnostics}")


# The specification's 400 codes for a PATCH PDS refused on the record's rules, and for a search it
# could not run. The diagnostics are PDS's words about the request (no record content).
PATCH_REFUSALS = {
    "INVALID_UPDATE",
    "INVALID_VALUE",
    "VALIDATION_ERROR",
    "UNSUPPORTED_VALUE",
    "UNSUPPORTED_CHARACTERS_IN_FIELD",
    "TOO_FEW_VALUES_SUBMITTED",
    "TOO_MANY_VALUES_SUBMITTED",
    "ADDITIONAL_PROPERTIES",
    "MISSING_VALUE",
}
SEARCH_REFUSALS = {
    "INVALID_SEARCH_DATA",
    "MISSING_VALUE",
    "INVALID_VALUE",
    "UNSUPPORTED_SERVICE",
    "ADDITIONAL_PROPERTIES",
}
