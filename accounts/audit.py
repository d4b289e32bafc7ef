"""The port through which sign-ins are audited, without importing the app that keeps the audit log.

The exceptions app plugs its writer (exceptions.audit.record) in at start-up, as it does for pds, so the
dependency runs exceptions -> accounts. With no writer plugged in a sign-in is refused loudly.
"""

from collections.abc import Callable
from typing import Any

SIGN_IN = "sign_in"
SIGN_IN_REFUSED = "sign_in_refused"
BREAK_GLASS_SIGN_IN = "break_glass_sign_in"
CHANGE_ROLE = "change_role"

_sink: Callable[..., Any] | None = None


def register_audit_sink(sink: Callable[..., Any]) -> None:
    global _sink
    _sink = sink


def record(user=None, action: str = "", **kwargs) -> Any:
    if _sink is None:
        raise RuntimeError("No audit sink registered: is the 'exceptions' app installed?")
    return _sink(user, action, **kwargs)
