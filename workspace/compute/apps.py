from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "workspace.compute"
    label = "compute"
    verbose_name = "Compute"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django_q.signals import post_spawn

        from workspace.compute import heartbeat

        post_spawn.connect(heartbeat.start, dispatch_uid="compute-heartbeat")
