"""A job sent to a cluster with no live worker waits in Queued and starts as soon as a worker appears."""

import pytest

from jobs.models import Status
from jobs.submit import submit_job
from tests.conftest import QCluster, wait_for
from workspace.compute.live import live_workers

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode


def _status(job):
    job.refresh_from_db()
    return job.status


@pytest.mark.integration
def test_a_job_waits_for_a_worker_then_completes(
    transactional_db, endpoint, demo_data, signed_in, settings, monkeypatch
):
    # Each machine serves its own cluster, as with many machines (embedded, the one local pool serves every cluster).
    settings.COMPUTE_ONE_POOL = False
    monkeypatch.setenv("COMPUTE_ONE_POOL", "0")
    dep = endpoint.default_deployment
    dep.compute = "gpu-cluster"
    dep.save()
    job = submit_job(endpoint, input_uri=demo_data)
    assert job.compute == "gpu-cluster"
    assert live_workers("gpu-cluster") == []
    assert b"No live workers on gpu-cluster" in signed_in.get("/compute/").content
    assert _status(job) == Status.QUEUED
    # the job page and the endpoint's deployments table say why it waits
    assert "No live workers on compute cluster gpu-cluster" in signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert "no live workers" in signed_in.get(f"/endpoints/{endpoint.name}/").content.decode()

    worker = QCluster(cluster="gpu-cluster")
    try:
        wait_for(
            lambda: _status(job) in (Status.COMPLETED, Status.FAILED),
            message=lambda: f"job to finish; qcluster said:\n{worker.output()[-3000:]}",
        )
        assert job.status == Status.COMPLETED, job.error
        assert job.rows_out == 150
        workers = wait_for(lambda: live_workers("gpu-cluster"), timeout=30, message="a live gpu-cluster worker")
        assert {w.cluster for w in workers} == {"gpu-cluster"}
        page = signed_in.get("/compute/").content.decode()
        assert "No live workers on gpu-cluster" not in page
        assert "No live workers" not in signed_in.get(f"/jobs/{job.name}/").content.decode()
        assert "no live workers" not in signed_in.get(f"/endpoints/{endpoint.name}/").content.decode()
        assert workers[0].host in page
    finally:
        worker.stop()
