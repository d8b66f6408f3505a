"""Warm starts (beyond Azure): a deployment with warm_start on has its scoring host started in every worker process
of its cluster before any job needs it, so no job waits for a model load (docs/ENGINE.md, Warm starts):

- when a worker process starts (django-q2's post_spawn, before it reads the queue), the deployments it serves;
- when such a deployment is saved (created, or its model, code or settings changed), when the environment it runs
  in has been built, or when the Studio moves the model alias it is pinned to: a warm task for each live worker of
  its cluster.

A host is started like any other (engine.host.HostPool.get, within JOBS_INIT_TIMEOUT), so the first job finds it
as the second one would. A warm start that fails is logged and given up: the first job starts the host itself and
says why if it fails. While a worker loads, its heartbeat says so (Worker.loading): the supervisor does not take a
pool that is warming up for a stuck one (jobs.health.stalled).
"""

import logging
import time

from django.conf import settings
from django.db import connection, transaction

from endpoints.models import BatchDeployment
from jobs import hosting, queue
from jobs.models import MiniBatch
from workspace.compute.live import live_workers, one_pool

log = logging.getLogger(__name__)


RESEND_AFTER = 2  # seconds a worker that had the host already holds a warm task before sending it again


def _label(deployment) -> str:
    return f"{deployment.endpoint.name}/{deployment.name}"


def deployments_for(cluster: str) -> list:
    """The warm-start deployments the workers of `cluster` serve, the last saved first: as many as a worker keeps
    hosts (JOBS_HOSTS_PER_WORKER), so warming never evicts one it has just started."""
    found = BatchDeployment.objects.filter(warm_start=True).select_related("endpoint").order_by("-updated")
    if not one_pool():
        found = found.filter(compute=cluster)
    return list(found[: int(settings.JOBS_HOSTS_PER_WORKER)])


def warm(deployment) -> bool:
    """Start deployment's scoring host in this worker process, unless it has it already. False when it cannot
    (logged: a model or environment that is not there, an init() that fails or takes too long)."""
    label = _label(deployment)
    began = time.monotonic()
    try:
        host, started = hosting.host_for(hosting.spec_for_deployment(deployment), label)
    except Exception as exc:
        log.warning("warm start of %s given up (its first job starts the host itself): %s", label, exc)
        return False
    if started:
        log.info(
            "warm start of %s: scoring host pid %s ready in %.1f s", label, host.proc.pid, time.monotonic() - began
        )
    return True


def _hold(cluster: str) -> bool:
    """Hold this worker RESEND_AFTER seconds, so another idle worker takes the next warm task; False at once when a
    job of the cluster waits for a worker (a warm task must never delay one)."""
    waiting = MiniBatch.objects.filter(status=MiniBatch.QUEUED)
    if not one_pool():
        waiting = waiting.filter(job__compute=cluster)
    until = time.monotonic() + RESEND_AFTER
    while time.monotonic() < until:
        if waiting.exists():
            return False
        time.sleep(0.1)
    return True


def warm_by_id(deployment_id: int, resends: int = 0):
    """A warm task (queue.warm_later sends one per live worker). django-q2 hands a task to whichever worker is idle,
    so one that had the host already may have taken a task meant for another: it holds on a moment (another idle
    worker takes the next one meanwhile) and sends its task again while a live worker does not report the host
    loaded, a few times at most (a busy worker loads it when its next warm task or its next start comes)."""
    deployment = BatchDeployment.objects.select_related("endpoint").filter(pk=deployment_id, warm_start=True).first()
    if deployment is None:
        return
    before = set(hosting.loaded() or ())
    if not warm(deployment):
        return
    label = _label(deployment)
    if label not in before:
        return  # this worker loaded it: its task was not wasted
    if not _hold(deployment.compute):
        return  # real work waits: it comes first, and a worker that scores it for this deployment loads the host
    workers = live_workers(deployment.compute)
    if resends < 2 * len(workers) and any(label not in w.loaded for w in workers):
        queue.warm_later(deployment, 1, resends=resends + 1)


def on_spawn(sender=None, proc_name=None, **kwargs):
    """django-q2's post_spawn: in each new worker process, before it takes its first task."""
    from django_q.conf import Conf

    try:
        for deployment in deployments_for(Conf.CLUSTER_NAME):
            warm(deployment)
    except Exception as exc:  # the database away for a moment: the first jobs start their hosts themselves
        log.warning("warm starts skipped: %s", exc)
    finally:
        connection.close()  # an idle worker holds no connection


def on_deployment_saved(sender, instance, **kwargs):
    """post_save of a deployment with warm_start on: every live worker of its cluster warms it, once committed."""
    if instance.warm_start:
        transaction.on_commit(lambda: _send_warm_tasks(instance))


def alias_moved(name: str, alias: str):
    """The Studio moved a model's alias (the Models page, the REST API): the warm-start deployments pinned to it load
    the version it points at now (their next job scores with that version)."""
    pinned = BatchDeployment.objects.filter(warm_start=True, model_name=name, model_alias=alias)
    for deployment in pinned.select_related("endpoint"):
        transaction.on_commit(lambda deployment=deployment: _send_warm_tasks(deployment))


def environment_ready(label: str):
    """An environment was built: the warm-start deployments that run in it (whose warm start could not start a host
    before) are warmed on every live worker of their cluster."""
    for deployment in BatchDeployment.objects.filter(warm_start=True, environment=label).select_related("endpoint"):
        _send_warm_tasks(deployment)


def _send_warm_tasks(deployment):
    workers = len(live_workers(deployment.compute))
    if workers:
        queue.warm_later(deployment, workers)
