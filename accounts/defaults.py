"""The national role mapping PCRM ships with (docs/authentication.md); an administrator edits it in Django admin.

B0825 is a national RBAC activity; B9101-B9103 are placeholders for the PCRM activities the national RBAC
team would issue, used by the demo staff of the local CIS2 provider. Installed by migration
0002_i20_default_role_mappings (and by tests, whose database flushes remove it).
"""

from core import roles

ROWS = [
    ("B0825", "Amend Patient Demographics (national activity)", roles.AGENT),
    ("B9101", "PCRM: lead the exceptions team (placeholder until issued)", roles.TEAM_LEADER),
    ("B9102", "PCRM: view capitation (placeholder until issued)", roles.PCSE_VIEWER),
    ("B9103", "PCRM: administer reference data (placeholder until issued)", roles.ADMINISTRATOR),
]


def install(group_model, mapping_model) -> None:
    """Add the shipped rows that are missing. PCRM roles are made by name if need be: ensure_roles gives
    them their permissions after every migrate."""
    for code, description, role in ROWS:
        group, _ = group_model.objects.get_or_create(name=role)
        mapping_model.objects.get_or_create(
            code=code, organisation="", pcrm_role=group, defaults={"description": description}
        )
