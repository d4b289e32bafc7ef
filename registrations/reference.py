"""Reference data that must always be present: the NHAIS health-authority ciphers (spec Appendix D).

Loaded after every migrate (and flush), creating only missing rows, so an administrator's cut-over
settings are never overwritten. No HA starts migrated: each is cut over in Django admin.
"""

from .mesh_directory import ha_rows, nhais_mailbox


def ensure_health_authorities(*, using: str = "default", **kwargs) -> int:
    from .models import HealthAuthority

    existing = set(HealthAuthority.objects.using(using).values_list("cipher", flat=True))
    missing = [
        HealthAuthority(
            cipher=r.cipher, name=r.name, nation=r.nation, link_code=r.link_code, nhais_mailbox=nhais_mailbox(r.cipher)
        )
        for r in ha_rows()
        if r.cipher not in existing
    ]
    HealthAuthority.objects.using(using).bulk_create(missing)
    return len(missing)
