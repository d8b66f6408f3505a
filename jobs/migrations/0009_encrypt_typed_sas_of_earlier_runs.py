"""Jobs and previews submitted before 0008 kept a SAS token typed in a public input URL in clear: in input_uri and
in their mini-batches' file names. Store them as new runs are stored: the token encrypted in input_sas_encrypted,
input_uri redacted, file names without the query (the engine adds the token back to each request)."""

from django.db import migrations


def _split(url: str) -> tuple[str, str]:
    from workspace.storage import split_sas

    return split_sas(url)


def encrypt_typed_sas(apps, schema_editor):
    from workspace.redact import redact
    from workspace.secrets import encrypt

    for model in ("BatchJob", "Preview"):
        for run in apps.get_model("jobs", model).objects.filter(
            input_datastore="", input_sas_encrypted="", input_uri__contains="?"
        ):
            _, sas = _split(run.input_uri)
            if not sas:
                continue
            run.input_sas_encrypted = encrypt(sas)
            run.input_uri = redact(run.input_uri)
            fields = ["input_sas_encrypted", "input_uri"]
            if model == "Preview":
                run.files, fields = [_split(f)[0] for f in run.files], [*fields, "files"]
            run.save(update_fields=fields)
            if model == "BatchJob":
                for mb in apps.get_model("jobs", "MiniBatch").objects.filter(job_id=run.pk):
                    mb.files = [_split(f)[0] for f in mb.files]
                    mb.save(update_fields=["files"])


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0008_input_sas_encrypted"),
    ]

    operations = [
        migrations.RunPython(encrypt_typed_sas, migrations.RunPython.noop),
    ]
