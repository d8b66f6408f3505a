"""Is the Studio able to run jobs now? What /readyz and the Compute page answer: the database, the broker, live
workers, and work that waits with nobody taking it.

A queued mini-batch that nobody claims within its lease is sent again by reclaim_stale (every minute, on the
workers). So one whose lease passed more than STUCK_AFTER ago, on a cluster with live workers, means that the
workers' pool takes nothing - not even reclaim_stale: it is wedged (docs/RELIABILITY.md), however fresh their
heartbeats.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker

from jobs.models import BatchJob, MiniBatch, Status
from workspace.compute.live import live_workers, one_pool, serving

RECLAIM_EVERY = timedelta(minutes=1)  # jobs.queue.ensure_reclaim's schedule


def stuck_after() -> timedelta:
    return RECLAIM_EVERY + timedelta(seconds=2 * float(settings.JOBS_LEASE_SECONDS))


@dataclass
class Readiness:
    checks: dict = field(default_factory=dict)  # name -> "ok" or what is wrong
    stuck: dict = field(default_factory=dict)  # cluster -> mini-batches waiting past stuck_after()

    @property
    def ready(self) -> bool:
        return all(value == "ok" for value in self.checks.values())


def readiness(now=None) -> Readiness:
    now = now or timezone.now()
    found = Readiness()
    found.checks["database"] = _database()
    if found.checks["database"] != "ok":
        found.checks["broker"] = found.checks["workers"] = "not checked: the database is unreachable"
        return found
    found.checks["broker"] = _broker()
    workers = live_workers()
    found.checks["workers"] = "ok" if workers else "no live worker: jobs wait until `manage.py workers` runs"
    found.stuck = stuck(workers, now)
    if found.stuck:
        found.checks["queue"] = "; ".join(
            f"{count} mini-batch(es) of {cluster} waited more than {stuck_after().total_seconds():.0f} s with live "
            "workers taking nothing: the pool is stuck (restart its qcluster)"
            for cluster, count in sorted(found.stuck.items())
        )
    else:
        found.checks["queue"] = "ok"
    return found


def stuck(workers: list, now=None) -> dict[str, int]:
    """{cluster: mini-batches waiting past stuck_after()} of the clusters that live `workers` serve: a wedged pool."""
    found = {}
    waiting = MiniBatch.objects.filter(status=MiniBatch.QUEUED, lease_until__lt=(now or timezone.now()) - stuck_after())
    for cluster in waiting.values_list("job__compute", flat=True):
        if serving(cluster, workers):
            found[cluster] = found.get(cluster, 0) + 1
    return found


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


def _broker() -> str:
    try:
        return "ok" if get_broker().ping() else "does not answer"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


def served_by(cluster: str) -> list[str] | None:
    """The compute clusters whose work the pool serving `cluster` takes (None: all of them, embedded mode)."""
    return None if one_pool() else [cluster]


def stalled(clusters: list[str] | None, since, quiet: timedelta, now=None) -> str:
    """Why the pool serving `clusters`, started at `since`, looks wedged ('' if it does not): a mini-batch sent to
    it after it started has waited `quiet` unclaimed, while none of its mini-batches runs or ended meanwhile and no
    job of it is being finalized. Tasks waiting, workers idle, nothing moving."""
    now = now or timezone.now()
    lease = timedelta(seconds=float(settings.JOBS_LEASE_SECONDS))
    batches, jobs = MiniBatch.objects.all(), BatchJob.objects.all()
    if clusters is not None:
        batches, jobs = batches.filter(job__compute__in=clusters), jobs.filter(compute__in=clusters)
    # A queued mini-batch's lease started when it was queued (or its task sent again).
    waiting = batches.filter(
        status=MiniBatch.QUEUED, lease_until__gte=since + lease, lease_until__lt=now - quiet + lease
    ).count()
    if not waiting:
        return ""
    moving = (
        batches.filter(status=MiniBatch.RUNNING, lease_until__gte=now).exists()
        or batches.filter(finished__gte=now - quiet).exists()
        or jobs.filter(status=Status.FINALIZING, lease_until__gte=now).exists()
        or any(w.loading for w in live_workers() if clusters is None or w.cluster in clusters)  # a warm start
    )
    if moving:
        return ""
    return (
        f"{waiting} mini-batch(es) of {', '.join(clusters or ['every cluster'])} waited more than "
        f"{quiet.total_seconds():.0f} s "
        "while its workers took nothing"
    )
