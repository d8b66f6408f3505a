"""Chaos, bounded in time: CHAOS_JOBS jobs (20) run while a loop SIGKILLs a random process of the worker machine's
tree (the pool's main process, its Sentinel, pusher, monitor, an idle or busy worker, a scoring host) every few
seconds. Then every job has ended Completed, every input row is in its output exactly once, none stayed stuck."""

import os
import random
import signal
import threading
import time
from collections import Counter

import psutil
import pytest
from django.db import connection

from jobs.models import Status
from jobs.submit import submit_job
from tests.conftest import DISTRIBUTED, QCluster, wait_for
from tests.fixtures.distributed import count_rows, record, write_iris_files
from workspace.compute.models import Worker
from workspace.models import Datastore

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode

JOBS = int(os.environ.get("CHAOS_JOBS", "20"))
KILL_EVERY = float(os.environ.get("CHAOS_KILL_EVERY", "4"))
KILLING_FOR = float(os.environ.get("CHAOS_SECONDS", "120"))
AFTER_CHAOS = 600  # every job must end within this once the killing stops (a bound, not a measurement)
LEASE = 6


def kind(proc: psutil.Process, supervisor: int, workers: set[int]) -> str:
    """Where a process sits in the machine's tree: supervisor > pool main > Sentinel > workers, pusher, monitor >
    scoring hosts (workers are known by their heartbeats)."""
    try:
        lineage = [p.pid for p in proc.parents()]
        depth = lineage.index(supervisor)
        if depth == 0:
            return "pool main"
        if depth == 1:
            return "Sentinel"
        if depth == 2:
            return "worker" if proc.pid in workers else "pusher or monitor"
        return "scoring host"
    except (psutil.Error, ValueError):
        return "gone"


class Killer(threading.Thread):
    def __init__(self, machine):
        super().__init__(daemon=True)
        self.machine, self.kills, self.errors, self.stop = machine, Counter(), Counter(), threading.Event()

    def run(self):
        while not self.stop.wait(KILL_EVERY * random.uniform(0.5, 1.5)):
            try:
                self.kill_one()
            except Exception as exc:  # the thread goes on: a kill it could not make is counted, not fatal
                self.errors[f"{type(exc).__name__}: {exc}"[:200]] += 1
        connection.close()

    def kill_one(self):
        supervisor = self.machine.proc.pid
        tree = psutil.Process(supervisor).children(recursive=True)
        if not tree:
            return
        workers = set(Worker.objects.values_list("pid", flat=True))
        # A kind of process at random, then one of that kind, in a pool that runs (has workers).
        kinds = {}
        for proc in tree:
            kinds.setdefault(kind(proc, supervisor, workers), []).append(proc)
        if "worker" not in kinds:
            return  # a pool still starting: killing its main process again and again would test only that
        what = random.choice(sorted(kinds))
        victim = random.choice(kinds[what])
        try:
            victim.send_signal(signal.SIGKILL)
            self.kills[what] += 1
        except psutil.Error:
            pass


@pytest.mark.integration
def test_jobs_under_random_sigkills_all_complete_with_every_row_once(transactional_db, endpoint, monkeypatch, settings):
    monkeypatch.setenv("JOBS_LEASE_SECONDS", str(LEASE))
    monkeypatch.setenv("JOBS_HEARTBEAT_SECONDS", "1")
    settings.JOBS_LEASE_SECONDS, settings.JOBS_HEARTBEAT_SECONDS = LEASE, 1
    dep = endpoint.default_deployment
    dep.mini_batch_size, dep.max_retries = 2, 10  # every kill of a busy worker or host costs an attempt
    dep.save()
    source = write_iris_files(Datastore.get_default(), "chaos/in", 4)
    machines = [QCluster(), *([QCluster()] if DISTRIBUTED else [])]
    killer = Killer(machines[0])
    started = time.monotonic()
    jobs = []
    try:
        wait_for(lambda: Worker.objects.exists(), timeout=90, message="a worker")
        killer.start()
        while time.monotonic() - started < KILLING_FOR or len(jobs) < JOBS:
            if len(jobs) < JOBS:
                jobs.append(submit_job(endpoint, input_uri=source))
            time.sleep(KILLING_FOR / JOBS)
        killer.stop.set()
        killer.join()

        def all_ended():
            for job in jobs:
                job.refresh_from_db()
            return all(job.is_finished for job in jobs)

        wait_for(all_ended, timeout=AFTER_CHAOS, interval=1, message=lambda: machines[0].output()[-4000:])
    finally:
        killer.stop.set()
        for m in machines:
            m.stop()
    rows = [count_rows(j) for j in jobs]
    figures = {
        "mode": "distributed" if DISTRIBUTED else "embedded",
        "jobs": len(jobs),
        "statuses": dict(Counter(j.status for j in jobs)),
        "kills": dict(killer.kills),
        "killer_errors": dict(killer.errors),
        "rows_expected": sum(r["expected"] for r in rows),
        "rows_lost": sum(r["lost"] for r in rows),
        "rows_duplicated": sum(r["duplicated"] for r in rows),
        "restarts": machines[0].output().count("restarting the worker pool"),
        "seconds": round(time.monotonic() - started),
    }
    record("chaos", figures)
    assert figures["statuses"] == {Status.COMPLETED: len(jobs)}, figures
    assert (figures["rows_lost"], figures["rows_duplicated"]) == (0, 0), figures
    assert sum(killer.kills.values()) >= KILLING_FOR / KILL_EVERY / 2, figures
