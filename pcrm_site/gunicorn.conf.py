"""gunicorn settings for production mode (scripts/prod.sh). Every value can be set from the environment."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "1"))
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "60"))
graceful_timeout = 30
# Bounded request lines and headers; bodies are bounded by Django (DATA_UPLOAD_MAX_MEMORY_SIZE).
limit_request_line = 8190
limit_request_fields = 100
# The TLS-terminating proxy in front (docs/deployment.md) may set X-Forwarded-Proto; only trust it from there.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No gunicorn access log: it would write raw URLs with their query strings. PCRM writes its own
# (ops.middleware.AccessLogMiddleware): the route, never the path's values or the query.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ops.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": loglevel.upper()},
}
raw_env = ["PCRM_PROCESS=web"]
# gunicorn's control socket defaults to one path per user (~/.gunicorn): two instances on a machine would
# fight over it, and nothing here uses it.
control_socket_disable = True
