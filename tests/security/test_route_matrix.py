"""Who may do what, on every route: one table of expected outcomes, checked against the URL resolver.

Every URL pattern the resolver knows (our pages, the FHIR API, Django admin, CIS2 sign-in, health and
metrics) is requested with GET and with POST by an anonymous visitor and by a person in each role of
core/roles.py, and the outcome must be the one EXPECTED gives. A route with no row fails the first test,
which prints the row it observed, ready to check and paste. POSTs here carry a valid CSRF token (the
clients enforce CSRF, as browsers do): the matrix is about permissions; the CSRF tests below it refuse
every state-changing request that has no token, htmx ones included.
"""

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from factories import (
    ApiTokenFactory,
    AuditEventFactory,
    ExceptionCaseFactory,
    GPFactory,
    InterchangeFactory,
    OutboxItemFactory,
    PatientFactory,
    RegistrationFactory,
    TransactionFactory,
)
from support import role_user

from accounts import defaults
from accounts.models import BreakGlassAccount, NationalRoleMapping, StaffIdentity
from core import roles
from exceptions import actions
from registrations.capitation import snapshot
from registrations.models import QuarterClose

pytestmark = pytest.mark.django_db

# The columns of every row, in this order: who is asking.
ANONYMOUS = "anonymous"
NO_ROLE = "no role"  # signed in, but holding none of PCRM's roles
WHO = (ANONYMOUS, NO_ROLE, roles.AGENT, roles.TEAM_LEADER, roles.PCSE_VIEWER, roles.ADMINISTRATOR)

# Outcomes: an HTTP status, or one of these redirects.
SIGN_IN = "sign-in"  # 302 to /accounts/login/?next=…
ADMIN_SIGN_IN = "admin-sign-in"  # 302 to /admin/login/?next=… (Django admin: staff only)

# ---------------------------------------------------------------------------------------------------
# THE TABLE: one row per route, spelled as the resolver spells it (a failing run prints the row to paste).
#     "route": ("GET outcomes", "POST outcomes"),
# each a space-separated outcome per column of WHO:
#     anonymous | no role | NBO agent | Team leader | PCSE viewer | Administrator (staff, as CIS2 makes them)
# An outcome is a status code ("200", "400", "403", "405", ...), "302" for a redirect anywhere else than
# sign-in, "sign-in" or "admin-sign-in". Never "500". Django admin rows use staff() (below the table):
# only staff reach the admin, so only the last column varies. POSTs carry no form data.
# ---------------------------------------------------------------------------------------------------
NOT_STAFF = " ".join([ADMIN_SIGN_IN] * 4)  # no role, agent, leader, PCSE viewer: sent to the admin's sign-in


def staff(get: str, post: str, anonymous: str = SIGN_IN) -> tuple[str, str]:
    """A Django admin row: what the Administrator gets on GET and POST; everyone else is sent to sign in."""
    return f"{anonymous} {NOT_STAFF} {get}", f"{anonymous} {NOT_STAFF} {post}"


EXPECTED: dict[str, tuple[str, str]] = {
    "healthz": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    "readyz": ("503 503 503 503 503 503", "405 405 405 405 405 405"),
    "metrics": ("403 403 403 403 403 403", "405 405 405 405 405 405"),
    "": ("sign-in 200 302 302 302 302", "sign-in 405 405 405 405 405"),
    "cases/": ("sign-in 403 200 200 403 200", "sign-in 405 405 405 405 405"),
    "cases/take-next/": ("sign-in 405 405 405 405 405", "sign-in 403 302 302 403 302"),
    "cases/bulk/": ("sign-in 405 405 405 405 405", "sign-in 403 400 400 403 400"),
    "cases/<int:pk>/": ("sign-in 403 200 200 403 200", "sign-in 405 405 405 405 405"),
    "cases/<int:pk>/claim/": ("sign-in 405 405 405 405 405", "sign-in 403 302 302 403 302"),
    "cases/<int:pk>/release/": ("sign-in 405 405 405 405 405", "sign-in 403 302 302 403 302"),
    "cases/<int:pk>/assign/": ("sign-in 405 405 405 405 405", "sign-in 403 403 400 403 400"),
    "cases/<int:pk>/notes/": ("sign-in 405 405 405 405 405", "sign-in 403 400 400 403 400"),
    "cases/<int:pk>/actions/<slug:action>/": ("sign-in 403 403 403 403 403", "sign-in 403 403 403 403 403"),
    "cases/saved-filters/": ("sign-in 405 405 405 405 405", "sign-in 403 302 302 403 302"),
    "cases/saved-filters/<int:pk>/delete/": ("sign-in 405 405 405 405 405", "sign-in 403 302 302 403 302"),
    "cases/workload/": ("sign-in 403 403 200 403 200", "sign-in 405 405 405 405 405"),
    "team/": ("sign-in 403 403 200 403 200", "sign-in 405 405 405 405 405"),
    # Your settings (#16 item 9): anyone who works the queue, their own preferences only.
    "settings/": ("sign-in 403 200 200 403 200", "sign-in 403 400 400 403 400"),
    # "Stay signed in" from the idle-timeout warning (#16 item 6): any signed-in person, POST only.
    "session/keep-alive/": ("sign-in 405 405 405 405 405", "sign-in 204 204 204 204 204"),
    # The timeout script keeps typed work once a session ended (#16 item 6, ADR 0020): no sign-in needed
    # (the session has ended), POST only; anonymous here sends a form, not JSON (400); signed in: 200
    # {"signed_in": true} and nothing kept.
    "session/typed-work/": ("405 405 405 405 405 405", "400 200 200 200 200 200"),
    "cases/<int:pk>/trace/": ("sign-in 405 405 405 405 405", "sign-in 403 302 302 403 302"),
    "audit/export.csv": ("sign-in 403 403 200 403 200", "sign-in 405 405 405 405 405"),
    "migration/": ("sign-in 403 403 200 403 200", "sign-in 405 405 405 405 405"),
    "migration/<str:cipher>/": ("sign-in 403 403 200 403 200", "sign-in 405 405 405 405 405"),
    "migration/<str:cipher>/shadow/<int:pk>/": ("sign-in 403 403 404 403 404", "sign-in 405 405 405 405 405"),
    "migration/<str:cipher>/cut-over/": ("sign-in 403 403 403 403 302", "sign-in 403 403 403 403 302"),
    "migration/<str:cipher>/cut-back/": ("sign-in 403 403 403 403 200", "sign-in 403 403 403 403 200"),
    "migration/<str:cipher>/plan/": ("sign-in 403 403 403 403 200", "sign-in 403 403 403 403 200"),
    "dashboard/": ("sign-in 403 200 200 403 200", "sign-in 405 405 405 405 405"),
    "audit/": ("sign-in 403 403 200 403 200", "sign-in 405 405 405 405 405"),
    "registrations/interchanges/": ("sign-in 403 200 200 403 200", "sign-in 405 405 405 405 405"),
    "registrations/interchanges/<int:pk>/": ("sign-in 403 200 200 403 200", "sign-in 405 405 405 405 405"),
    "registrations/capitation/": ("sign-in 403 403 403 200 200", "sign-in 405 405 405 405 405"),
    "registrations/capitation/close/": ("sign-in 403 403 403 403 302", "sign-in 403 403 403 403 400"),
    "registrations/capitation/<isodate:quarter_end>/": ("sign-in 403 403 403 200 200", "sign-in 405 405 405 405 405"),
    "registrations/capitation/<isodate:quarter_end>/progress/": (
        "sign-in 403 403 403 302 302",
        "sign-in 405 405 405 405 405",
    ),
    "registrations/capitation/<isodate:quarter_end>/capitation.csv": (
        "sign-in 403 403 403 200 200",
        "sign-in 405 405 405 405 405",
    ),
    "registrations/capitation/<isodate:quarter_end>/summary.json": (
        "sign-in 403 403 403 200 200",
        "sign-in 405 405 405 405 405",
    ),
    "registrations/capitation/<isodate:quarter_end>/resend/": (
        "sign-in 405 405 405 405 405",
        "sign-in 403 403 403 403 302",
    ),
    "pds/FHIR/R4/Patient": ("401 403 400 400 403 400", "401 403 403 400 403 400"),
    "pds/FHIR/R4/Patient/<str:nhs_number>": ("401 403 200 200 403 200", "405 405 405 405 405 405"),
    "pds/^FHIR/R4/(?P<path>.*)$": ("404 404 404 404 404 404", "404 404 404 404 404 404"),
    "pds/patients/": ("sign-in 403 200 200 403 200", "sign-in 403 200 200 403 200"),
    "pds/patients/<str:nhs_number>/": ("sign-in 403 200 200 403 200", "sign-in 405 405 405 405 405"),
    "pds/patients/<str:nhs_number>/history/": ("sign-in 403 200 200 403 200", "sign-in 405 405 405 405 405"),
    "admin/": staff("200", "200", anonymous="admin-sign-in"),
    "admin/login/": (
        "sign-in sign-in sign-in sign-in sign-in sign-in",
        "sign-in sign-in sign-in sign-in sign-in sign-in",
    ),
    "admin/logout/": ("admin-sign-in 302 302 302 302 405", "admin-sign-in 302 302 302 302 sign-in"),
    "admin/password_change/": staff("200", "200", anonymous="admin-sign-in"),
    "admin/password_change/done/": staff("200", "405", anonymous="admin-sign-in"),
    "admin/autocomplete/": staff("403", "405", anonymous="admin-sign-in"),
    "admin/jsi18n/": staff("200", "405", anonymous="admin-sign-in"),
    "admin/r/<path:content_type_id>/<path:object_id>/": staff("404", "404", anonymous="admin-sign-in"),
    "admin/auth/group/": staff("403", "403"),
    "admin/auth/group/add/": staff("403", "403"),
    "admin/auth/group/<path:object_id>/history/": staff("403", "403"),
    "admin/auth/group/<path:object_id>/delete/": staff("403", "403"),
    "admin/auth/group/<path:object_id>/change/": staff("403", "403"),
    "admin/auth/group/<path:object_id>/": staff("302", "302"),
    "admin/auth/user/<id>/password/": staff("403", "403"),
    "admin/auth/user/": staff("403", "403"),
    "admin/auth/user/add/": staff("403", "403"),
    "admin/auth/user/<path:object_id>/history/": staff("403", "403"),
    "admin/auth/user/<path:object_id>/delete/": staff("403", "403"),
    "admin/auth/user/<path:object_id>/change/": staff("403", "403"),
    "admin/auth/user/<path:object_id>/": staff("302", "302"),
    "admin/axes/accessattempt/": staff("403", "403"),
    "admin/axes/accessattempt/add/": staff("403", "403"),
    "admin/axes/accessattempt/<path:object_id>/history/": staff("403", "403"),
    "admin/axes/accessattempt/<path:object_id>/delete/": staff("403", "403"),
    "admin/axes/accessattempt/<path:object_id>/change/": staff("403", "403"),
    "admin/axes/accessattempt/<path:object_id>/": staff("302", "302"),
    "admin/axes/accesslog/": staff("403", "403"),
    "admin/axes/accesslog/add/": staff("403", "403"),
    "admin/axes/accesslog/<path:object_id>/history/": staff("403", "403"),
    "admin/axes/accesslog/<path:object_id>/delete/": staff("403", "403"),
    "admin/axes/accesslog/<path:object_id>/change/": staff("403", "403"),
    "admin/axes/accesslog/<path:object_id>/": staff("302", "302"),
    "admin/axes/accessfailurelog/": staff("403", "403"),
    "admin/axes/accessfailurelog/add/": staff("403", "403"),
    "admin/axes/accessfailurelog/<path:object_id>/history/": staff("403", "403"),
    "admin/axes/accessfailurelog/<path:object_id>/delete/": staff("403", "403"),
    "admin/axes/accessfailurelog/<path:object_id>/change/": staff("403", "403"),
    "admin/axes/accessfailurelog/<path:object_id>/": staff("302", "302"),
    "admin/pds/patient/": staff("403", "403"),
    "admin/pds/patient/add/": staff("403", "403"),
    "admin/pds/patient/<path:object_id>/history/": staff("403", "403"),
    "admin/pds/patient/<path:object_id>/delete/": staff("403", "403"),
    "admin/pds/patient/<path:object_id>/change/": staff("403", "403"),
    "admin/pds/patient/<path:object_id>/": staff("302", "302"),
    "admin/pds/apitoken/": staff("403", "403"),
    "admin/pds/apitoken/add/": staff("403", "403"),
    "admin/pds/apitoken/<path:object_id>/history/": staff("403", "403"),
    "admin/pds/apitoken/<path:object_id>/delete/": staff("403", "403"),
    "admin/pds/apitoken/<path:object_id>/change/": staff("403", "403"),
    "admin/pds/apitoken/<path:object_id>/": staff("302", "302"),
    "admin/registrations/healthauthority/": staff("200", "200"),
    "admin/registrations/healthauthority/add/": staff("200", "200"),
    "admin/registrations/healthauthority/<path:object_id>/history/": staff("200", "200"),
    "admin/registrations/healthauthority/<path:object_id>/delete/": staff("403", "403"),
    "admin/registrations/healthauthority/<path:object_id>/change/": staff("200", "200"),
    "admin/registrations/healthauthority/<path:object_id>/": staff("302", "302"),
    "admin/registrations/healthauthority/<int:pk>/counters/": staff("200", "200"),
    "admin/registrations/link/<int:pk>/counters/": staff("200", "200"),
    "admin/registrations/practice/": staff("200", "200"),
    "admin/registrations/practice/add/": staff("200", "200"),
    "admin/registrations/practice/<path:object_id>/history/": staff("200", "200"),
    "admin/registrations/practice/<path:object_id>/delete/": staff("403", "403"),
    "admin/registrations/practice/<path:object_id>/change/": staff("200", "200"),
    "admin/registrations/practice/<path:object_id>/": staff("302", "302"),
    "admin/registrations/gp/": staff("200", "200"),
    "admin/registrations/gp/add/": staff("200", "200"),
    "admin/registrations/gp/<path:object_id>/history/": staff("200", "200"),
    "admin/registrations/gp/<path:object_id>/delete/": staff("403", "403"),
    "admin/registrations/gp/<path:object_id>/change/": staff("200", "200"),
    "admin/registrations/gp/<path:object_id>/": staff("302", "302"),
    "admin/registrations/link/": staff("200", "200"),
    "admin/registrations/link/add/": staff("200", "200"),
    "admin/registrations/link/<path:object_id>/history/": staff("200", "200"),
    "admin/registrations/link/<path:object_id>/delete/": staff("403", "403"),
    "admin/registrations/link/<path:object_id>/change/": staff("200", "200"),
    "admin/registrations/link/<path:object_id>/": staff("302", "302"),
    "admin/registrations/interchange/": staff("200", "200"),
    "admin/registrations/interchange/add/": staff("403", "403"),
    "admin/registrations/interchange/<path:object_id>/history/": staff("200", "200"),
    "admin/registrations/interchange/<path:object_id>/delete/": staff("403", "403"),
    "admin/registrations/interchange/<path:object_id>/change/": staff("200", "403"),
    "admin/registrations/interchange/<path:object_id>/": staff("302", "302"),
    "admin/registrations/transaction/": staff("200", "200"),
    "admin/registrations/transaction/add/": staff("403", "403"),
    "admin/registrations/transaction/<path:object_id>/history/": staff("200", "200"),
    "admin/registrations/transaction/<path:object_id>/delete/": staff("403", "403"),
    "admin/registrations/transaction/<path:object_id>/change/": staff("200", "403"),
    "admin/registrations/transaction/<path:object_id>/": staff("302", "302"),
    "admin/registrations/outboxitem/": staff("403", "403"),
    "admin/registrations/outboxitem/add/": staff("403", "403"),
    "admin/registrations/outboxitem/<path:object_id>/history/": staff("403", "403"),
    "admin/registrations/outboxitem/<path:object_id>/delete/": staff("403", "403"),
    "admin/registrations/outboxitem/<path:object_id>/change/": staff("403", "403"),
    "admin/registrations/outboxitem/<path:object_id>/": staff("302", "302"),
    "admin/registrations/registration/": staff("403", "403"),
    "admin/registrations/registration/add/": staff("403", "403"),
    "admin/registrations/registration/<path:object_id>/history/": staff("403", "403"),
    "admin/registrations/registration/<path:object_id>/delete/": staff("403", "403"),
    "admin/registrations/registration/<path:object_id>/change/": staff("403", "403"),
    "admin/registrations/registration/<path:object_id>/": staff("302", "302"),
    "admin/accounts/nationalrolemapping/": staff("200", "200"),
    "admin/accounts/nationalrolemapping/add/": staff("200", "200"),
    "admin/accounts/nationalrolemapping/<path:object_id>/history/": staff("200", "200"),
    "admin/accounts/nationalrolemapping/<path:object_id>/delete/": staff("200", "200"),
    "admin/accounts/nationalrolemapping/<path:object_id>/change/": staff("200", "200"),
    "admin/accounts/nationalrolemapping/<path:object_id>/": staff("302", "302"),
    "admin/accounts/staffidentity/": staff("200", "200"),
    "admin/accounts/staffidentity/add/": staff("403", "403"),
    "admin/accounts/staffidentity/<path:object_id>/history/": staff("200", "200"),
    "admin/accounts/staffidentity/<path:object_id>/delete/": staff("403", "403"),
    "admin/accounts/staffidentity/<path:object_id>/change/": staff("200", "403"),
    "admin/accounts/staffidentity/<path:object_id>/": staff("302", "302"),
    "admin/accounts/breakglassaccount/": staff("200", "200"),
    "admin/accounts/breakglassaccount/add/": staff("200", "200"),
    "admin/accounts/breakglassaccount/<path:object_id>/history/": staff("200", "200"),
    "admin/accounts/breakglassaccount/<path:object_id>/delete/": staff("200", "200"),
    "admin/accounts/breakglassaccount/<path:object_id>/change/": staff("200", "200"),
    "admin/accounts/breakglassaccount/<path:object_id>/": staff("302", "302"),
    "admin/exceptions/exceptioncase/": staff("403", "403"),
    "admin/exceptions/exceptioncase/add/": staff("403", "403"),
    "admin/exceptions/exceptioncase/<path:object_id>/history/": staff("403", "403"),
    "admin/exceptions/exceptioncase/<path:object_id>/delete/": staff("403", "403"),
    "admin/exceptions/exceptioncase/<path:object_id>/change/": staff("403", "403"),
    "admin/exceptions/exceptioncase/<path:object_id>/": staff("302", "302"),
    "admin/exceptions/auditevent/": staff("200", "200"),
    "admin/exceptions/auditevent/add/": staff("403", "403"),
    "admin/exceptions/auditevent/<path:object_id>/history/": staff("200", "200"),
    "admin/exceptions/auditevent/<path:object_id>/delete/": staff("403", "403"),
    "admin/exceptions/auditevent/<path:object_id>/change/": staff("200", "403"),
    "admin/exceptions/auditevent/<path:object_id>/": staff("302", "302"),
    "admin/^(?P<app_label>auth|axes|pds|registrations|accounts|exceptions)/$": staff(
        "200", "200", anonymous="admin-sign-in"
    ),
    "admin/(?P<url>.*)$": staff("404", "404", anonymous="admin-sign-in"),
    "accounts/login/": ("200 302 302 302 302 302", "200 302 302 302 302 302"),
    "accounts/logout/": ("sign-in 405 405 405 405 405", "sign-in sign-in sign-in sign-in sign-in sign-in"),
    "accounts/cis2/start/": ("503 503 503 503 503 503", "405 405 405 405 405 405"),
    "accounts/cis2/callback/": ("503 503 503 503 503 503", "405 405 405 405 405 405"),
    "accounts/cis2/change-role/": ("sign-in 405 405 405 405 405", "sign-in 503 503 503 503 503"),
    "^assets/(?P<path>.*)$": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
}


@dataclass(frozen=True)
class Route:
    route: str
    pattern: URLPattern


def all_routes(resolver=None, prefix: str = "") -> list[Route]:
    resolver = resolver or get_resolver()
    found = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += all_routes(pattern, route)
        else:
            found.append(Route(route, pattern))
    return found


# --- the world the requests meet ---------------------------------------------------------------------


@pytest.fixture
def world(db, settings):
    """One object of each kind a route can name, so a permitted GET reaches a real page, not a 404."""
    case = ExceptionCaseFactory()
    interchange = InterchangeFactory()
    # A row for each model Django admin shows (the 89 HAs, the roles and the mapping rows come with migrate).
    TransactionFactory(message__interchange=interchange)
    OutboxItemFactory()
    RegistrationFactory()
    GPFactory()
    AuditEventFactory()
    ApiTokenFactory()
    patient = PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="A10001")
    closed = QuarterClose.objects.create(quarter_end=dt.date(2026, 9, 30), closed_by="route-matrix")
    quarter = snapshot.take_snapshot(closed.pk, today=dt.date(2026, 10, 1))
    # /readyz answers 503 here whatever else runs on this machine: no beat can be recent enough.
    settings.BEAT_READY_MAX_AGE_SECONDS = -1
    # CIS2 configured (as in development) with its client key absent: a plain 503 (no provider is reached).
    settings.CIS2_ISSUER = "http://127.0.0.1:9/cis2"
    settings.CIS2_CLIENT_ID = "pcrm-route-matrix"
    settings.CIS2_CLIENT_KEY_FILE = "/nonexistent/cis2-client-key.pem"
    # No password (force_login needs none, and hashing one costs most of a second).
    people = {who: role_user(None if who == NO_ROLE else who, password=None) for who in WHO if who != ANONYMOUS}
    # The shipped mapping rows (a transactional test elsewhere may have emptied the table since migrate).
    defaults.install(Group, NationalRoleMapping)
    StaffIdentity.objects.create(user=people[roles.AGENT], uid="555000000012")
    BreakGlassAccount.objects.create(user=people[roles.ADMINISTRATOR], reason="route matrix")
    AccessAttempt.objects.create(username="someone", ip_address="192.0.2.1", user_agent="test", failures_since_start=1)
    AccessFailureLog.objects.create(username="someone", ip_address="192.0.2.1", user_agent="test")
    AccessLog.objects.create(username="someone", ip_address="192.0.2.1", user_agent="test")
    return {"case": case, "interchange": interchange, "patient": patient, "quarter": quarter, "people": people}


CSRF_TOKEN = "routematrixroutematrixroutematr1"  # a 32-character CSRF secret, sent as cookie and header
REQUEST_ID = "6f1c2d4e-8a9b-4c3d-9e8f-7a6b5c4d3e2f"


def _client(person=None) -> Client:
    # From another machine (as every person is): /metrics then needs its token, as in production.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False, REMOTE_ADDR="192.0.2.10")
    if person is not None:
        client.force_login(person)
    client.cookies["csrftoken"] = CSRF_TOKEN
    return client


def sample_url(route: str, world: dict) -> str:
    """The route with each path value filled by an object of the world (or a harmless sample)."""
    values = {
        "pk": _pk(route, world),
        "action": actions.available(world["case"])[0],
        "cipher": "XX1",  # the HA the factories' practices belong to
        "quarter_end": world["quarter"].quarter_end.isoformat(),
        "nhs_number": world["patient"].nhs_number,
        "object_id": _admin_object_id(route),
        "content_type_id": ContentType.objects.get_for_model(world["patient"]).pk,
        "id": world["patient"].pk,
    }
    if route == "admin/r/<path:content_type_id>/<path:object_id>/":
        values["object_id"] = world["patient"].pk

    def fill(match: re.Match) -> str:
        return str(values.get(match.group(2), "x"))

    # Regular-expression routes first: the admin app index, the FHIR and admin catch-alls, the assets.
    url = re.sub(r"\(\?P<app_label>[^)]*\)", "registrations", route)
    url = re.sub(r"\(\?P<path>[^)]*\)", "images/favicon.svg" if route.startswith("^assets") else "Nowhere", url)
    url = re.sub(r"\(\?P<url>[^)]*\)", "nowhere/", url)
    url = re.sub(r"<(?:(\w+):)?(\w+)>", fill, url)
    return "/" + url.replace("^", "").replace("$", "").replace("\\", "")


def _pk(route: str, world: dict):
    if route.startswith("admin/"):
        return _admin_object_id(route)
    return world["interchange"].pk if route.startswith("registrations/interchanges/") else world["case"].pk


def _admin_object_id(route: str) -> str:
    """For admin/<app>/<model>/<object_id>/…: the first row of that model ("1" if it has none)."""
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    for model in admin.site._registry if match else ():
        if (model._meta.app_label, model._meta.model_name) == match.groups():
            return str(model._default_manager.order_by("pk").values_list("pk", flat=True).first() or 1)
    return "1"


# --- asking ------------------------------------------------------------------------------------------


def outcome(response) -> str:
    if response.status_code in (301, 302, 303, 307, 308):
        location = response["Location"]
        if location.startswith("/accounts/login/"):
            return SIGN_IN
        if location.startswith("/admin/login/"):
            return ADMIN_SIGN_IN
        return "302"
    return str(response.status_code)


def observe(route: str, world: dict) -> tuple[str, str]:
    """(GET outcomes, POST outcomes) for every column of WHO. Each request is rolled back afterwards and
    the client's cookies put back, so what one request changes (a claim, a sign-out) is never what the
    next one meets."""
    url = sample_url(route, world)
    clients = {who: _client(world["people"].get(who)) for who in WHO}
    rows = []
    for method in ("get", "post"):
        seen = []
        for who in WHO:
            client = clients[who]
            cookies = client.cookies
            client.cookies = type(cookies)(cookies)
            with transaction.atomic():
                # Every request names itself (the FHIR API requires it), so the API's answer is about who asks.
                response = getattr(client, method)(url, HTTP_X_CSRFTOKEN=CSRF_TOKEN, HTTP_X_REQUEST_ID=REQUEST_ID)
                transaction.set_rollback(True)
            client.cookies = cookies
            seen.append(outcome(response))
        rows.append(" ".join(seen))
    return rows[0], rows[1]


def test_every_route_has_exactly_one_row(world):
    # A spelling twice (accounts' admin/login/ before Django admin's own): the first answers, so one row.
    routes = list(dict.fromkeys(r.route for r in all_routes()))
    rows = EXPECTED
    missing = [r for r in routes if r not in rows]
    stale = sorted(set(rows) - set(routes))
    message = ""
    if missing:
        lines = "\n".join(f"    {r!r}: {observe(r, world)!r}," for r in missing)
        message += (
            f"{len(missing)} route(s) have no row in EXPECTED (tests/security/test_route_matrix.py). These are "
            f"the outcomes observed now, columns {WHO}: check each is what you intend, then paste:\n{lines}\n"
        )
    if stale:
        message += f"rows for routes that no longer exist (remove them): {stale}\n"
    assert not message, message


def test_every_route_answers_each_person_as_the_table_says(world):
    """One test for the whole table (the world is built once): every difference is listed together."""
    assert not any("500" in " ".join(row) for row in EXPECTED.values()), "the table must never expect a 500"
    differences = []
    for route in sorted({r.route for r in all_routes()} & set(EXPECTED)):
        expected, observed = EXPECTED[route], observe(route, world)
        differences += [
            f"  {route!r} {method} as {who}: expected {e}, got {o}   (row now: {observed!r})"
            for method, exp, obs in zip(("GET", "POST"), expected, observed, strict=True)
            for who, e, o in zip(WHO, exp.split(), obs.split(), strict=True)
            if e != o
        ]
    assert not differences, "outcomes differ from EXPECTED:\n" + "\n".join(differences)


# --- CSRF: every state-changing request needs the token, htmx ones included ---------------------------

STATE_CHANGING = ("post", "put", "patch", "delete")
CSRF_PAGE = "Your form could not be sent"  # templates/403_csrf.html


def _refused_for_csrf(response) -> bool:
    if response.status_code != 403:
        return False
    if response["Content-Type"].startswith("application/fhir+json"):
        # The FHIR API is csrf_exempt for bearer tokens and checks a session's token itself (pds.auth).
        return "CSRF" in response.content.decode()
    return CSRF_PAGE in response.content.decode()


def _api_not_reached(route: str, response) -> bool:
    """The FHIR API also refuses, before doing anything, a request with no credentials at all (401: a forged
    request has no ambient authority to borrow), a method it never supports (405) or no such endpoint (404)."""
    return "FHIR/R4" in route and response.status_code in (401, 404, 405)


@pytest.mark.parametrize("who", [ANONYMOUS, roles.ADMINISTRATOR])
def test_no_state_changing_request_without_the_csrf_token_gets_through(world, who):
    """Every route, every state-changing method, plain and as htmx sends it, from a browser session without
    the token (the cookie is there, as for a forged cross-site request): refused before any view runs. The
    FHIR API may instead answer 405 for a method it never supports; nothing else is acceptable."""
    client = _client(world["people"].get(who))
    slipped = []
    for route in (r.route for r in all_routes()):
        url = sample_url(route, world)
        for method, htmx in [(m, False) for m in STATE_CHANGING] + [("post", True)]:
            headers = {"HTTP_X_REQUEST_ID": REQUEST_ID, **({"HTTP_HX_REQUEST": "true"} if htmx else {})}
            cookies = client.cookies
            client.cookies = type(cookies)(cookies)
            with transaction.atomic():
                response = getattr(client, method)(url, **headers)
                transaction.set_rollback(True)
            client.cookies = cookies
            if not (_refused_for_csrf(response) or _api_not_reached(route, response)):
                slipped.append(f"{method.upper()}{' (htmx)' if htmx else ''} {route}: {response.status_code}")
    assert not slipped, "state-changing requests accepted without a CSRF token:\n" + "\n".join(slipped)


def test_htmx_requests_carry_the_token_from_the_page(world):
    """htmx sends the token from <body hx-headers> (templates/base.html): a POST sent the way htmx sends it,
    with the page's token in X-CSRFToken and no form field, passes the check."""
    client = _client(world["people"][roles.AGENT])
    page = client.get("/cases/")
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page.content.decode())
    assert token, "the page gives htmx no CSRF token"
    claim = f"/cases/{world['case'].pk}/claim/"
    assert _refused_for_csrf(client.post(claim, HTTP_HX_REQUEST="true"))
    response = client.post(claim, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token.group(1))
    assert (response.status_code, response["Location"]) == (302, f"/cases/{world['case'].pk}/")  # to the case
    world["case"].refresh_from_db()
    assert world["case"].assigned_to == world["people"][roles.AGENT]


@pytest.mark.parametrize("who", [roles.AGENT, roles.ADMINISTRATOR])
def test_every_form_a_page_shows_posts_the_csrf_token(world, who):
    """Every <form method="post"> on every page a person can open carries csrfmiddlewaretoken."""
    client = _client(world["people"][who])
    missing = []
    for route in (r.route for r in all_routes()):
        response = client.get(sample_url(route, world), HTTP_X_REQUEST_ID=REQUEST_ID)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        for form in re.findall(r"<form\b[^>]*>.*?</form>", response.content.decode(), flags=re.S | re.I):
            opening = form[: form.index(">")].lower()
            if re.search(r'method="?post', opening) and "csrfmiddlewaretoken" not in form:
                missing.append(f"{route}: {opening[:100]}")
    assert not missing, "post forms without the CSRF token:\n" + "\n".join(missing)
