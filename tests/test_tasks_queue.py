"""Through a real qcluster serving cpu-cluster: Cancel stops a running job with no output file, and a job
on a cluster that has no worker simply waits Queued (and can be canceled there)."""

import pytest

from endpoints.models import BatchDeployment
from jobs import queue
from jobs.models import MiniBatch, Status
from tests.conftest import QCluster, wait_for
from tests.fixtures_engine import output_exists, slow_endpoint, slow_model, write_inputs  # noqa: F401


@pytest.mark.integration
def test_cancel_stops_running_mini_batches_and_other_clusters_wait(transactional_db, slow_endpoint, monkeypatch):
    monkeypatch.setenv("JOBS_HEARTBEAT_SECONDS", "0.5")
    deployment = slow_endpoint.default_deployment
    assert deployment.compute == "cpu-cluster"
    elsewhere = BatchDeployment.objects.create(endpoint=slow_endpoint, name="gpu", model_name=deployment.model_name,
                                               model_version=deployment.model_version, compute="gpu-cluster")
    uri = write_inputs("cancel", files=6)
    cluster = QCluster()
    try:
        from jobs.submit import submit_job

        waiting = submit_job(slow_endpoint, input_uri=uri, deployment_name=elsewhere.name)
        job = submit_job(slow_endpoint, input_uri=uri)
        wait_for(lambda: job.mini_batches.filter(status=MiniBatch.RUNNING).exists(),
                 message=lambda: f"a running mini-batch:\n{cluster.output()[-2000:]}")
        assert job.request_cancel()
        queue.dispatch_later(job)

        def canceled():
            job.refresh_from_db()
            return job.status == Status.CANCELED
        wait_for(canceled, message=lambda: f"the job to be canceled ({job.status}):\n{cluster.output()[-3000:]}")
        waiting.refresh_from_db()
        assert waiting.status == Status.QUEUED and waiting.started is None
        assert not waiting.mini_batches.exclude(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED]).exists()
    finally:
        cluster.stop()
    assert not job.mini_batches.filter(status__in=[MiniBatch.RUNNING, MiniBatch.QUEUED, MiniBatch.PENDING]).exists()
    assert job.mini_batches.filter(status=MiniBatch.CANCELED).exists()
    assert not output_exists(job, "predictions.csv") and not output_exists(job, ".staging")
    assert output_exists(job, "logs/job_result.txt")
    assert waiting.request_cancel() and waiting.status == Status.CANCELED  # no worker needed to cancel it
