"""The roles as Azure ML has them (Owner, Contributor, Data scientist, Reader): a group each, with its actions as
permissions (workspace/roles.py). Existing superusers are Owners already; other users get no role until assigned."""

import django.contrib.auth.models
from django.db import migrations


def create_roles(apps, schema_editor):
    from workspace.roles import install

    install(
        apps.get_model("auth", "Group"),
        apps.get_model("auth", "Permission"),
        apps.get_model("contenttypes", "ContentType"),
    )


def remove_roles(apps, schema_editor):
    from workspace.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("studio", "0003_datastore_credentials_datasets"),
    ]

    operations = [
        migrations.CreateModel(
            name="Role",
            fields=[],
            options={
                "verbose_name": "role",
                "permissions": [
                    (
                        "view_workspace",
                        "See endpoints, deployments, jobs, results, logs, data, models, environments, compute; own API tokens",
                    ),
                    ("run_jobs", "Submit jobs, previews and comparisons; cancel or retry one's own jobs"),
                    ("register_assets", "Register models and datasets"),
                    ("manage_endpoints", "Create, change and delete batch endpoints and deployments"),
                    ("manage_schedules", "Create, change, run, enable, disable and delete schedules"),
                    ("manage_environments", "Create and build environments"),
                    ("manage_any_job", "Cancel or retry anyone's jobs"),
                    ("manage_datastores", "Register, edit (credentials) and delete datastores; set the default"),
                    ("manage_compute", "Create, change and delete compute clusters"),
                    ("manage_users", "Add users and assign their roles"),
                ],
                "proxy": True,
                "default_permissions": (),
                "indexes": [],
                "constraints": [],
            },
            bases=("auth.group",),
            managers=[
                ("objects", django.contrib.auth.models.GroupManager()),
            ],
        ),
        migrations.RunPython(create_roles, remove_roles),
    ]
