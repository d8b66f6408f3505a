from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "workspace"
    label = "studio"  # the app was studio's: its tables (studio_datastore...) and migrations keep that label
    verbose_name = "Batch Studio workspace"
