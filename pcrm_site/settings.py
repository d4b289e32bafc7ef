"""PCRM settings.

Every value comes from an environment variable with a local default that works on a fresh
machine with no configuration (see .env.example). With DEBUG=0 the defaults that are only safe
for a laptop are refused, so production must say what it means.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Environment variable {name} is required (see .env.example)")
    return value


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_list(name: str, default: str | None) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# PCRM_MODE=production is the one switch for running as production does (`make prod`, docs/deployment.md):
# DEBUG off, secrets and hosts required from the environment, JSON logs, whitenoise manifest static files.
# Other apps ask `settings.PRODUCTION` (e.g. password sign-in is off by default in production).
PCRM_MODE = env("PCRM_MODE", "development").strip().lower()
if PCRM_MODE not in ("development", "production"):
    raise ImproperlyConfigured("PCRM_MODE must be 'development' or 'production'")
PRODUCTION = PCRM_MODE == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG=1 is refused with PCRM_MODE=production")


def secret(name: str, dev_default: str) -> str:
    """A secret: required from the environment in production (never a checked-in default), local default otherwise."""
    value = env(name, None if PRODUCTION else dev_default)
    if PRODUCTION and not value.strip():
        raise ImproperlyConfigured(f"{name} must not be empty with PCRM_MODE=production")
    return value


_DEV_SECRET = "dev-only-insecure-key-never-use-in-production-0123456789abcdefghij"
SECRET_KEY = secret("DJANGO_SECRET_KEY", _DEV_SECRET)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DEBUG=0")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", None if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "template_partials",
    "axes",
    "pgtrigger",
    "pghistory",
    "core",
    "csp",
    "django_guid",
    "pds",
    "registrations",
    # Before exceptions: its post_migrate (roles) grants permissions on accounts' models.
    "accounts",
    # Before exceptions too (same reason): the roles grant the migration permissions.
    "migration",
    "exceptions",
    "ops",
]
# The demo world, population seeding and benchmarks (`seed_demo`, `seed_population`, `bench`): on a
# developer's machine and in tests, never in production unless asked for.
DEVTOOLS = env_bool("PCRM_DEVTOOLS", DEBUG)
if DEVTOOLS:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    # A request id for every log line of the request (and of the tasks it queues), then the access log.
    "django_guid.middleware.guid_middleware",
    "ops.middleware.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "ops.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # NUL bytes and out-of-range page sizes are refused here, for every form, filter and API parameter.
    "ops.middleware.RefuseUnstorableInputMiddleware",
    # Secure by default: every view needs a login unless it is marked @login_not_required (Django's, which
    # also keeps a form posted after the session ended for the same person: accounts.typed_work).
    "accounts.middleware.LoginRequiredMiddleware",
    # The session's sign-in (CIS2 role profile and organisation) on the request, for permissions and audit.
    "accounts.middleware.SignInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # NHS.UK error pages with DEBUG on too, unless PCRM_DJANGO_ERROR_PAGES=1 asks for Django's (core/errors.py).
    "core.errors.FriendlyErrorPagesMiddleware",
]
PCRM_DJANGO_ERROR_PAGES = env_bool("PCRM_DJANGO_ERROR_PAGES", False)

ROOT_URLCONF = "pcrm_site.urls"
WSGI_APPLICATION = "pcrm_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.sign_in",
                "core.context_processors.session_timeout",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env("POSTGRES_DB", "pcrm"),
        "USER": env("POSTGRES_USER", "pcrm"),
        "PASSWORD": secret("POSTGRES_PASSWORD", "pcrm"),
        "HOST": env("POSTGRES_HOST", "127.0.0.1"),
        "PORT": env("POSTGRES_PORT", "5432"),
        "CONN_MAX_AGE": env_int("POSTGRES_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": env("POSTGRES_TEST_DB", "test_pcrm")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, except that a CIS2 session has its selected role profile's permissions only.
    "accounts.backends.SessionRoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Each role lands where its work is (exceptions.views.queue.home): PCSE viewers on capitation.
LOGIN_REDIRECT_URL = "exceptions:home"
LOGOUT_REDIRECT_URL = "login"

# Back-office sessions end after 30 idle minutes: every request renews the expiry.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Login throttling: a username is locked after repeated failures from anywhere, and a source address after
# repeated failures across any usernames (password guessing spread over many accounts).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Behind N trusted reverse proxies the client's address is the Nth from the right in X-Forwarded-For.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "ops.net.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

NODE_MODULES = BASE_DIR / "node_modules"
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("nhsuk", NODE_MODULES / "nhsuk-frontend" / "dist" / "nhsuk"),
]
# The compiled NHS.UK CSS refers to absolute /assets/… URLs.
NHSUK_ASSETS = NODE_MODULES / "nhsuk-frontend" / "dist" / "nhsuk" / "assets"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# Every django-tables2 table renders as an NHS.UK table with htmx-aware sort and page links.
DJANGO_TABLES2_TEMPLATE = "django_tables2/nhsuk_table.html"

# Production hardening, on whenever DEBUG is off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers and Prometheus probe these over the internal network, in plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Celery: Redis broker; tasks are idempotent and acknowledged late, so the visibility timeout must
# outlast the longest task or Redis would hand a running task to a second worker.
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
# A shared cache (Redis), used for cross-process coordination such as collapsing relay triggers.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", CELERY_BROKER_URL),
        "KEY_PREFIX": DATABASES["default"]["NAME"],
    }
}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_RESULT_EXPIRES = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Celery's Django fixup closes every database connection before and after every task unless this is
# set: a new PostgreSQL backend per task (#15 measured it as the largest part of a small task's CPU).
# Workers keep their connection for this many tasks, and pcrm_site.celery closes it between tasks
# when Django would (CONN_MAX_AGE, an error, a failed health check).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)

# MESH. The sandbox runs with AUTH_MODE=full and this shared key, so authentication is exercised.
MESH_URL = env("MESH_URL", "http://127.0.0.1:8700")
MESH_SHARED_KEY = secret("MESH_SHARED_KEY", "PCRMLocalKey")
MESH_MAILBOX = env("MESH_MAILBOX", "PCRMHUB01")
MESH_PASSWORD = secret("MESH_PASSWORD", "password")
MESH_PCSE_MAILBOX = env("MESH_PCSE_MAILBOX", "PCSEPAY01")
MESH_TIMEOUT_SECONDS = env_int("MESH_TIMEOUT_SECONDS", 30)
MESH_CA_BUNDLE = os.environ.get("MESH_CA_BUNDLE") or None
# Live MESH needs the client certificate issued for this environment's mailbox (mutual TLS).
MESH_CLIENT_CERT = os.environ.get("MESH_CLIENT_CERT") or None
MESH_CLIENT_KEY = os.environ.get("MESH_CLIENT_KEY") or None
MESH_POLL_SECONDS = env_int("MESH_POLL_SECONDS", 5)
# One poll downloads for at most this long, then hands over to the next (queued at once): a backlog is
# drained in slices that other tasks interleave with, far inside the task's soft time limit.
MESH_POLL_BUDGET_SECONDS = float(env("MESH_POLL_BUDGET_SECONDS", "30"))
# A message MESH will not give is retried by the next polls, which stop at it so nothing overtakes it;
# once it has failed for this long the polls go past it (it stays in the inbox, and the log says so).
MESH_DOWNLOAD_PATIENCE_SECONDS = env_int("MESH_DOWNLOAD_PATIENCE_SECONDS", 120)
OUTBOX_RELAY_SECONDS = env_int("OUTBOX_RELAY_SECONDS", 5)
# Kill switch: stop pulling from MESH without stopping the workers.
MESH_POLLING_ENABLED = env_bool("MESH_POLLING_ENABLED", True)

# PDS: where processing finds the demographic master. "local" is this database; "remote" is a PDS
# FHIR R4 endpoint (ours on another host, or the national one) reached over HTTP with a bearer token.
PDS_BACKEND = env("PDS_BACKEND", "local")
if PDS_BACKEND not in ("local", "remote"):
    raise ImproperlyConfigured("PDS_BACKEND must be 'local' or 'remote'")
PDS_FHIR_URL = env("PDS_FHIR_URL", "http://127.0.0.1:8000/pds/FHIR/R4")
PDS_API_TOKEN = env("PDS_API_TOKEN", "")
# How PCRM authenticates to a remote PDS (pds/oauth.py, docs/pds.md): "token" sends PDS_API_TOKEN as
# it is (PCRM's own FHIR API); "signed-jwt" is NHS England's application-restricted OAuth 2.0 client
# credentials, with the key registered for the app; "none" for a sandbox.
PDS_AUTH = env("PDS_AUTH", "token")
if PDS_AUTH not in ("token", "signed-jwt", "none"):
    raise ImproperlyConfigured("PDS_AUTH must be 'token', 'signed-jwt' or 'none'")
PDS_OAUTH_TOKEN_URL = env("PDS_OAUTH_TOKEN_URL", "")  # e.g. https://api.service.nhs.uk/oauth2/token
PDS_OAUTH_CLIENT_ID = env("PDS_OAUTH_CLIENT_ID", "")  # the app's API key
PDS_OAUTH_KEY_ID = env("PDS_OAUTH_KEY_ID", "")  # the kid of the public key registered for the app
PDS_OAUTH_PRIVATE_KEY = env("PDS_OAUTH_PRIVATE_KEY", "")  # PEM, or:
PDS_OAUTH_PRIVATE_KEY_FILE = env("PDS_OAUTH_PRIVATE_KEY_FILE", "")
# "application-restricted": reads, searches answered with one unique match, no updates (they become
# cases); "healthcare-worker": user-restricted access that may search for up to 50 and update.
PDS_ACCESS_MODE = env("PDS_ACCESS_MODE", "healthcare-worker")
if PDS_ACCESS_MODE not in ("application-restricted", "healthcare-worker"):
    raise ImproperlyConfigured("PDS_ACCESS_MODE must be 'application-restricted' or 'healthcare-worker'")
PDS_TRACE_MAX_RESULTS = env_int("PDS_TRACE_MAX_RESULTS", 10)  # _max-results of a trace (1..50)
PDS_END_USER_ODS = env("PDS_END_USER_ODS", "")  # NHSD-End-User-Organisation-ODS, for multi-tenant use
PDS_CONNECT_TIMEOUT_SECONDS = float(env("PDS_CONNECT_TIMEOUT_SECONDS", "3"))
PDS_READ_TIMEOUT_SECONDS = float(env("PDS_READ_TIMEOUT_SECONDS", "10"))
# Busy (429) and unavailable (5xx) answers are retried this many times in all, with backoff.
PDS_MAX_ATTEMPTS = env_int("PDS_MAX_ATTEMPTS", 3)
PDS_BACKOFF_SECONDS = float(env("PDS_BACKOFF_SECONDS", "0.5"))

# Processing.
PROCESSING_MAX_ATTEMPTS = env_int("PROCESSING_MAX_ATTEMPTS", 5)
PROCESSING_LOCK_TIMEOUT_MS = env_int("PROCESSING_LOCK_TIMEOUT_MS", 5000)
# Ordered processing (ADR 0015): a partner run stops after this long so others get a turn, and a
# transaction waiting for an earlier one about the same patient (not for a person) is held with a
# case after this long.
PARTNER_RUN_SECONDS = float(env("PARTNER_RUN_SECONDS", "20"))
ORDERING_WAIT_SECONDS = env_int("ORDERING_WAIT_SECONDS", 600)
# Work whose task was lost (a broker restart, a killed worker) is queued again after this long.
STALLED_AFTER_SECONDS = env_int("STALLED_AFTER_SECONDS", 120)
RECEP_MISSING_AFTER_HOURS = env_int("RECEP_MISSING_AFTER_HOURS", 48)
# MESH does not promise delivery order: a skipped number is only a gap if it is still missing after this.
SEQUENCE_GAP_GRACE_SECONDS = env_int("SEQUENCE_GAP_GRACE_SECONDS", 600)
# A partner's number more than this far ahead of the last one (or behind it) is not a gap but a
# re-seeded counter or a number sent in error: reported once, and numbering continues from it.
SEQUENCE_WINDOW = env_int("SEQUENCE_WINDOW", 10_000)
# An interchange whose reading fails unexpectedly (not a codec error) is retried this often, then INVALID.
INGEST_MAX_ATTEMPTS = env_int("INGEST_MAX_ATTEMPTS", 3)

CELERY_BEAT_SCHEDULE = {
    "mesh-poll": {"task": "registrations.tasks.poll_mesh_inbox", "schedule": float(MESH_POLL_SECONDS)},
    "outbox-relay": {"task": "registrations.tasks.relay_outbox", "schedule": float(OUTBOX_RELAY_SECONDS)},
    "mesh-handshake": {"task": "registrations.tasks.validate_mailbox", "schedule": 6 * 3600.0},
    "requeue-stalled": {"task": "registrations.tasks.requeue_stalled", "schedule": 60.0},
    "missing-receps": {"task": "registrations.tasks.report_missing_receps", "schedule": 15 * 60.0},
}

# Logs: JSON lines on stdout in production (ops.logs: request and task ids, no personal data), plain text
# in development. LOG_FORMAT overrides the choice.
LOG_FORMAT = env("LOG_FORMAT", "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},
        # The access log (ops.middleware) already has every request; Django's 4xx warnings would repeat it.
        "django.request": {"level": "ERROR"},
        "pcrm.access": {"level": "INFO" if env_bool("ACCESS_LOG", True) else "WARNING"},
    },
}
if PRODUCTION:
    # Python warnings (e.g. Celery's about running as root) become log lines, so every line is JSON.
    import logging

    logging.captureWarnings(True)

# Request ids (django-guid): a caller's X-Request-ID (a UUID) is kept, otherwise one is made; Celery tasks
# carry the id of the request that queued them. The FHIR API echoes X-Request-ID itself, so no header here.
from django_guid.integrations import CeleryIntegration  # noqa: E402

DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": False,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=False)],
}

# Headers. A Content-Security-Policy without 'unsafe-inline' (scripts and styles come from our origin; a
# nonce is available as request.csp_nonce for any script that must be inline), and no powerful features.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        # The NHS.UK stylesheet loads the Frutiger font from NHS England's asset host.
        "font-src": [SELF, "https://assets.nhs.uk"],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # No form-action: sign-in and "Change role" are forms whose answer redirects to CIS2 (#20).
        "frame-ancestors": [NONE],
    }
}
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Health (/healthz, /readyz) and metrics (/metrics): see ops/ and docs/deployment.md.
MESH_READY_MAX_AGE_SECONDS = env_int("MESH_READY_MAX_AGE_SECONDS", 600)
WORKER_READY_MAX_AGE_SECONDS = env_int("WORKER_READY_MAX_AGE_SECONDS", 60)
BEAT_READY_MAX_AGE_SECONDS = env_int("BEAT_READY_MAX_AGE_SECONDS", 120)
INBOUND_READY_MAX_AGE_SECONDS = env_int("INBOUND_READY_MAX_AGE_SECONDS", 3600)
METRICS_TOKEN = env("METRICS_TOKEN", "")
METRICS_ALLOW_LOCALHOST = env_bool("METRICS_ALLOW_LOCALHOST", True)
CELERY_BEAT_SCHEDULER = "ops.heartbeat:RecordingScheduler"

# Processing rules (docs: gplinks-protocol section 6). Every automatic decision that the sources
# leave open is a setting here, so a product decision never needs a code change.
PROCESSING_WRONG_HA_REJECTS = env_bool("PROCESSING_WRONG_HA_REJECTS", True)  # False: a case instead of an F3
PROCESSING_R_LOOKBACK_DAYS = env_int("PROCESSING_R_LOOKBACK_DAYS", 180)  # an R re-send must follow our F3
PROCESSING_EMIGRATION_AUTO = env_bool("PROCESSING_EMIGRATION_AUTO", True)  # False: emigration DERs reviewed
PROCESSING_ADDRESS_RETRIES = env_int("PROCESSING_ADDRESS_RETRIES", 3)  # re-reads on a PDS version conflict
# Regional migration (#19): the shadow run's agreement with NHAIS an HA needs before cut-over (docs/migration.md).
MIGRATION_SHADOW_MIN_AGREEMENT_PERCENT = env_int("MIGRATION_SHADOW_MIN_AGREEMENT_PERCENT", 95)
REMOVAL_DEDUCTION_REASON = env("REMOVAL_DEDUCTION_REASON", "9")  # approved out-of-area removal (G3)
FP69_EXPIRY_MONTHS = env_int("FP69_EXPIRY_MONTHS", 6)
FP69_DEFAULT_REASON = env("FP69_DEFAULT_REASON", "8")  # 8 = other reason, the only attested code
FP69_EXPIRY_DEDUCTION_REASON = env("FP69_EXPIRY_DEDUCTION_REASON", "14")  # 14 returned undelivered (or 13)
CELERY_BEAT_SCHEDULE["fp69-expiry"] = {"task": "registrations.tasks.expire_fp69_flags", "schedule": 3600.0}
# Held deductions (#12): an approved out-of-area removal waits this many days (PCSE's notice period);
# a deduction dated in the future waits for its date. Beat deducts them hourly once due.
REMOVAL_NOTICE_DAYS = env_int("REMOVAL_NOTICE_DAYS", 30)
# A restricted (S-flagged) patient's old practice is told only that they left: reason 13 (other), never
# 2 with NAD+NFH (the new HA) or 3 (same HA), which would say where they went. ADR 0014.
SENSITIVE_TRANSFER_DEDUCTION_REASON = env("SENSITIVE_TRANSFER_DEDUCTION_REASON", "13")
# F3 means "wrong HA" to GP systems: other refusals of an acceptance send nothing over GP Links (ADR 0014).
PROCESSING_F3_FOR_OTHER_REFUSALS = env_bool("PROCESSING_F3_FOR_OTHER_REFUSALS", False)
# F1 amendments (#12): the practice is told a re-keyed NHS number, and name, birth date or sex changes a
# person makes in PDS on a case.
PROCESSING_F1_ON_REKEY = env_bool("PROCESSING_F1_ON_REKEY", True)
PROCESSING_F1_ON_CORRECTION = env_bool("PROCESSING_F1_ON_CORRECTION", True)
PROCESSING_REMOVAL_AUTO = env_bool("PROCESSING_REMOVAL_AUTO", False)  # True: a clean G3 starts the notice itself
CELERY_BEAT_SCHEDULE["held-deductions"] = {"task": "registrations.tasks.deduct_held", "schedule": 3600.0}
# Deaths recorded in PDS by any route are acted on (F2 reason 1, or a case when informal) every 15 minutes.
CELERY_BEAT_SCHEDULE["deaths"] = {"task": "registrations.tasks.act_on_deaths", "schedule": 15 * 60.0}

# The dashboard's charts: chart.js from npm, served as static files with no build step (like nhsuk-frontend).
STATICFILES_DIRS += [("chartjs", NODE_MODULES / "chart.js" / "dist")]
# A locked-out sign-in (django-axes) gets an NHS.UK page saying why and for how long, with status 429.
AXES_LOCKOUT_TEMPLATE = "exceptions/lockout.html"

# Close of quarter and capitation (registrations.capitation). Beat checks hourly whether a quarter has
# just ended; it closes one that ended at most this many days ago, so a new installation never closes
# quarters that were over before it existed.
CELERY_IMPORTS = ("registrations.capitation.tasks",)
CAPITATION_AUTO_CLOSE_WITHIN_DAYS = env_int("CAPITATION_AUTO_CLOSE_WITHIN_DAYS", 10)
CAPITATION_SEND_MAX_ATTEMPTS = env_int("CAPITATION_SEND_MAX_ATTEMPTS", 5)
CAPITATION_STALLED_AFTER_SECONDS = env_int("CAPITATION_STALLED_AFTER_SECONDS", 900)
# The quarter closes when it is complete (#12; ADR 0014): after this many working days past its end
# (PCSE works to about ten), transactions dated inside it still count for it. Working days skip
# weekends and these bank holidays (England and Wales; extend the list for later years).
CAPITATION_GRACE_WORKING_DAYS = env_int("CAPITATION_GRACE_WORKING_DAYS", 10)
CAPITATION_BANK_HOLIDAYS = env_list(
    "CAPITATION_BANK_HOLIDAYS",
    "2026-01-01,2026-04-03,2026-04-06,2026-05-04,2026-05-25,2026-08-31,2026-12-25,2026-12-28,"
    "2027-01-01,2027-03-26,2027-03-29,2027-05-03,2027-05-31,2027-08-30,2027-12-27,2027-12-28",
)
# Each nation's payer gets its own practices' capitation, never another's: PCSE (MESH_PCSE_MAILBOX)
# gets this nation's; the others go to the mailboxes named here, e.g. "Wales=NWSSP001,Isle of Man=IOM001".
# A nation with no mailbox is kept (the report page shows it) and not sent.
CAPITATION_PCSE_NATION = env("CAPITATION_PCSE_NATION", "England")
CAPITATION_NATION_RECIPIENTS = dict(
    item.split("=", 1) for item in env_list("CAPITATION_NATION_RECIPIENTS", "") if "=" in item
)
CELERY_BEAT_SCHEDULE["close-quarter"] = {"task": "registrations.capitation.tasks.close_due_quarter", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["capitation-acknowledgements"] = {
    "task": "registrations.capitation.tasks.check_capitation_acknowledgements",
    "schedule": 15 * 60.0,
}

# Sign-in (accounts; docs/authentication.md). Staff sign in through NHS Care Identity Service 2 (OpenID
# Connect). Development and tests use a local OpenID provider (scripts/cis2-local) with the demo staff.
_LOCAL_CIS2 = "http://127.0.0.1:8710"
CIS2_ISSUER = env("CIS2_ISSUER", _LOCAL_CIS2 if DEBUG else "")  # empty: CIS2 sign-in off
CIS2_CLIENT_ID = env("CIS2_CLIENT_ID", "pcrm-local" if DEBUG else "")
# PCRM's private key (PEM) for private_key_jwt; its public half is registered with CIS2.
CIS2_CLIENT_KEY_FILE = env("CIS2_CLIENT_KEY_FILE", str(BASE_DIR / ".run" / "cis2-client-key.pem"))
CIS2_CLIENT_KEY_ID = env("CIS2_CLIENT_KEY_ID", "")  # the key's kid, when the registration names one
CIS2_SCOPES = env_list("CIS2_SCOPES", "openid,profile,email,nhsperson,associatedorgs,nationalrbacaccess,selectedrole")
CIS2_ACR_VALUES = env_list("CIS2_ACR_VALUES", "AAL3_ANY")  # the ID token's acr must be one of these
CIS2_CLOCK_SKEW_SECONDS = env_int("CIS2_CLOCK_SKEW_SECONDS", 60)
CIS2_TIMEOUT_SECONDS = float(env("CIS2_TIMEOUT_SECONDS", "10"))
CIS2_SIGN_IN_LABEL = env(
    "CIS2_SIGN_IN_LABEL",
    "Sign in with CIS2 (local)" if CIS2_ISSUER == _LOCAL_CIS2 else "Sign in with your smartcard (CIS2)",
)
# Local username/password sign-in: "all" local accounts (demo and development), "break-glass" accounts only
# (accounts.BreakGlassAccount, every sign-in audited), or "off". Off in production unless set.
PASSWORD_SIGN_IN = env("PCRM_PASSWORD_SIGN_IN", "all" if DEBUG else "off").strip().lower()
