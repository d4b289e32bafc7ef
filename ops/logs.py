"""Private structured logs: one JSON object per line, with the request id and the Celery task id, and no
personal data.

What keeps personal data out:
- our own code logs no patient details (ids of rows, counts, codes only);
- the access log (ops.middleware) writes the URL's route, never the raw path or the query string;
- Django's and Celery's own lines are rebuilt from safe parts (the route, the exception's class);
- an exception is written as its class and the frames it passed through, never its message: a
  database error echoes the values it refused (psycopg's DETAIL: Key (nhs_number)=(…) already exists);
- as a last net, anything shaped like an NHS number or a postcode is masked in every line.
"""

import datetime as dt
import logging
import os
import re
import traceback

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

NHS_NUMBER_LIKE = re.compile(r"(?<!\d)(?:\d[ -]?){9}\d(?!\d)")
POSTCODE_LIKE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
DETAIL = re.compile(r"\s*DETAIL:.*", re.DOTALL)
# Extra attributes a log call may attach that are safe by construction (ids, codes, numbers).
SAFE_EXTRAS = ("method", "route", "status", "duration_ms", "user_id", "bytes")


def redact(text: str) -> str:
    text = DETAIL.sub(" [detail withheld]", text)
    text = NHS_NUMBER_LIKE.sub("[number withheld]", text)
    return POSTCODE_LIKE.sub("[postcode withheld]", text)


def route_of(request) -> str:
    """The URL pattern that answered, with ids kept and every other path value replaced by its name."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            from django.urls import Resolver404, resolve

            match = resolve(request.path_info)
        except (Resolver404, ValueError):
            return "(no route)"
        except Exception:
            return "(no route)"
    route = match.route or ""
    for name, value in match.kwargs.items():
        shown = str(value) if isinstance(value, int) else f"<{name}>"
        route = re.sub(rf"<(?:\w+:)?{re.escape(name)}>", shown, route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route)  # regex routes
    return "/" + route.lstrip("^").rstrip("$")


def _message(record: logging.LogRecord) -> str:
    request = getattr(record, "request", None)
    if request is not None and record.name.startswith("django.") and isinstance(record.args, tuple) and record.args:
        # Django's "Not Found: /path", "Internal Server Error: /path", "Forbidden (CSRF …): /path".
        return f"{record.args[0]}: {route_of(request)}"
    if isinstance(record.args, dict) and "exc" in record.args:
        # Celery's "Task x[id] raised unexpected: <exception repr>" carries the exception's message.
        args = {**record.args, "exc": type(record.args["exc"]).__name__, "traceback": "", "args": "", "kwargs": ""}
        try:
            return str(record.msg) % args
        except (TypeError, ValueError, KeyError):
            return str(record.msg)
    try:
        return record.getMessage()
    except Exception:
        return str(record.msg)


def exception_outline(exc_info) -> str:
    """The exception's class and the frames it passed through; never its message or any value."""
    _type, exc, tb = exc_info
    lines = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        lines.append(f"{type(exc).__module__}.{type(exc).__qualname__} (message withheld)")
        lines += [f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(exc.__traceback__)]
        exc = exc.__cause__ or exc.__context__
        if exc is not None:
            lines.append("caused by / during handling of:")
    return "\n".join(lines)


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger's formatter, writing only the fields we chose."""

    def formatException(self, ei) -> str:
        return exception_outline(ei)

    def add_fields(self, log_data, record, message_dict) -> None:
        log_data["time"] = dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["process"] = os.environ.get("PCRM_PROCESS", "web")
        log_data["message"] = redact(_message(record))
        request_id = _request_id()
        if request_id:
            log_data["request_id"] = request_id
        task = _task()
        if task:
            log_data["task_id"], log_data["task"] = task
        for name in SAFE_EXTRAS:
            if name in record.__dict__:
                log_data[name] = record.__dict__[name]
        if record.exc_info:
            log_data["exception"] = exception_outline(record.exc_info)


def _request_id() -> str | None:
    try:
        from django_guid import get_guid

        return get_guid()
    except Exception:
        return None


def _task() -> tuple[str, str] | None:
    try:
        from celery import current_task
    except ImportError:
        return None
    task = current_task
    if task is None or not getattr(task, "request", None) or not task.request.id:
        return None
    return task.request.id, task.name
