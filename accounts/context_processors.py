from django.conf import settings

from . import cis2, typed_work


def sign_in(request) -> dict:
    """`sign_in` (the role in use, for the header), whether CIS2 sign-in is offered, and typed work given
    back to this page after signing in again (base.html hands it to static/pcrm/app.js)."""
    return {
        "sign_in": getattr(request, "sign_in", None),
        "cis2_enabled": cis2.enabled(),
        "cis2_label": settings.CIS2_SIGN_IN_LABEL,
        "typed_work": typed_work.restored(request),
        "typed_work_minutes": int(typed_work.KEEP_FOR.total_seconds() // 60),
    }
