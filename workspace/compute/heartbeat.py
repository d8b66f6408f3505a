"""Each django-q2 worker process beats every few seconds: cluster name, host, pid, time.

A thread in the worker process does it, so an idle worker still beats and a killed one stops at once.
"""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from workspace.compute.models import Worker

log = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=1)


def interval() -> float:
    """Seconds between two beats (COMPUTE_HEARTBEAT_SECONDS)."""
    return float(settings.COMPUTE_HEARTBEAT_SECONDS)


# What else a beat reports: callables giving Worker fields (the layers above add theirs, e.g. the loaded hosts);
# one that gives None for a field leaves it as it was.
reports: list = []


def _reported() -> dict:
    fields = {}
    for report in reports:
        try:
            fields.update({name: value for name, value in report().items() if value is not None})
        except Exception as exc:  # a report must never stop the beat
            log.warning("compute heartbeat report failed: %s", exc)
    return fields


def beat(cluster: str, host: str, pid: int, parent_pid: int | None):
    now = timezone.now()
    fields = _reported()
    updated = Worker.objects.filter(host=host, pid=pid).update(
        cluster=cluster, last_heartbeat=now, parent_pid=parent_pid, **fields
    )
    if not updated:
        Worker.objects.create(
            cluster=cluster, host=host, pid=pid, parent_pid=parent_pid, started=now, last_heartbeat=now, **fields
        )
        Worker.objects.filter(last_heartbeat__lt=now - FORGET_AFTER).delete()


def _loop(cluster, host, pid, parent_pid):
    while True:
        try:
            beat(cluster, host, pid, parent_pid)
        except Exception as exc:  # the database may be away for a moment: beat again later
            log.warning("compute heartbeat failed: %s", exc)
        finally:
            connection.close()  # never hold a connection between beats
        time.sleep(interval())


def start(sender=None, proc_name=None, **kwargs):
    """django-q2's post_spawn signal: runs inside each new worker process."""
    from django_q.conf import Conf

    thread = threading.Thread(
        target=_loop,
        name="compute-heartbeat",
        daemon=True,
        args=(Conf.CLUSTER_NAME, socket.gethostname(), os.getpid(), os.getppid()),
    )
    thread.start()
