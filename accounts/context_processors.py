from django.conf import settings

from . import cis2


def sign_in(request) -> dict:
    """`sign_in` (the role in use, for the header) and whether CIS2 sign-in is offered."""
    return {
        "sign_in": getattr(request, "sign_in", None),
        "cis2_enabled": cis2.enabled(),
        "cis2_label": settings.CIS2_SIGN_IN_LABEL,
    }
