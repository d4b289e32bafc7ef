"""Roles and the permissions they grant, in one place.

`Perm` names every permission by the activity it allows, once; views, services, presenters and the
roles below use its members, never a permission string of their own. Roles are groups kept in step
with this file on every migrate (`ensure_roles`).
"""

from enum import StrEnum

from django.contrib.auth.models import Group, Permission


class Perm(StrEnum):
    """Every permission a role can hold, as Django names it (`app_label.codename`)."""

    # Work queue and cases (exceptions)
    VIEW_QUEUE = "exceptions.view_queue"
    RESOLVE_CASE = "exceptions.resolve_case"
    ASSIGN_CASE = "exceptions.assign_case"
    APPROVE_MERGE = "exceptions.approve_merge"
    VIEW_AUDIT = "exceptions.view_audit"
    VIEW_AUDIT_EVENT = "exceptions.view_auditevent"
    # The demographic master (pds)
    VIEW_PATIENT_RECORD = "pds.view_patient_record"
    AMEND_PATIENT_RECORD = "pds.amend_patient_record"
    VIEW_SENSITIVE_RECORD = "pds.view_sensitive_record"
    # The pipeline, capitation and reference data (registrations)
    VIEW_PIPELINE = "registrations.view_pipeline"
    VIEW_CAPITATION = "registrations.view_capitation"
    CLOSE_QUARTER = "registrations.close_quarter"
    VIEW_INTERCHANGE = "registrations.view_interchange"
    VIEW_TRANSACTION = "registrations.view_transaction"
    VIEW_HEALTH_AUTHORITY = "registrations.view_healthauthority"
    ADD_HEALTH_AUTHORITY = "registrations.add_healthauthority"
    CHANGE_HEALTH_AUTHORITY = "registrations.change_healthauthority"
    VIEW_PRACTICE = "registrations.view_practice"
    ADD_PRACTICE = "registrations.add_practice"
    CHANGE_PRACTICE = "registrations.change_practice"
    VIEW_GP = "registrations.view_gp"
    ADD_GP = "registrations.add_gp"
    CHANGE_GP = "registrations.change_gp"
    VIEW_LINK = "registrations.view_link"
    ADD_LINK = "registrations.add_link"
    CHANGE_LINK = "registrations.change_link"
    # Sign-in (accounts): the national role mapping table, break-glass accounts, CIS2 identities
    VIEW_ROLE_MAPPING = "accounts.view_nationalrolemapping"
    ADD_ROLE_MAPPING = "accounts.add_nationalrolemapping"
    CHANGE_ROLE_MAPPING = "accounts.change_nationalrolemapping"
    DELETE_ROLE_MAPPING = "accounts.delete_nationalrolemapping"
    VIEW_BREAK_GLASS = "accounts.view_breakglassaccount"
    ADD_BREAK_GLASS = "accounts.add_breakglassaccount"
    CHANGE_BREAK_GLASS = "accounts.change_breakglassaccount"
    DELETE_BREAK_GLASS = "accounts.delete_breakglassaccount"
    VIEW_STAFF_IDENTITY = "accounts.view_staffidentity"
    # Regional migration from NHAIS (migration): readiness and shadow runs; cutting an HA over or back
    VIEW_MIGRATION_READINESS = "migration.view_migration"
    CUT_OVER_HA = "migration.cut_over_ha"


AGENT = "NBO agent"
TEAM_LEADER = "Team leader"
PCSE_VIEWER = "PCSE viewer"
ADMINISTRATOR = "Administrator"

_AGENT = [Perm.VIEW_QUEUE, Perm.RESOLVE_CASE, Perm.VIEW_PATIENT_RECORD, Perm.VIEW_PIPELINE]
_LEADER = [
    *_AGENT,
    Perm.ASSIGN_CASE,
    Perm.APPROVE_MERGE,
    Perm.VIEW_AUDIT,
    Perm.AMEND_PATIENT_RECORD,
    Perm.VIEW_MIGRATION_READINESS,
]
_PCSE = [Perm.VIEW_CAPITATION]
_REFERENCE = [
    Perm.VIEW_HEALTH_AUTHORITY,
    Perm.ADD_HEALTH_AUTHORITY,
    Perm.CHANGE_HEALTH_AUTHORITY,
    Perm.VIEW_PRACTICE,
    Perm.ADD_PRACTICE,
    Perm.CHANGE_PRACTICE,
    Perm.VIEW_GP,
    Perm.ADD_GP,
    Perm.CHANGE_GP,
    Perm.VIEW_LINK,
    Perm.ADD_LINK,
    Perm.CHANGE_LINK,
]
_ADMIN = [
    *_LEADER,
    *_PCSE,
    *_REFERENCE,
    Perm.VIEW_SENSITIVE_RECORD,
    Perm.CLOSE_QUARTER,
    Perm.VIEW_INTERCHANGE,
    Perm.VIEW_TRANSACTION,
    Perm.VIEW_AUDIT_EVENT,
    Perm.VIEW_ROLE_MAPPING,
    Perm.ADD_ROLE_MAPPING,
    Perm.CHANGE_ROLE_MAPPING,
    Perm.DELETE_ROLE_MAPPING,
    Perm.VIEW_BREAK_GLASS,
    Perm.ADD_BREAK_GLASS,
    Perm.CHANGE_BREAK_GLASS,
    Perm.DELETE_BREAK_GLASS,
    Perm.VIEW_STAFF_IDENTITY,
    Perm.CUT_OVER_HA,
]

ROLES: dict[str, list[Perm]] = {AGENT: _AGENT, TEAM_LEADER: _LEADER, PCSE_VIEWER: _PCSE, ADMINISTRATOR: _ADMIN}


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
