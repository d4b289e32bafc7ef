from django.conf import settings


def session_timeout(request) -> dict:
    """How long a session lasts without activity, and when to warn before it ends (static/pcrm/app.js):
    two minutes before, or halfway through a session shorter than four minutes."""
    seconds = settings.SESSION_COOKIE_AGE
    return {"session_seconds": seconds, "session_warning_seconds": min(120, seconds // 2)}
