"""National RBAC rules: which role profile a CIS2 sign-in selected, and which PCRM roles it grants.

Pure functions over the claims (no database, no HTTP), so the decisions are tested on their own.
Claims read (docs/authentication.md):
- `selected_roleid` (ID token, or UserInfo): the person_roleid of the role profile chosen at sign-in.
- `nhsid_nrbac_roles` (UserInfo, scope nationalrbacaccess): every role profile the person holds, each
  with `person_roleid`, `org_code`, `role_name`, `role_code` (S…:G…:R…) and `activity_codes` (B…).
- `nhsid_user_orgs` (UserInfo, scope associatedorgs): organisation names by `org_code`.
"""

from collections.abc import Iterable
from dataclasses import dataclass


class RoleRefused(Exception):
    """The sign-in names no usable role profile; `reason` is one of the REASONS below."""

    def __init__(self, reason: str, profile: "RoleProfile | None" = None):
        super().__init__(reason)
        self.reason = reason
        self.profile = profile


NO_ROLE_SELECTED = "no_role_selected"
UNKNOWN_ROLE = "unknown_role"
NOTHING_GRANTED = "nothing_granted"


@dataclass(frozen=True)
class RoleProfile:
    role_id: str
    role_name: str
    role_code: str
    org_code: str
    org_name: str
    activity_codes: tuple[str, ...]

    @property
    def job_role_code(self) -> str:
        """The R… code within role_code (S8000:G8001:R8008 -> R8008)."""
        return next((part for part in self.role_code.split(":") if part.startswith("R")), "")

    @property
    def codes(self) -> frozenset[str]:
        """Every national RBAC code a mapping row may name: the activities and the job role."""
        return frozenset([*self.activity_codes, self.job_role_code]) - {""}

    @property
    def title(self) -> str:
        """The job role as a person reads it: the last part of role_name, without CIS2's quotes."""
        return self.role_name.split(":")[-1].strip().strip('"') or self.role_code


@dataclass(frozen=True)
class Mapping:
    code: str
    organisation: str  # "" for any organisation
    pcrm_role: str


def role_profiles(userinfo: dict) -> list[RoleProfile]:
    names = {
        str(org.get("org_code", "")): str(org.get("org_name", ""))
        for org in userinfo.get("nhsid_user_orgs") or []
        if isinstance(org, dict)
    }
    profiles = []
    for role in userinfo.get("nhsid_nrbac_roles") or []:
        if not isinstance(role, dict) or not role.get("person_roleid"):
            continue
        org_code = str(role.get("org_code", ""))
        profiles.append(
            RoleProfile(
                role_id=str(role["person_roleid"]),
                role_name=str(role.get("role_name", "")),
                role_code=str(role.get("role_code", "")),
                org_code=org_code,
                org_name=names.get(org_code, ""),
                activity_codes=tuple(str(code) for code in role.get("activity_codes") or []),
            )
        )
    return profiles


def selected_profile(id_claims: dict, userinfo: dict) -> RoleProfile:
    """The role profile the person chose at sign-in; RoleRefused when there is none we can trust."""
    selected = str(id_claims.get("selected_roleid") or userinfo.get("selected_roleid") or "")
    if not selected:
        raise RoleRefused(NO_ROLE_SELECTED)
    for profile in role_profiles(userinfo):
        if profile.role_id == selected:
            return profile
    # A selected role the person does not hold (per the same provider) is never guessed at.
    raise RoleRefused(UNKNOWN_ROLE)


def granted_roles(profile: RoleProfile, mappings: Iterable[Mapping]) -> tuple[str, ...]:
    """The PCRM roles the mapping table grants this role profile, sorted; RoleRefused if none."""
    roles = {
        m.pcrm_role
        for m in mappings
        if m.code in profile.codes and (not m.organisation or m.organisation == profile.org_code)
    }
    if not roles:
        raise RoleRefused(NOTHING_GRANTED, profile)
    return tuple(sorted(roles))
