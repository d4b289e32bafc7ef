"""Load the 89 NHAIS health-authority ciphers (spec Appendix D) as reference data.

No HA starts migrated: an administrator cuts each over in Django admin.
"""

from django.db import migrations


def load(apps, schema_editor):
    from registrations.mesh_directory import ha_rows, nhais_mailbox

    HealthAuthority = apps.get_model("registrations", "HealthAuthority")
    for row in ha_rows():
        HealthAuthority.objects.update_or_create(
            cipher=row.cipher,
            defaults={"name": row.name, "nation": row.nation, "link_code": row.link_code,
                      "nhais_mailbox": nhais_mailbox(row.cipher)},
        )


class Migration(migrations.Migration):
    dependencies = [("registrations", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
