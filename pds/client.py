"""HTTP client for a PDS FHIR R4 endpoint (ours on another host, or one shaped like the national PDS).

One class, explicit timeouts, typed errors (pds/errors.py), and PDS's retry rules: a busy (429)
or unavailable (5xx) answer, a timeout or a dropped connection is transient and retried with
exponential backoff (Retry-After wins when given), reusing the same X-Request-ID so the server
can recognise a repeat. Response bodies and NHS numbers are never logged at INFO.
"""

import json
import logging
import time
import uuid
from typing import Any

import requests

from . import errors

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


class PdsClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_attempts: int = 3,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        sleep=time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
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
            token=settings.PDS_API_TOKEN,
            connect_timeout=settings.PDS_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.PDS_READ_TIMEOUT_SECONDS,
            max_attempts=settings.PDS_MAX_ATTEMPTS,
            backoff=settings.PDS_BACKOFF_SECONDS,
        )

    # --- the three PDS interactions -------------------------------------------------------------------

    def read(self, nhs_number: str) -> tuple[dict[str, Any], int]:
        """The Patient resource and its version (from the ETag)."""
        response = self._request("GET", f"/Patient/{nhs_number}")
        return response.json(), _version(response)

    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        """A searchset Bundle; PDS's too-many-matches answer (200 OperationOutcome) is returned as it is."""
        return self._request("GET", "/Patient", params=params).json()

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

    # --- transport -----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, params=None, json_body=None, headers=None) -> requests.Response:
        request_id = str(uuid.uuid4())
        all_headers = {"Accept": FHIR_JSON, "X-Request-ID": request_id, "X-Correlation-ID": request_id}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        last: errors.PdsError | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=json.dumps(json_body) if json_body is not None else None,
                    headers=all_headers,
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
                last = _error_for(response, method, request_id)
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


def _error_for(response: requests.Response, method: str, request_id: str) -> errors.PdsError:
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
    if code == "INVALID_RESOURCE_ID":
        return errors.InvalidNhsNumber(detail)
    if status == 400 and code in ("INVALID_UPDATE", "INVALID_VALUE"):
        return errors.InvalidChange(f"{detail}: {diagnostics}")
    return errors.BadResponse(f"{detail}: {diagnostics}")
