"""Through a real qcluster serving cpu-cluster: Cancel stops a running job with no output file, and a job
on a cluster that has no worker simply waits Queued (and can be canceled there)."""

import pytest

from endpoints.models import BatchDeployment
from jobs import lifecycle, queue
from jobs.models import MiniBatch, Status
from tests.conftest import QCluster, wait_for
from tests.fixtures.engine import output_exists, settled, write_inputs

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode


@pytest.mark.integration
def test_cancel_stops_running_mini_batches_and_other_clusters_wait(
    transactional_db, slow_endpoint, monkeypatch, settings
):
    monkeypatch.setenv("JOBS_HEARTBEAT_SECONDS", "0.5")
    # As on many machines: each pool serves its own cluster (one machine's pool serves them all, COMPUTE_ONE_POOL).
    monkeypatch.setenv("COMPUTE_ONE_POOL", "0")
    settings.COMPUTE_ONE_POOL = False
    deployment = slow_endpoint.default_deployment
    assert deployment.compute == "cpu-cluster"
    elsewhere = BatchDeployment.objects.create(
        endpoint=slow_endpoint,
        name="gpu",
        model_name=deployment.model_name,
        model_version=deployment.model_version,
        compute="gpu-cluster",
    )
    uri = write_inputs("cancel", files=6)
    cluster = QCluster()
    try:
        from jobs.submit import submit_job

        waiting = submit_job(slow_endpoint, input_uri=uri, deployment_name=elsewhere.name)
        job = submit_job(slow_endpoint, input_uri=uri)
        wait_for(
            lambda: job.mini_batches.filter(status=MiniBatch.RUNNING).exists(),
            message=lambda: f"a running mini-batch:\n{cluster.output()[-2000:]}",
        )
        assert lifecycle.request_cancel(job)
        queue.dispatch_later(job)

        wait_for(
            lambda: settled(job) and job.status == Status.CANCELED,
            message=lambda: f"the job to be canceled ({job.status}):\n{cluster.output()[-3000:]}",
        )
        waiting.refresh_from_db()
        assert waiting.status == Status.QUEUED and waiting.started is None
        assert not waiting.mini_batches.exclude(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED]).exists()
    finally:
        cluster.stop()
    assert not job.mini_batches.filter(status__in=[MiniBatch.RUNNING, MiniBatch.QUEUED, MiniBatch.PENDING]).exists()
    assert job.mini_batches.filter(status=MiniBatch.CANCELED).exists()
    assert not output_exists(job, "predictions.csv") and not output_exists(job, ".staging")
    assert output_exists(job, "logs/job_result.txt")
    assert lifecycle.request_cancel(waiting) and waiting.status == Status.CANCELED  # no worker needed to cancel it


@pytest.mark.integration
def test_two_jobs_at_once_both_progress(transactional_db, endpoint, monkeypatch):
    """Lanes keep their slot only while no other job waits: a second job starts before the first one ends,
    even with lanes allowed to run for ten minutes, and each job scores every row once."""
    from jobs.submit import submit_job
    from tests.fixtures.engine import output_frame
    from workspace import demo
    from workspace.models import Datastore

    monkeypatch.setenv("JOBS_LANE_SECONDS", "600")
    store = Datastore.get_default()
    demo.write_demo_files(store.client(), "turns", files=5)
    settings = {"mini_batch_size": 1, "instance_count": 2}
    cluster = QCluster()
    try:
        jobs = [submit_job(endpoint, input_uri=store.uri("turns"), overrides=settings) for _ in range(2)]
        for job in jobs:
            wait_for(
                lambda job=job: job.refresh_from_db() or job.is_finished,
                timeout=300,
                message=lambda: f"both jobs to finish:\n{cluster.output()[-3000:]}",
            )
    finally:
        cluster.stop()
    first, second = jobs
    assert [job.status for job in jobs] == [Status.COMPLETED] * 2, [job.error for job in jobs]
    second_started = min(second.mini_batches.values_list("started", flat=True))
    first_last_finished = max(first.mini_batches.values_list("finished", flat=True))
    assert second_started < first_last_finished  # it did not wait for the whole first job
    for job in jobs:
        out = output_frame(job)
        assert sorted(zip(out["file_name"], out["row"])) == [
            (f"iris-{i}.csv", r) for i in range(1, 6) for r in range(30)
        ]
