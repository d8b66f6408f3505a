from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Batch jobs"

    def ready(self):
        # Wiring only: the lifecycle's notices reach the features above it, and migrate sets up the reclaim schedule.
        from jobs import comparison, models, queue, signals
        from workspace.models import datastore_in_use

        post_migrate.connect(queue.ensure_schedules, sender=self)
        signals.job_finished.connect(comparison.on_job_finished, dispatch_uid="comparison-on-job-finished")
        datastore_in_use.connect(models.jobs_using_datastore, dispatch_uid="jobs-using-datastore")
