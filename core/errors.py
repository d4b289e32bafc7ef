"""Error pages in the NHS.UK style even with DEBUG on (the demo runs with DEBUG=1).

Django answers a missing page, a bad request and a crash with its own technical pages whenever DEBUG is
on. People trying the demo should see what production shows (templates/400.html, 404.html, 500.html), so
this middleware renders those unless a developer asks for Django's (PCRM_DJANGO_ERROR_PAGES=1). With
DEBUG off it does nothing: Django already uses the templates. 403 and the CSRF failure page are never
technical pages, so they need nothing here.
"""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.shortcuts import render

log = logging.getLogger("django.request")


def _wanted() -> bool:
    return settings.DEBUG and not settings.PCRM_DJANGO_ERROR_PAGES


class FriendlyErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No URL pattern matched: Django's technical 404 lists every pattern; show the service's page.
        if response.status_code == 404 and getattr(request, "resolver_match", None) is None and _wanted():
            return render(request, "404.html", status=404)
        return response

    def process_exception(self, request, exception):
        if not _wanted():
            return None
        if isinstance(exception, Http404):
            return render(request, "404.html", status=404)
        if isinstance(exception, BadRequest | SuspiciousOperation):
            return render(request, "400.html", status=400)
        if isinstance(exception, PermissionDenied):
            return None
        # Logged as Django logs an uncaught exception (the path only: never the query or the form).
        log.error("Internal Server Error: %s", request.path, exc_info=exception)
        return render(request, "500.html", status=500)
