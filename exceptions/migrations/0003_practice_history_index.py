from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0002_queue_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="exceptioncase",
            index=models.Index(fields=["practice_ods", "opened_at", "id"], name="exc_practice_history"),
        ),
    ]
