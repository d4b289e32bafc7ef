"""Middleware for running in production: the access log and request latency, `Cache-Control: no-store`,
and refusing input that cannot be stored before any view sees it."""

import logging
import time

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from . import metrics
from .logs import route_of

access_log = logging.getLogger("pcrm.access")

# Characters PostgreSQL text cannot hold (NUL) or that have no business in a form: C0 controls other
# than tab, newline and carriage return, and the Unicode non-characters U+FFFE/U+FFFF.
FORBIDDEN = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\ufffe", "\uffff"}
PAGE_SIZE_PARAMS = ("per_page",)
MAX_PAGE_SIZE = 100
FHIR_PREFIX = "/pds/FHIR/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class AccessLogMiddleware:
    """One line per request: method, route (never the raw path or query), status, time, user id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route = route_of(request)
        user = getattr(request, "user", None)
        access_log.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        metrics.record_request(request.method, route, response.status_code, seconds)
        return response


class NoStoreMiddleware:
    """Every page and API answer may carry patient data: no browser or proxy may keep a copy. Only the
    NHS.UK assets (icons, fonts) may be cached; static files never reach Django (whitenoise)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/assets/"):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


def _forbidden_in(value: str) -> bool:
    return any(ch in FORBIDDEN for ch in value)


def refused(request) -> str | None:
    """Why the request cannot be accepted as it stands, or None. Looks at the path, every query and form
    parameter (names and values) and, for JSON bodies, every string in them."""
    if _forbidden_in(request.path):
        return "The address contains a character that cannot be stored (such as a null byte)."
    sources = [request.GET]
    if request.method == "POST" and request.content_type in FORM_TYPES:
        # Read the body before parsing the form: parsing a multipart body otherwise consumes the stream,
        # and a view that reads request.body (the FHIR API) would fail on it. No view here takes files.
        request.body  # noqa: B018
        sources.append(request.POST)
    for params in sources:
        for name, values in params.lists():
            if _forbidden_in(name) or any(_forbidden_in(v) for v in values):
                return (
                    "A value you sent contains a character that cannot be stored (such as a null byte). "
                    "Remove it and try again."
                )
    return None


class RefuseUnstorableInputMiddleware:
    """Input PostgreSQL cannot store (a NUL byte) or that is out of bounds (a page size) is refused with a
    clear message here, once, for every form, filter and API parameter: no view needs to remember."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            reason = refused(request)
        except Exception:
            reason = "The request could not be read."
        if reason is None:
            reason = _page_size_problem(request)
        if reason is not None:
            return refusal(request, reason)
        return self.get_response(request)


def _page_size_problem(request) -> str | None:
    for name in PAGE_SIZE_PARAMS:
        if name in request.GET:
            raw = request.GET[name]
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
                return f"The page size must be a whole number from 1 to {MAX_PAGE_SIZE}."
    return None


def refusal(request, reason: str, status: int = 400):
    if request.path.startswith(FHIR_PREFIX):
        from pds import fhir

        _status, body = fhir.operation_outcome("INVALID_VALUE", reason)
        return JsonResponse(body, status=status, content_type="application/fhir+json")
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"error": reason}, status=status)
    html = render_to_string("400.html", {"reason": reason}, request=request)
    return HttpResponse(html, status=status)
