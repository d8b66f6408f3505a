from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0013_batchjob_script_outputs"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchjob",
            name="model_alias",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="preview",
            name="model_alias",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
