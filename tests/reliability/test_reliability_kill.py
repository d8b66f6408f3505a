"""Nothing is lost: a worker killed with SIGKILL in the middle of a mini-batch, and the job still completes
with every input row exactly once (a real qcluster, a slow real MLflow model)."""

import os
import signal

import pytest

from jobs.models import MiniBatch, Status
from jobs.submit import submit_job
from tests.conftest import QCluster, wait_for
from tests.fixtures.engine import output_frame, write_inputs

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode


@pytest.fixture
def short_leases(monkeypatch, settings):
    """The qcluster inherits these (its environment), this process too (submit leases the first mini-batches):
    a lost worker's mini-batch is given back within seconds."""
    monkeypatch.setenv("JOBS_LEASE_SECONDS", "3")
    monkeypatch.setenv("JOBS_HEARTBEAT_SECONDS", "0.5")
    settings.JOBS_LEASE_SECONDS, settings.JOBS_HEARTBEAT_SECONDS = 3, 0.5


def _running(job):
    return job.mini_batches.filter(status=MiniBatch.RUNNING).exclude(worker="").first()


@pytest.mark.integration
def test_a_worker_killed_mid_job_loses_no_row_and_duplicates_none(transactional_db, slow_endpoint, short_leases):
    uri = write_inputs("kill", files=8, rows=4)
    cluster = QCluster()
    try:
        job = submit_job(slow_endpoint, input_uri=uri)
        victim = wait_for(lambda: _running(job), message=lambda: f"a running mini-batch:\n{cluster.output()[-2000:]}")
        os.kill(int(victim.worker.rsplit(":", 1)[1]), signal.SIGKILL)

        def finished():
            job.refresh_from_db()
            return job.is_finished

        wait_for(finished, timeout=240, message=lambda: f"the job to finish:\n{cluster.output()[-3000:]}")
    finally:
        cluster.stop()
    assert job.status == Status.COMPLETED, job.error
    victim.refresh_from_db()
    assert victim.status == MiniBatch.COMPLETED and victim.attempts >= 2
    out = output_frame(job)
    expected = sorted(i * 100 + r for i in range(8) for r in range(4))
    assert sorted((out["prediction"] / 2).astype(int)) == expected  # every row exactly once
    assert job.rows_out == 32 and job.files_failed == 0
