"""Roles are groups whose permissions are named for what people do, kept in step on every migrate."""

from django.contrib.auth.models import Group, Permission

AGENT = "NBO agent"
TEAM_LEADER = "Team leader"
PCSE_VIEWER = "PCSE viewer"
ADMINISTRATOR = "Administrator"

_AGENT = ["exceptions.view_queue", "exceptions.resolve_case", "pds.view_patient_record", "registrations.view_pipeline"]
_LEADER = [
    *_AGENT,
    "exceptions.assign_case",
    "exceptions.approve_merge",
    "exceptions.view_audit",
    "pds.amend_patient_record",
]
_PCSE = ["registrations.view_capitation"]
_REFERENCE = [
    f"registrations.{action}_{model}"
    for model in ("healthauthority", "practice", "gp", "link")
    for action in ("view", "add", "change")
]
_ADMIN = [
    *_LEADER,
    *_PCSE,
    *_REFERENCE,
    "pds.view_sensitive_record",
    "registrations.close_quarter",
    "registrations.view_interchange",
    "registrations.view_transaction",
    "exceptions.view_auditevent",
]

ROLES = {AGENT: _AGENT, TEAM_LEADER: _LEADER, PCSE_VIEWER: _PCSE, ADMINISTRATOR: _ADMIN}


def _permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def ensure_roles(**kwargs) -> None:
    for role, names in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([_permission(n) for n in names])


def role_of(user) -> str:
    names = sorted(user.groups.values_list("name", flat=True)) if user.is_authenticated else []
    return ", ".join(names) or ("superuser" if getattr(user, "is_superuser", False) else "")
