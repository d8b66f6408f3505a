"""Which workers are alive now: a fresh heartbeat of ours, confirmed by django-q2's own statistics."""

import logging
from datetime import timedelta

from django.utils import timezone

from studio.compute import heartbeat

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(seconds=max(20, 4 * heartbeat.INTERVAL))


def _stat_processes():
    """{(host, pid)} of every worker process in django-q2's live cluster statistics; None if unreadable."""
    from django_q.status import Stat

    try:
        stats = Stat.get_all()
    except Exception as exc:  # broker away: fall back on heartbeats alone
        log.warning("cannot read django-q2 statistics: %s", exc)
        return None
    return {(s.host, pid) for s in stats for pid in (s.workers or [])}


def live_workers(cluster_name: str | None = None) -> list:
    """The worker processes serving cluster_name (every cluster if None) that are alive now."""
    from studio.compute.models import Worker

    workers = Worker.objects.filter(last_heartbeat__gte=timezone.now() - STALE_AFTER)
    if cluster_name is not None:
        workers = workers.filter(cluster=cluster_name)
    workers = list(workers)
    if workers:
        alive = _stat_processes()
        if alive is not None:
            workers = [w for w in workers if (w.host, w.pid) in alive]
    return workers


def known_clusters() -> list[str]:
    """Every compute cluster the site knows: the default, those workers served, those deployments name."""
    from django.conf import settings

    from endpoints.models import BatchDeployment
    from studio.compute.models import Worker

    return sorted(
        {
            settings.DEFAULT_COMPUTE,
            *Worker.objects.values_list("cluster", flat=True).distinct(),
            *BatchDeployment.objects.values_list("compute", flat=True).distinct(),
        }
    )


def overview() -> list[dict]:
    """Every compute cluster known to the site, with its live workers, last heartbeat and the work on it."""
    from django.db.models import Max

    from jobs.models import BatchJob, MiniBatch, Status
    from studio.compute.models import Worker

    last = dict(Worker.objects.values_list("cluster").annotate(last=Max("last_heartbeat")))
    names = known_clusters()
    live = live_workers()
    active = [Status.QUEUED, Status.RUNNING, Status.FINALIZING, Status.CANCEL_REQUESTED]
    jobs = list(
        BatchJob.objects.filter(status__in=active).only(
            "name",
            "compute",
            "status",
            "endpoint_name",
            "mini_batches_done",
            "mini_batches_failed",
            "mini_batches_total",
        )[:200]
    )
    running = list(
        MiniBatch.objects.filter(status=MiniBatch.RUNNING)
        .select_related("job")
        .only("index", "worker", "started", "job__name", "job__compute")[:500]
    )
    clusters = []
    for name in names:
        workers = [w for w in live if w.cluster == name]
        for w in workers:
            w.mini_batches = [mb for mb in running if mb.worker == w.worker_id]
        clusters.append(
            {
                "name": name,
                "workers": workers,
                "last_heartbeat": last.get(name),
                "jobs": [j for j in jobs if j.compute == name],
                "mini_batches_running": [mb for mb in running if mb.job.compute == name],
            }
        )
    return clusters
