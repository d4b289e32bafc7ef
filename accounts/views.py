"""Sign-in pages: the choice of CIS2 or (where allowed) a password, the CIS2 round trip, role changes."""

import json
import logging

from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from joserfc.errors import ExpiredTokenError, JoseError
from requests import RequestException

from . import cis2, rbac, services, typed_work
from .forms import OFF, PasswordSignInForm, password_sign_in

log = logging.getLogger(__name__)
NEXT_KEY = "pcrm_cis2_next"


class SignInView(auth_views.LoginView):
    form_class = PasswordSignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "passwords_allowed": password_sign_in() != OFF}

    def form_valid(self, form):
        services.sign_in_with_password(self.request, form.get_user(), break_glass=form.break_glass)
        return HttpResponseRedirect(self.get_success_url())


@login_not_required
@never_cache
def admin_sign_in(request):
    """Django admin's own sign-in page would take a password whatever PCRM_PASSWORD_SIGN_IN says, and
    outside the sign-in audit: the admin's sign-in is PCRM's (CIS2, or a password where allowed)."""
    target = reverse("login")
    next_url = _safe_next(request, request.GET.get("next", "")) if request.GET.get("next") else reverse("admin:index")
    return HttpResponseRedirect(f"{target}?{urlencode({'next': next_url})}")


def _safe_next(request, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, {request.get_host()}, require_https=request.is_secure()):
        return value
    return reverse("exceptions:home")


def _authorize(request, **params):
    if not cis2.enabled():
        raise Http404("CIS2 sign-in is not configured")
    callback = request.build_absolute_uri(reverse("accounts:cis2-callback"))
    try:
        return cis2.client().authorize_redirect(request, callback, **params)
    except cis2.ClientKeyUnavailable as error:
        return _not_ready(request, error)
    except RequestException as error:  # the discovery document could not be fetched
        log.warning("CIS2 could not be reached: %s", type(error).__name__)
        return _failed(request, "unavailable", status=502)


def _not_ready(request, error: cis2.ClientKeyUnavailable):
    # An operator's problem, not the person's: say so plainly, and log only the setting and the error's class.
    log.error("CIS2 sign-in cannot be used: the client key (CIS2_CLIENT_KEY_FILE) cannot be read (%s)", error)
    return _failed(request, "not_ready", status=503)


@login_not_required
@never_cache
@require_GET
def cis2_start(request):
    """Send the browser to CIS2 to sign in and choose a role profile (state, nonce and PKCE by Authlib)."""
    request.session[NEXT_KEY] = _safe_next(request, request.GET.get("next", ""))
    # prompt=login: CIS2 asks for the smartcard again rather than reusing a sign-in made for someone else.
    return _authorize(request, prompt="login")


@never_cache
@require_POST
def cis2_change_role(request):
    """Changing role goes back through CIS2, which asks the person to choose a role profile again."""
    request.session[NEXT_KEY] = reverse("exceptions:home")
    return _authorize(request, prompt="login")


def _failed(request, reason: str, status: int = 400):
    return render(request, "accounts/sign_in_failed.html", {"reason": reason}, status=status)


@login_not_required
@never_cache
@require_GET
def cis2_callback(request):
    """CIS2 sends the browser back here with a code: check it, read the role profile, start the session."""
    try:
        app = cis2.client()
        token = app.authorize_access_token(
            request, claims_options=cis2.claims_options(), leeway=settings.CIS2_CLOCK_SKEW_SECONDS
        )
        id_claims = dict(token.get("userinfo") or {})
        if not id_claims:
            return _failed(request, "no_id_token")
        userinfo = dict(app.userinfo(token=token))
    except cis2.ClientKeyUnavailable as error:
        return _not_ready(request, error)
    except MismatchingStateError:
        # No sign-in was started from this browser with this state: possibly a forged or replayed link.
        return _failed(request, "state")
    except ExpiredTokenError:
        return _failed(request, "expired")
    except JoseError as error:
        log.warning("CIS2 ID token refused: %s", type(error).__name__)
        return _failed(request, "id_token")
    except OAuthError as error:
        log.warning("CIS2 refused the sign-in: %s", error.error)
        return _failed(request, "refused")
    except RequestException as error:
        log.warning("CIS2 could not be reached: %s", type(error).__name__)
        return _failed(request, "unavailable", status=502)
    if userinfo.get("sub") != id_claims.get("sub"):
        return _failed(request, "id_token")  # OIDC Core 5.3.2: UserInfo must be about the ID token's subject
    next_url = request.session.pop(NEXT_KEY, "") or reverse("exceptions:home")
    try:
        services.sign_in_with_cis2(request, id_claims, userinfo)
    except rbac.RoleRefused as refused:
        return render(
            request,
            "accounts/no_access.html",
            {"reason": refused.reason, "profile": refused.profile},
            status=403,
        )
    return HttpResponseRedirect(_safe_next(request, next_url))


@login_not_required
@never_cache
@require_POST
def keep_typed_work(request):
    """The timeout script, just after the session ended: keep what was typed on the page (JSON:
    {"page": "/cases/1/", "forms": [{"action": "/cases/1/note/", "fields": {"note": ["..."]}}]}) for the
    person who was signed in, and say where to sign in again. CSRF is checked as for any POST.

    Still signed in (another tab kept the session going): nothing is kept and the page may stay."""
    if request.user.is_authenticated:
        return JsonResponse({"signed_in": True})
    try:
        sent = json.loads(request.body or b"{}")
        page = typed_work.local_page(request, sent.get("page")) or reverse("exceptions:home")
        forms = [form for form in sent.get("forms") or [] if isinstance(form, dict)]
    except (ValueError, AttributeError, TypeError):
        return JsonResponse({"error": "Send the page and its forms as JSON"}, status=400)
    user = typed_work.ended_session_user(request)
    if user is not None:
        typed_work.keep(user, page, forms)
    # The same answer whether or not anything was kept: it says nothing about whose session it was.
    return JsonResponse({"sign_in": f"{reverse('login')}?{urlencode({'next': page})}"})
