"""The one place that talks to django-q2: tasks go to the compute cluster the job runs on."""

from django.conf import settings
from django_q.models import Schedule
from django_q.tasks import async_task

from workspace.compute.live import queue_of

RECLAIM = "jobs.tasks.reclaim_stale"


def _send(func: str, *args, cluster: str, name: str, **kwargs):
    async_task(func, *args, **kwargs, q_options={"cluster": queue_of(cluster), "task_name": name})


def dispatch_later(job):
    _send("jobs.tasks.dispatch", job.pk, cluster=job.compute, name=f"dispatch {job.name}")


def run_later(job, mini_batch_id: int, index: int):
    _send("jobs.tasks.run_minibatch", mini_batch_id, cluster=job.compute, name=f"run {job.name}#{index}")


def run_schedule_later(schedule, run_id: int):
    _send(
        "jobs.schedules.runs.run_schedule",
        schedule.pk,
        run_id=run_id,
        cluster=schedule.cluster(),
        name=f"run schedule {schedule.name}",
    )


def warm_later(deployment, workers: int, resends: int = 0):
    """A warm start of deployment's scoring host for each of the `workers` live workers of its cluster (jobs.warm)."""
    for n in range(workers):
        _send(
            "jobs.tasks.warm_deployment",
            deployment.pk,
            resends,
            cluster=deployment.compute,
            name=f"warm {deployment.endpoint.name}/{deployment.name} ({n + 1}/{workers})",
        )


def build_environment_later(env, cluster: str):
    """Build a deployment's environment on a worker of the cluster its jobs run on."""
    _send("jobs.tasks.build_environment", env.pk, cluster=cluster, name=f"build environment {env.label}")


def compare_later(comparison, job):
    """The report of a comparison, computed on the workers of the candidate job's cluster."""
    _send("jobs.comparison.compute", comparison.pk, cluster=job.compute, name=f"compare {comparison.pk}")


def preview_later(preview):
    _send("jobs.preview.run", preview.pk, cluster=preview.compute, name=f"preview {preview.name}")


def ensure_reclaim(cluster: str):
    """Every minute, on this cluster's workers, mini-batches whose worker vanished are given back to the queue.
    One schedule per cluster, so a site whose jobs all run on another cluster than the default still recovers."""
    cluster = queue_of(cluster)
    Schedule.objects.get_or_create(
        func=RECLAIM,
        cluster=cluster,
        defaults={
            "name": f"Reclaim stale mini-batches ({cluster})",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


def ensure_schedules(**kwargs):
    """After migrate: the default cluster's reclaim schedule exists."""
    ensure_reclaim(settings.DEFAULT_COMPUTE)
