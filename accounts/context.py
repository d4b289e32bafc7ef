"""What a person signed in as: the CIS2 role profile (or the password kind) a session acts under.

It is worked out once, at sign-in (accounts.services), kept in the session, and put on every request by
accounts.middleware, so permission checks (accounts.backends) and the audit log read the role in use
without each caller passing it. This module imports nothing of PCRM's, so any app may read it.
"""

import contextvars
from dataclasses import asdict, dataclass, field

SESSION_KEY = "pcrm_sign_in"

CIS2 = "cis2"
PASSWORD = "password"
BREAK_GLASS = "break-glass"


@dataclass(frozen=True)
class SignIn:
    user_id: int
    method: str  # CIS2, PASSWORD or BREAK_GLASS
    pcrm_roles: tuple[str, ...] = ()  # the PCRM roles (groups) this sign-in grants
    role_profile_id: str = ""  # CIS2 person_roleid of the selected role profile
    role_name: str = ""  # the role profile's job role, as a person reads it
    role_code: str = ""  # national RBAC codes, e.g. S8000:G8001:R8008
    org_code: str = ""  # ODS code of the organisation the role profile belongs to
    org_name: str = ""
    acr: str = ""  # the authentication assurance CIS2 asserted, e.g. AAL3_ANY
    activity_codes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def via_cis2(self) -> bool:
        return self.method == CIS2

    @property
    def audit_role(self) -> str:
        """The PCRM roles in words for the audit log; a break-glass sign-in says so."""
        roles = ", ".join(self.pcrm_roles)
        return f"{roles} (break-glass)" if self.method == BREAK_GLASS else roles

    def to_session(self) -> dict:
        return asdict(self)

    @classmethod
    def from_session(cls, data) -> "SignIn | None":
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                **{
                    **data,
                    "pcrm_roles": tuple(data.get("pcrm_roles", ())),
                    "activity_codes": tuple(data.get("activity_codes", ())),
                }
            )
        except TypeError:  # a session written by an older release: treat as no sign-in context
            return None


_current: contextvars.ContextVar[SignIn | None] = contextvars.ContextVar("pcrm_sign_in", default=None)


def current() -> SignIn | None:
    """The sign-in of the request being served (None in tasks, commands and anonymous requests)."""
    return _current.get()


def activate(sign_in: SignIn | None) -> contextvars.Token:
    return _current.set(sign_in)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


def for_user(user) -> SignIn | None:
    """The current sign-in if it is this user's (an audit call about someone else gets nothing)."""
    sign_in = current()
    if sign_in is None or user is None or getattr(user, "pk", None) != sign_in.user_id:
        return None
    return sign_in
