from django.db import migrations


def create_default(apps, schema_editor):
    Datastore = apps.get_model("studio", "Datastore")
    if not Datastore.objects.filter(is_default=True).exists():
        Datastore.objects.get_or_create(
            name="workspaceblobstore",
            defaults={"kind": "local", "is_default": True, "description": "The workspace's default datastore."},
        )


class Migration(migrations.Migration):
    dependencies = [("studio", "0001_initial")]
    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
