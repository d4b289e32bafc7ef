from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.views.static import serve

from accounts.urls import admin_sign_in_patterns, sign_in_patterns
from core.views import keep_alive
from ops import health, metrics

urlpatterns = [
    # Operations: liveness, readiness and Prometheus metrics (docs/deployment.md).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", include("exceptions.urls")),
    path("registrations/", include("registrations.urls")),
    path("pds/", include("pds.urls")),
    path("migration/", include("migration.urls")),
    *admin_sign_in_patterns,
    path("admin/", admin.site.urls),
    # "Stay signed in" from the idle-timeout warning (static/pcrm/app.js).
    path("session/keep-alive/", keep_alive, name="keep-alive"),
    *sign_in_patterns,
    path("accounts/", include("accounts.urls")),
    # The compiled NHS.UK stylesheet asks for /assets/… at the site root (icons, favicons).
    re_path(r"^assets/(?P<path>.*)$", login_not_required(serve), {"document_root": settings.NHSUK_ASSETS}),
]
