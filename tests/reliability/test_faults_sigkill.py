"""SIGKILL a whole worker machine (its qcluster, workers and scoring hosts) mid-job, N times:
no row lost, no row duplicated, no job stuck. FAULT_TRIALS=10 for the figures in docs/RELIABILITY.md."""

import os
import signal
import time
from collections import Counter

import pytest

from jobs.models import MiniBatch, Status
from jobs.submit import submit_job
from jobs.tasks import reclaim_stale
from tests.conftest import DISTRIBUTED, QCluster, wait_for
from tests.fixtures.distributed import count_rows, record, write_iris_files
from workspace.models import Datastore

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode

TRIALS = int(os.environ.get("FAULT_TRIALS", "3"))
LEASE = 6
STUCK_AFTER = int(os.environ.get("FAULT_STUCK_AFTER", "240"))


def _finished(job, machine, reclaim_every=[0.0]):
    # A machine that died on its own (e.g. it could not import the code: a worktree rebased under the running test,
    # conflict markers and all) serves no task: the job would wait for it and look stuck. That measures nothing.
    if machine.proc.poll() is not None:
        pytest.fail(
            f"the worker machine exited with code {machine.proc.returncode}, not killed by the test: "
            f"this trial measured nothing\n{machine.output()[-3000:]}"
        )
    # reclaim_stale is what the every-minute schedule runs; calling it here only shortens the wait.
    if time.monotonic() - reclaim_every[0] > 2:
        reclaim_every[0] = time.monotonic()
        reclaim_stale()
    job.refresh_from_db()
    return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)


def _mid_job(job):
    batches = job.mini_batches
    return batches.filter(status=MiniBatch.COMPLETED).exists() and batches.filter(status=MiniBatch.RUNNING).exists()


def _diagnose(machine) -> str:
    """What a stuck trial leaves to look at: the broker's waiting tasks and the surviving machine's log."""
    from django_q.conf import Conf
    from django_q.models import OrmQ

    waiting = list(OrmQ.objects.values_list("key", "lock")) if Conf.ORM else "(Redis broker)"
    return f"broker: {waiting}\n--- machine log ---\n{machine.output()[-4000:]}"


@pytest.mark.integration
def test_killing_a_worker_machine_mid_job_loses_and_duplicates_nothing(
    transactional_db, endpoint, slow_iris, monkeypatch, settings
):
    # Short leases in the qcluster (its environment) and in this process (submit and reclaim_stale run here).
    monkeypatch.setenv("JOBS_LEASE_SECONDS", str(LEASE))
    monkeypatch.setenv("JOBS_HEARTBEAT_SECONDS", "1")
    settings.JOBS_LEASE_SECONDS, settings.JOBS_HEARTBEAT_SECONDS = LEASE, 1
    dep = endpoint.default_deployment
    # 0.25 s a file: the demo model scored the 12 mini-batches in a few tenths of a second once its hosts were warm,
    # and a test polling for "one done, one running" could miss that moment and wait in vain.
    dep.model_name, dep.model_version = slow_iris.name, slow_iris.version
    dep.mini_batch_size, dep.instance_count, dep.max_retries = 2, 2, 5
    dep.save()
    # Enough mini-batches that the job is still running when the test looks for "one done, one running".
    source = write_iris_files(Datastore.get_default(), "faults/sigkill", 24)
    figures = []
    for trial in range(TRIALS):
        stuck_output = None
        job = submit_job(endpoint, input_uri=source)
        machines = [QCluster(), *([QCluster()] if DISTRIBUTED else [])]
        try:
            wait_for(
                lambda: _mid_job(job),
                timeout=180,
                interval=0.1,
                message=lambda: (
                    f"trial {trial}: a mini-batch running after one completed\n{machines[0].output()[-3000:]}"
                ),
            )
            running = job.mini_batches.filter(status=MiniBatch.RUNNING).count()
            os.killpg(machines[0].proc.pid, signal.SIGKILL)
            machines[0].proc.wait()
            if not DISTRIBUTED:
                machines.append(QCluster())  # the machine comes back (embedded mode has only one)
            try:
                wait_for(lambda: _finished(job, machines[-1]), timeout=STUCK_AFTER, interval=0.5)
            except AssertionError:
                stuck_output = _diagnose(machines[-1])
        finally:
            for m in machines:
                m.stop()
        rows = count_rows(job)
        batches = dict(Counter(job.mini_batches.values_list("status", flat=True)))
        figures.append(
            {
                "trial": trial,
                "status": job.status,
                "running_when_killed": running,
                "mini_batches": batches,
                "attempts": sum(job.mini_batches.values_list("attempts", flat=True)),
                **rows,
            }
        )
        if stuck_output:
            figures[-1]["diagnosis"] = stuck_output
        record("sigkill_trial", {"mode": "distributed" if DISTRIBUTED else "embedded", **figures[-1]})
        if job.status == Status.COMPLETED:
            assert (rows["lost"], rows["duplicated"]) == (0, 0), rows
    record("sigkill", {"mode": "distributed" if DISTRIBUTED else "embedded", "trials": figures})
    stuck = [f for f in figures if f["status"] != Status.COMPLETED]
    assert not stuck, f"{len(stuck)} of {len(figures)} trials not Completed {STUCK_AFTER} s after the kill: {stuck}"
