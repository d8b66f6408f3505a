from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Batch jobs"

    def ready(self):
        from jobs.signals import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
