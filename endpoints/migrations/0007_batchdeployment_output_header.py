from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("endpoints", "0006_error_threshold_max"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchdeployment",
            name="output_header",
            field=models.BooleanField(default=True),
        ),
    ]
