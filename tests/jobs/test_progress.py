"""Progress inside a mini-batch: while one long mini-batch scores, the rows it has scored so far reach the job
page, the Runs tab and the API (not only when it ends)."""

import pytest

from jobs.models import MiniBatch, Status
from jobs.submit import submit_job
from tests.conftest import QCluster, wait_for
from tests.fixtures.engine import write_inputs


@pytest.mark.integration
def test_a_long_mini_batch_shows_its_rows_scored_so_far(transactional_db, slow_endpoint, api, user, monkeypatch):
    api.force_login(user)  # the pages; the API routes read the bearer token
    monkeypatch.setenv("JOBS_HEARTBEAT_SECONDS", "0.5")
    uri = write_inputs("progress", files=4, rows=5)  # one mini-batch of 4 files, 1.5 s a file
    job = submit_job(slow_endpoint, input_uri=uri, overrides={"mini_batch_size": 4})
    assert job.mini_batches_total == 1
    cluster = QCluster()
    try:
        wait_for(
            lambda: job.mini_batches.filter(status=MiniBatch.RUNNING, rows_so_far__gt=0).exists(),
            timeout=120,
            message=lambda: (
                f"rows so far: {list(job.mini_batches.values_list('status', 'error'))}\n{cluster.output()[-1000:]}"
            ),
        )
        body = api.get(f"/api/v1/jobs/{job.name}").json()
        runs = api.get(f"/endpoints/{slow_endpoint.name}/runs/").content.decode()
        job.refresh_from_db()
        running = job.status == Status.RUNNING and job.mini_batches_done == 0
        so_far = body["counts"]["rows_in_progress"]
        detail = api.get(job.get_absolute_url()).content.decode()
        wait_for(lambda: job.refresh_from_db() or job.is_finished, timeout=120, message="the job to finish")
    finally:
        cluster.stop()
    assert running, "the job ended before its progress was seen"
    assert 5 <= so_far < 20 and body["counts"]["rows_out"] == 0
    assert "more scored so far by the running mini-batches" in detail and " so far</td>" in detail
    assert "rows scored so far" in runs
    assert job.status == Status.COMPLETED and job.rows_out == 20 and job.rows_in_progress == 0
