"""Which workers are alive now: a fresh heartbeat of ours, confirmed by django-q2's own statistics."""

import logging
from datetime import timedelta

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


def live_workers(cluster_name: str | None = None) -> list:
    """The worker processes serving cluster_name (every cluster if None) that are alive now."""
    workers = Worker.objects.filter(last_heartbeat__gte=timezone.now() - stale_after())
    if cluster_name is not None:
        workers = workers.filter(cluster=cluster_name)
    workers = list(workers)
    if workers:
        alive = _stat_processes()
        if alive is not None:
            workers = [w for w in workers if (w.host, w.pid) in alive]
    return workers
