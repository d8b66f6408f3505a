from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0012_preview_lease_until"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchjob",
            name="script_outputs",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
