"""Which workers are alive now: a fresh heartbeat of ours, confirmed by django-q2's own statistics."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from workspace.compute import heartbeat
from workspace.compute.models import Worker

log = logging.getLogger(__name__)


def stale_after() -> timedelta:
    """A worker whose last beat is older than this is gone: four beats missed, and never under 20 s."""
    return timedelta(seconds=max(20, 4 * heartbeat.interval()))


def _stat_processes():
    """{(host, pid)} of every worker process in django-q2's live cluster statistics; None if unreadable."""
    from django_q.status import Stat

    try:
        stats = Stat.get_all()
    except Exception as exc:  # broker away: fall back on heartbeats alone
        log.warning("cannot read django-q2 statistics: %s", exc)
        return None
    return {(s.host, pid) for s in stats for pid in (s.workers or [])}


def one_pool() -> bool:
    """Embedded mode: the one local pool serves every compute cluster, so that a deployment naming any cluster
    (Azure's examples say `compute: azureml:batch-cluster`) runs with no extra step. COMPUTE_ONE_POOL; on unless
    REDIS_URL is set (many machines, each serving the cluster named by its Q_CLUSTER_NAME)."""
    return bool(settings.COMPUTE_ONE_POOL)


def queue_of(cluster: str) -> str:
    """The broker queue a cluster's tasks go to: the cluster's own, or in embedded mode the local pool's."""
    return settings.Q_CLUSTER_NAME if one_pool() else cluster


def serving(cluster: str, workers: list) -> list:
    """Those of `workers` (live ones) that take the tasks of `cluster`."""
    return list(workers) if one_pool() else [w for w in workers if w.cluster == cluster]


def live_workers(cluster_name: str | None = None) -> list:
    """The worker processes serving cluster_name (every cluster if None) that are alive now."""
    workers = Worker.objects.filter(last_heartbeat__gte=timezone.now() - stale_after())
    workers = list(workers)
    if workers:
        alive = _stat_processes()
        if alive is not None:
            workers = [w for w in workers if (w.host, w.pid) in alive]
    return workers if cluster_name is None else serving(cluster_name, workers)


def no_worker_warning(cluster: str) -> str:
    """What to tell whoever sends work to `cluster` when no live worker takes it ('' when one does)."""
    if live_workers(cluster):
        return ""
    if one_pool():
        return (
            f"No live workers: jobs on {cluster} wait in Queued until this machine's workers run "
            "(`make run`, or `python manage.py workers`)."
        )
    return (
        f"No live workers on compute cluster {cluster}: its jobs wait in Queued until a machine runs "
        f"`Q_CLUSTER_NAME={cluster} python manage.py workers`."
    )


def warn_if_unserved(cluster: str, write):
    """write(the warning) when no live worker takes `cluster`'s jobs: the command line's create, invoke and stream."""
    warning = no_worker_warning(cluster)
    if warning:
        write(warning)
