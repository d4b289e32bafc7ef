"""Typed work kept across the end of a session (#16 item 6, ADR 0020).

When a session ends (idle timeout) with a form half filled in, what was typed is kept for a few
minutes, bound to the person who was signed in: either the browser's timeout script sends it just after
the session ended (accounts.views.keep_typed_work), or the form is posted after the end
(accounts.middleware.LoginRequiredMiddleware). Signed in again, the same person finds it back in the
form on that page (put back by static/pcrm/app.js, never submitted for them); anyone else finds nothing.

Who was signed in comes from the ended session itself (its row, named by the browser's session cookie),
so the browser alone can neither choose the person nor read anything back. The text is sealed (Fernet:
encrypted and authenticated, with a key derived from the secret key) with the person and page inside,
kept KEEP_FOR, deleted when used. Nothing typed is ever logged.
"""

import base64
import datetime as dt
import json
import logging
from importlib import import_module
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme

from .models import TypedWork

log = logging.getLogger(__name__)

KEEP_FOR = dt.timedelta(minutes=15)
# Pages waiting to give typed work back to the person signed in (their digests: never the text, nor the
# path, which may carry a search for a patient's name).
WAITING_KEY = "pcrm_typed_work_waiting"
# Never kept: the security token, passwords, and the answers that would act rather than fill a form in.
NOT_KEPT = {"csrfmiddlewaretoken", "password", "confirmed", "change"}
MAX_CHARACTERS = 20_000

Forms = list[dict]  # [{"action": "/cases/1/note/", "fields": {"note": ["typed"]}}]


def page_digest(page: str) -> str:
    """How a page is named at rest: a keyed digest of its path and query."""
    return salted_hmac("pcrm.accounts.typed_work.page", page, algorithm="sha256").hexdigest()


def _fernet() -> Fernet:
    key = salted_hmac("pcrm.accounts.typed_work", "sealing key", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def local_page(request, url: str | None) -> str | None:
    """`url` as a path on this site (with its query), or None if it is anywhere else."""
    if not url or not url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=request.is_secure()):
        return None
    parts = urlsplit(url)
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def ended_session_user(request):
    """The person whose session the browser's cookie names, if that session has ended (timed out) and
    was signed in: the only person typed work sent from this browser can be kept for."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not key or not hasattr(store, "get_model_class"):
        return None  # a signed-cookie or cache session leaves nothing behind to ask
    now = timezone.now()
    # Only a session that ended within KEEP_FOR: an old expired row (nothing runs clearsessions for us)
    # must not let whoever sits at that browser days later plant text for its person.
    row = (
        store.get_model_class()
        .objects.filter(session_key=key, expire_date__lte=now, expire_date__gt=now - KEEP_FOR)
        .first()
    )
    data = store().decode(row.session_data) if row else {}
    user = get_user_model().objects.filter(pk=data.get(SESSION_KEY), is_active=True).first()
    # As Django does for a live session: a changed password ends what the old session could do.
    if user is None or not constant_time_compare(data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return None
    return user


def _clean(forms: Forms) -> Forms:
    kept = []
    for form in forms:
        sent = form.get("fields")
        if not isinstance(sent, dict):
            continue  # a malformed form from the script is ignored, not a server error
        fields = {
            str(name): [str(v) for v in values]
            for name, values in sent.items()
            if str(name) not in NOT_KEPT and isinstance(values, list) and any(str(v).strip() for v in values)
        }
        if fields:
            kept.append({"action": str(form.get("action") or ""), "fields": fields})
    return kept


def keep(user, page: str, forms: Forms) -> bool:
    """Keep what `user` typed on `page` for KEEP_FOR (the latest wins). False if nothing worth keeping."""
    forms = _clean(forms)
    size = sum(len(name) + sum(map(len, values)) for form in forms for name, values in form["fields"].items())
    if not forms or size > MAX_CHARACTERS:
        return False
    now = purge_expired()
    plain = json.dumps({"user": user.pk, "page": page, "forms": forms}).encode()
    TypedWork.objects.update_or_create(
        user=user, page=page_digest(page), defaults={"sealed": _fernet().encrypt(plain), "expires_at": now + KEEP_FOR}
    )
    log.info("Kept typed work after a session ended", extra={"user_id": user.pk, "forms": len(forms)})
    return True


def keep_post(request, user, page: str) -> bool:
    """Keep a form posted after the session ended."""
    fields = {name: request.POST.getlist(name) for name in request.POST}
    return keep(user, page, [{"action": request.path, "fields": fields}])


def purge_expired() -> dt.datetime:
    """Delete everyone's typed work past its time (on every keep and sign-in, so none outlives it long)."""
    now = timezone.now()
    TypedWork.objects.filter(expires_at__lte=now).delete()
    return now


def note_waiting(request, user) -> None:
    """At sign-in: remember which pages have typed work waiting for this person (not the work itself)."""
    now = purge_expired()
    pages = list(TypedWork.objects.filter(user=user, expires_at__gt=now).values_list("page", flat=True)[:20])
    if pages:
        request.session[WAITING_KEY] = pages


def take(user, page: str) -> Forms | None:
    """What `user` typed on `page`, deleted as it is read; None if nothing (or it expired)."""
    row = TypedWork.objects.filter(user=user, page=page_digest(page)).first()
    if row is None:
        return None
    row.delete()
    if row.expires_at <= timezone.now():
        return None
    try:
        kept = json.loads(_fernet().decrypt(bytes(row.sealed)))
    except InvalidToken:  # sealed under another secret key: as good as gone
        return None
    if kept.get("user") != user.pk or kept.get("page") != page:
        return None
    return kept["forms"]


def restored(request) -> Forms | None:
    """For the page being shown (a full page, to the person signed in): their typed work, once."""
    if hasattr(request, "_typed_work"):
        return request._typed_work
    request._typed_work = None
    session = getattr(request, "session", None)
    waiting = session.get(WAITING_KEY) if session is not None else None
    page = request.get_full_path()
    digest = page_digest(page)
    if waiting and digest in waiting and request.method == "GET" and not request.headers.get("HX-Request"):
        session[WAITING_KEY] = [d for d in waiting if d != digest]
        if request.user.is_authenticated:
            request._typed_work = take(request.user, page)
    return request._typed_work
