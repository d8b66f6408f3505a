"""The task queue a killed idle worker cannot wedge (workspace.compute.pool.HealingQueue), against django-q2's own,
with real processes: a reader blocked in get() is SIGKILLed, then a task is put and another reader must get it.
And the supervisor's reading of a stuck pool (jobs.health.stalled): work waiting, nothing running, nothing moving."""

import multiprocessing
import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.queues import Queue

from jobs.health import stalled
from jobs.models import BatchJob, MiniBatch, Status
from tests.fixtures.engine import job_row
from workspace.compute import live
from workspace.compute.models import Worker
from workspace.compute.pool import HealingQueue

FORK = multiprocessing.get_context("fork")


def _reader(queue, out):
    out.put(("got", queue.get()))


def _blocked_reader(queue):
    """A reader that blocks in get(), as an idle django-q2 worker does, until it is killed."""
    proc = FORK.Process(target=_reader, args=(queue, FORK.SimpleQueue()), daemon=True)
    proc.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and open(f"/proc/{proc.pid}/wchan").read() in ("", "0"):
        time.sleep(0.05)
    time.sleep(0.2)
    return proc


def _after_an_idle_reader_is_killed(queue) -> str | None:
    victim = _blocked_reader(queue)
    os.kill(victim.pid, signal.SIGKILL)
    victim.join()
    out = FORK.SimpleQueue()
    survivor = FORK.Process(target=_reader, args=(queue, out), daemon=True)
    survivor.start()
    queue.put("task")
    survivor.join(timeout=5)
    got = out.get() if not survivor.is_alive() else None
    if survivor.is_alive():
        survivor.kill()
    return got


def test_a_reader_killed_while_waiting_leaves_django_q2s_queue_locked_for_every_other_reader():
    assert _after_an_idle_reader_is_killed(Queue()) is None  # upstream: the next reader waits on the lock forever


def test_a_reader_killed_while_waiting_leaves_the_healing_queue_working():
    assert _after_an_idle_reader_is_killed(HealingQueue()) == ("got", "task")


def test_the_healing_queue_hands_each_task_to_exactly_one_of_many_readers():
    queue, out = HealingQueue(), FORK.SimpleQueue()
    readers = [FORK.Process(target=_reader, args=(queue, out), daemon=True) for _ in range(4)]
    for r in readers:
        r.start()
    for i in range(4):
        queue.put(i)
    for r in readers:
        r.join(timeout=10)
    assert sorted(out.get()[1] for _ in range(4)) == [0, 1, 2, 3]
    assert queue.qsize() == 0


@pytest.fixture
def queued_job(db, endpoint):
    return job_row(endpoint, Status.RUNNING)


def _batch(job, index, status, lease_in=None, finished_ago=None):
    now = timezone.now()
    return MiniBatch.objects.create(
        job=job,
        index=index,
        status=status,
        files=["a.csv"],
        lease_until=now + timedelta(seconds=lease_in) if lease_in is not None else None,
        finished=now - timedelta(seconds=finished_ago) if finished_ago is not None else None,
    )


QUIET = timedelta(seconds=30)


def test_work_sent_to_a_pool_that_takes_nothing_is_a_stalled_pool(queued_job, settings):
    settings.JOBS_LEASE_SECONDS = 60
    started = timezone.now() - timedelta(minutes=5)
    _batch(queued_job, 0, MiniBatch.QUEUED, lease_in=60 - 40)  # queued 40 s ago, after the pool started
    assert "1 mini-batch(es) of cpu-cluster waited more than 30 s" in stalled(["cpu-cluster"], started, QUIET)
    assert "of every cluster" in stalled(None, started, QUIET)  # one machine: its pool serves them all
    assert stalled(["gpu-cluster"], started, QUIET) == ""


@pytest.mark.parametrize(
    "other, pool_started_ago",
    [
        (None, 20),  # queued before this pool started: the old pool's task, sent again by resend_queued
        ((MiniBatch.RUNNING, 30, None), 300),  # a worker is busy: the queued one waits its turn
        ((MiniBatch.COMPLETED, None, 10), 300),  # something ended 10 s ago: the pool moves
        ("finalizing", 300),  # a job being finalized keeps a worker busy
        ("loading", 300),  # a worker loads a model (a warm start): busy, not wedged
    ],
)
def test_a_pool_that_moves_or_just_started_is_not_stalled(
    queued_job, endpoint, settings, other, pool_started_ago, monkeypatch
):
    settings.JOBS_LEASE_SECONDS = 60
    _batch(queued_job, 0, MiniBatch.QUEUED, lease_in=60 - 40)
    if other == "loading":
        monkeypatch.setattr(live, "_stat_processes", lambda: None)  # no qcluster here: heartbeats alone
        now = timezone.now()
        Worker.objects.create(
            cluster="cpu-cluster", host="h", pid=1, started=now, last_heartbeat=now, loading=["iris-endpoint/blue"]
        )
    elif other == "finalizing":
        BatchJob.objects.filter(pk=queued_job.pk).update(
            status=Status.FINALIZING, lease_until=timezone.now() + timedelta(seconds=30)
        )
    elif other:
        status, lease_in, finished_ago = other
        _batch(queued_job, 1, status, lease_in=lease_in, finished_ago=finished_ago)
    started = timezone.now() - timedelta(seconds=pool_started_ago)
    assert stalled(["cpu-cluster"], started, QUIET) == ""
