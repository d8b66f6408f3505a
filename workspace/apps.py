from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "workspace"
    label = "studio"  # the app was studio's: its tables (studio_datastore...) and migrations keep that label
    verbose_name = "Batch Studio workspace"

    def ready(self):
        from django.db.models.signals import pre_save

        from workspace import checks  # noqa: F401  (registers the system checks)
        from workspace.limits import refuse_long_description

        pre_save.connect(refuse_long_description, dispatch_uid="refuse_long_description")
