"""The queue's Redis restarts mid-job; PostgreSQL drops every connection mid-job; the web server restarts
while jobs run. Each job completes with every row once, or fails with a reason; nothing stays Running."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter

import pytest
from django.db import connection

from jobs.models import MiniBatch, Status
from jobs.submit import submit_job
from jobs.tasks import reclaim_stale
from tests.conftest import DISTRIBUTED, ROOT, QCluster, _qcluster_env, wait_for
from tests.fixtures import free_port
from tests.fixtures.distributed import count_rows, record, write_iris_files
from workspace.models import Datastore

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode

LEASE = 6


def _finished(job, last=[0.0]):
    if time.monotonic() - last[0] > 2:  # what the every-minute reclaim schedule does, sooner
        last[0] = time.monotonic()
        reclaim_stale()
    job.refresh_from_db()
    return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)


def _mid_job(job):
    return job.mini_batches.filter(status=MiniBatch.COMPLETED).exists()


@pytest.fixture
def short_leases(monkeypatch, settings, endpoint):
    """Short leases in the qcluster (its environment) and in this process (submit and reclaim_stale run here)."""
    monkeypatch.setenv("JOBS_LEASE_SECONDS", str(LEASE))
    monkeypatch.setenv("JOBS_HEARTBEAT_SECONDS", "1")
    settings.JOBS_LEASE_SECONDS, settings.JOBS_HEARTBEAT_SECONDS = LEASE, 1
    dep = endpoint.default_deployment
    dep.mini_batch_size, dep.instance_count, dep.max_retries = 2, 2, 5
    dep.save()
    return endpoint


class RedisServer:
    """A private redis-server on a free port (the machine's own Redis is never restarted)."""

    def __init__(self, persistent=True):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-fault-")
        self.persistent = persistent
        self.start()

    def start(self):
        aof = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, *aof, "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ),
            timeout=20,
            message="redis-server to start",
        )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def _use_broker(monkeypatch, redis):
    """This test process and its workers use the private Redis as the broker, in either mode."""
    from django.conf import settings
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "ORM", None)
    # Keep the run's Q_PREFIX (distributed mode): it is also the cluster name that signs tasks, so the test process
    # and its worker must agree on it, and on the prefixed queue keys that go with it.
    monkeypatch.setattr(Conf, "BROKER_CLASS", "workspace.compute.broker.PrefixedRedis" if settings.Q_PREFIX else None)
    monkeypatch.setattr(Conf, "REDIS", redis.url)
    monkeypatch.setenv("REDIS_URL", redis.url)


@pytest.mark.integration
def test_a_redis_restart_mid_job_loses_nothing(transactional_db, short_leases, monkeypatch):
    redis = RedisServer()
    try:
        _use_broker(monkeypatch, redis)
        source = write_iris_files(Datastore.get_default(), "faults/redis", 12)
        job = submit_job(short_leases, input_uri=source)
        worker = QCluster()
        try:
            wait_for(lambda: _mid_job(job), timeout=180, message=lambda: worker.output()[-3000:])
            redis.stop()
            time.sleep(2)  # the workers see the broker gone
            redis.start()
            try:
                wait_for(lambda: _finished(job), timeout=180, interval=0.5)
                stuck = False
            except AssertionError:
                stuck = True
        finally:
            worker.stop()
        rows = count_rows(job)
        batches = dict(Counter(job.mini_batches.values_list("status", flat=True)))
        record(
            "redis_restart",
            {
                "mode": "distributed" if DISTRIBUTED else "embedded",
                "status": job.status,
                "stuck_after_seconds": 180 if stuck else None,
                "mini_batches": batches,
                **rows,
            },
        )
        assert not stuck, f"job left {job.status} 180 s after the restart, mini-batches {batches}"
        assert job.status == Status.COMPLETED, job.error
        assert (rows["lost"], rows["duplicated"]) == (0, 0), rows
    finally:
        redis.stop()
        shutil.rmtree(redis.dir, ignore_errors=True)


@pytest.mark.integration
@pytest.mark.skipif(not DISTRIBUTED, reason="PostgreSQL only: distributed mode")
def test_postgres_dropping_every_connection_mid_job_loses_nothing(short_leases, qcluster):
    source = write_iris_files(Datastore.get_default(), "faults/pg", 12)
    job = submit_job(short_leases, input_uri=source)
    wait_for(lambda: _mid_job(job), timeout=180, message=lambda: qcluster.output()[-3000:])
    terminated = 0
    for _ in range(2):
        with connection.cursor() as cur:  # only this test database's connections, never anyone else's
            cur.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            terminated += cur.fetchone()[0]
        time.sleep(1.5)
    wait_for(
        lambda: _finished(job),
        timeout=300,
        interval=0.5,
        message=lambda: f"job after pg_terminate_backend\n{qcluster.output()[-3000:]}",
    )
    rows = count_rows(job)
    record("postgres_terminate", {"connections_terminated": terminated, "status": job.status, **rows})
    assert job.status == Status.COMPLETED, job.error
    assert (rows["lost"], rows["duplicated"]) == (0, 0), rows


def _web_server(port):
    env = _qcluster_env()
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _api(port, path, token, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/{path}",
        method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _up(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.integration
def test_restarting_the_web_server_while_jobs_run_loses_nothing(short_leases, user, qcluster):
    from api.models import AccessToken

    _, token = AccessToken.issue(user, "fault-test")
    source = write_iris_files(Datastore.get_default(), "faults/web", 8)
    port = free_port()
    web = _web_server(port)
    try:
        wait_for(lambda: _up(port), timeout=60, message="the web server to listen")
        body = {"properties": {"InputData": {"data": {"JobInputType": "UriFolder", "Uri": source}}}}
        names = [_api(port, f"endpoints/{short_leases.name}/jobs", token, body)["name"] for _ in range(3)]
        os.killpg(web.pid, signal.SIGKILL)  # the harshest restart
        web.wait()
        web = _web_server(port)
        wait_for(lambda: _up(port), timeout=60, message="the web server to listen again")
        from jobs.models import BatchJob

        jobs = list(BatchJob.objects.filter(name__in=names))
        assert len(jobs) == 3
        for job in jobs:
            wait_for(lambda: _finished(job), timeout=300, message=lambda: qcluster.output()[-3000:])
        statuses = {name: _api(port, f"jobs/{name}", token)["status"] for name in names}
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=20)
    figures = [count_rows(job) for job in jobs]
    record("web_restart", {"jobs": 3, "statuses": list(statuses.values()), "rows": figures})
    assert set(statuses.values()) == {"Completed"}, statuses
    assert all((f["lost"], f["duplicated"]) == (0, 0) for f in figures), figures


@pytest.mark.integration
def test_a_redis_without_persistence_losing_waiting_tasks(transactional_db, short_leases, monkeypatch):
    """Tasks waiting in a Redis that restarts without persistence are gone; does the job still run?"""
    redis = RedisServer(persistent=False)
    try:
        _use_broker(monkeypatch, redis)
        source = write_iris_files(Datastore.get_default(), "faults/redis-volatile", 4)
        job = submit_job(short_leases, input_uri=source)  # its dispatch task waits in Redis: no worker yet
        redis.stop()
        redis.start()
        worker = QCluster()
        try:
            try:
                wait_for(lambda: _finished(job), timeout=90, interval=0.5)
                stuck = False
            except AssertionError:
                stuck = True
        finally:
            worker.stop()
        batches = dict(Counter(job.mini_batches.values_list("status", flat=True)))
        record(
            "redis_restart_volatile",
            {"status": job.status, "stuck_after_seconds": 90 if stuck else None, "mini_batches": batches},
        )
        assert not stuck, f"job left {job.status} 90 s after its task was lost, mini-batches {batches}"
        assert job.status == Status.COMPLETED, job.error
    finally:
        redis.stop()
        shutil.rmtree(redis.dir, ignore_errors=True)
