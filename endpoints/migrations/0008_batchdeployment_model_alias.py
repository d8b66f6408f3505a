from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("endpoints", "0007_batchdeployment_output_header"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchdeployment",
            name="model_alias",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
