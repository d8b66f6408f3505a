from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Batch jobs"

    def ready(self):
        # Wiring only: the lifecycle's notices reach the features above it, and migrate sets up the reclaim schedule.
        from django_q.signals import post_spawn

        from endpoints.models import BatchDeployment
        from jobs import comparison, hosting, models, queue, signals, warm
        from workspace.compute import heartbeat
        from workspace.models import datastore_in_use

        post_migrate.connect(queue.ensure_schedules, sender=self)
        post_spawn.connect(warm.on_spawn, dispatch_uid="warm-starts")
        post_save.connect(warm.on_deployment_saved, sender=BatchDeployment, dispatch_uid="warm-on-save")
        # a worker's beat lists the hosts it has loaded and those it is loading
        heartbeat.reports.append(lambda: {"loaded": hosting.loaded(), "loading": hosting.loading()})
        signals.job_finished.connect(comparison.on_job_finished, dispatch_uid="comparison-on-job-finished")
        datastore_in_use.connect(models.jobs_using_datastore, dispatch_uid="jobs-using-datastore")
