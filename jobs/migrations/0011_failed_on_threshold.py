from django.db import migrations, models

# What a job failed on its error threshold said at the end of its error before this field (jobs.models.THRESHOLD_SEE).
THRESHOLD_SEE = "See errors.csv and logs/error_summary.csv for what failed."


def mark_earlier_threshold_failures(apps, schema_editor):
    BatchJob = apps.get_model("jobs", "BatchJob")
    BatchJob.objects.filter(status="Failed", error__endswith=THRESHOLD_SEE).update(failed_on_threshold=True)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0010_input_skipped"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchjob",
            name="failed_on_threshold",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_earlier_threshold_failures, migrations.RunPython.noop),
    ]
