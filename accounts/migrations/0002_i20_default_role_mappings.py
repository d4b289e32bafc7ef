from django.db import migrations

from accounts import defaults


def add_rows(apps, schema_editor):
    defaults.install(apps.get_model("auth", "Group"), apps.get_model("accounts", "NationalRoleMapping"))


def remove_rows(apps, schema_editor):
    Mapping = apps.get_model("accounts", "NationalRoleMapping")
    for code, _, role in defaults.ROWS:
        Mapping.objects.filter(code=code, organisation="", pcrm_role__name=role).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_i20_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(add_rows, remove_rows)]
