"""Who is calling the FHIR API: a bearer token (systems) or the signed-in session (the back office)."""

import datetime as dt

from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone

from .models import ApiToken, hash_token

# Writing last_used_at on every call would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class NotAuthenticated(Exception):
    pass


def _bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def authenticate(request):
    """The user behind the request, or NotAuthenticated (with the reason, never the token)."""
    raw = _bearer(request)
    if raw is not None:
        token = ApiToken.objects.active().select_related("user").filter(key_hash=hash_token(raw)).first()
        if token is None or not token.user.is_active:
            raise NotAuthenticated("The access token is not valid")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        request.pds_token = token
        return token.user
    if request.headers.get("Authorization"):
        raise NotAuthenticated("Only bearer tokens are accepted")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        request.pds_token = None
        return user
    raise NotAuthenticated("Missing access token or session")


def csrf_failure(request) -> str | None:
    """For a session-authenticated write, the CSRF check a normal view would get (None when it passes).

    The API views are csrf_exempt because bearer-token callers have no CSRF cookie; a browser session
    must still prove the request came from our pages.
    """
    if getattr(request, "pds_token", None) is not None:
        return None
    response = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
    return None if response is None else "CSRF verification failed"
