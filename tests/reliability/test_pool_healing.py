"""The worker pool heals itself: SIGKILL of an idle worker (the one blocked reading django-q2's task queue, which
upstream wedged the whole pool), of the pool's Sentinel or of its main process, and every job sent after the kill
still Completes, each row exactly once. Real `manage.py workers` processes; POOL_KILL_TRIALS sets the repeats
(10 by default: the figures in docs/RELIABILITY.md)."""

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from jobs.models import Status
from jobs.submit import submit_job
from tests.conftest import DISTRIBUTED, QCluster, wait_for
from tests.fixtures.distributed import count_rows, record, write_iris_files
from workspace.compute.live import live_workers
from workspace.compute.models import Worker
from workspace.models import Datastore

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode

TRIALS = int(os.environ.get("POOL_KILL_TRIALS", "10"))
AFTER_KILL = 120  # every job sent after a kill must end within this (a bound, not a measurement)
MODE = "distributed" if DISTRIBUTED else "embedded"
# POOL_COMMAND=qcluster runs django-q2's own qcluster instead: the idle-worker trial then wedges (upstream's bug).
COMMAND = os.environ.get("POOL_COMMAND", "workers")


def _wchan(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def tree(machine) -> list[psutil.Process]:
    try:
        return psutil.Process(machine.proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def idle_worker(machine) -> int | None:
    """A worker process of the machine waiting for a task, preferring the one reading the task queue's pipe (the
    reader lock's holder, upstream): a pid with a fresh heartbeat, in the machine's tree, blocked, running nothing."""
    pids = {p.pid for p in tree(machine)}
    workers = [w.pid for w in live_workers() if w.pid in pids]
    idle = [pid for pid in workers if _wchan(pid) and _wchan(pid) != "0"]
    if len(idle) < len(workers) or not idle:
        return None
    idle.sort(key=lambda pid: "pipe" not in _wchan(pid))
    return idle[0]


def sentinel(machine) -> int | None:
    """The pool's Sentinel: the child of the pool's main process whose children are the workers."""
    for p in tree(machine):
        if any(c.pid in {w.pid for w in Worker.objects.all()} for c in p.children()):
            return p.pid
    return None


def pool_main(machine) -> int | None:
    children = psutil.Process(machine.proc.pid).children()
    return children[0].pid if children else None


def _finished(job):
    job.refresh_from_db()
    return job.is_finished


def _trial(endpoint, source, machine, victim_of, what: str, trial: int) -> dict:
    victim = wait_for(lambda: victim_of(machine), timeout=90, message=lambda: f"a {what}:\n{machine.output()[-3000:]}")
    state = _wchan(victim)
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    job = submit_job(endpoint, input_uri=source)
    wait_for(
        lambda: _finished(job),
        timeout=AFTER_KILL,
        interval=0.2,
        message=lambda: f"trial {trial}: the job sent after the kill of a {what} to end\n{machine.output()[-4000:]}",
    )
    figures = {
        "mode": MODE,
        "killed": what,
        "trial": trial,
        "victim_wchan": state,
        "status": job.status,
        "seconds_after_kill": round(time.monotonic() - killed, 1),
        **count_rows(job),
    }
    record("pool_kill_trial", figures)
    assert job.status == Status.COMPLETED, (job.error, machine.output()[-3000:])
    assert (figures["lost"], figures["duplicated"]) == (0, 0), figures
    return figures


@pytest.mark.integration
@pytest.mark.parametrize(
    "what, victim_of, trials",
    [
        ("idle worker", idle_worker, TRIALS),
        ("Sentinel", sentinel, 2),
        ("pool main process", pool_main, 2),
    ],
)
def test_after_a_sigkill_in_the_pool_every_job_completes(transactional_db, endpoint, what, victim_of, trials):
    _run_trials(endpoint, what, victim_of, trials)


@pytest.mark.integration
def test_the_supervisor_alone_heals_a_pool_wedged_by_the_kill_of_an_idle_worker(
    transactional_db, endpoint, monkeypatch
):
    """django-q2's own task queue, which the kill wedges: the supervisor sees work waiting with nothing running,
    restarts the pool and sends its tasks again."""
    monkeypatch.setenv("COMPUTE_HEALING_QUEUE", "0")
    monkeypatch.setenv("COMPUTE_STALL_SECONDS", "15")
    _run_trials(endpoint, "idle worker (django-q2's own queue)", idle_worker, 2)


def _run_trials(endpoint, what, victim_of, trials):
    source = write_iris_files(Datastore.get_default(), "healing/idle", 4)
    machines = [QCluster(command=COMMAND), *([QCluster(command=COMMAND)] if DISTRIBUTED else [])]
    try:
        figures = [_trial(endpoint, source, machines[0], victim_of, what, trial) for trial in range(trials)]
    finally:
        for m in machines:
            m.stop()
    figures[-1]["pool_restarts"] = machines[0].output().count("restarting the worker pool")
    record("pool_kill", {"mode": MODE, "killed": what, "trials": figures})
    assert len(figures) == trials
