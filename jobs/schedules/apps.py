from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "jobs.schedules"
    label = "schedules"
    verbose_name = "Schedules"

    def ready(self):
        from jobs.schedules import runs
        from jobs.signals import job_retried

        job_retried.connect(runs.reopen, dispatch_uid="schedules-reopen-on-retry")
