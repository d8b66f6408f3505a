"""jobs/web/table.py: the cells of the jobs table (Runs tab, /jobs/, Home), worked out in one pass."""

from datetime import UTC, datetime, timedelta

import pytest

from jobs.models import BatchJob, MiniBatch, Status
from jobs.web import table

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
SAS_URL = "https://acct.blob.core.windows.net/c/data/?sv=2024-01-01&sig=S3CRETSIGNATURE&sp=rl"


def _job(
    endpoint,
    name,
    status,
    started=None,
    finished=None,
    done=0,
    input_uri="azureml:iris:1",
    retry_of=None,
    deleted_deployment=False,
):
    return BatchJob.objects.create(
        name=name,
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        deployment=None if deleted_deployment else endpoint.default_deployment,
        input_uri=input_uri,
        output_datastore="workspaceblobstore",
        output_path=f"jobs/{name}",
        status=status,
        started=started,
        finished=finished,
        mini_batches_total=4,
        mini_batches_done=done,
        rows_out=100 * done,
        retry_of=retry_of,
    )


def _rows():
    jobs = BatchJob.with_retry_flag(BatchJob.objects.only(*table.COLUMNS)).order_by("name")
    return {row.name: row for row in table.rows(jobs, now=NOW)}


@pytest.mark.django_db
def test_each_cell_of_a_row(endpoint):
    running = _job(endpoint, "job-running", Status.RUNNING, started=NOW - timedelta(seconds=40), done=2)
    for i in range(2):
        MiniBatch.objects.create(
            job=running,
            index=i,
            status=MiniBatch.COMPLETED,
            rows_out=100,
            started=NOW - timedelta(seconds=40 - 20 * i),
            finished=NOW - timedelta(seconds=20 - 20 * i),
        )
    _job(
        endpoint,
        "job-done",
        Status.COMPLETED,
        started=NOW - timedelta(seconds=100),
        finished=NOW - timedelta(seconds=50),
        done=4,
        input_uri=SAS_URL,
    )
    _job(endpoint, "job-queued", Status.QUEUED)
    rows = _rows()
    run, done, queued = rows["job-running"], rows["job-done"], rows["job-queued"]
    assert (run.url, run.duration, run.percent, run.running) == ("/jobs/job-running/", "40.0 s", 50, True)
    assert run.rate == "5.0 rows/s" and run.eta == "ETA 40 s" and run.throughput.chart  # 200 rows left at 5 rows/s
    assert 'class="status status-running"' in run.status and "Running" in run.status
    assert (done.rate, done.eta, done.duration, done.percent, done.running) == ("8.0 rows/s", "", "50.0 s", 100, False)
    assert done.input == SAS_URL.replace("S3CRETSIGNATURE", "REDACTED")
    assert (queued.rate, queued.eta, queued.duration, queued.running) == ("", "", "", True)  # the cell shows "—"
    assert run.retry_url == done.retry_url == ""


@pytest.mark.django_db
def test_only_a_failed_or_canceled_job_not_retried_yet_offers_retry(endpoint):
    _job(endpoint, "job-failed", Status.FAILED, started=NOW, finished=NOW)
    _job(endpoint, "job-canceled", Status.CANCELED)
    _job(endpoint, "job-retried", Status.FAILED)
    _job(endpoint, "job-retry", Status.QUEUED, retry_of=BatchJob.objects.get(name="job-retried"))
    _job(endpoint, "job-orphan", Status.FAILED, deleted_deployment=True)  # its deployment was deleted since
    rows = _rows()
    assert rows["job-failed"].retry_url == "/jobs/job-failed/retry/" and rows["job-canceled"].retry_url
    assert rows["job-retried"].retry_url == rows["job-retry"].retry_url == rows["job-orphan"].retry_url == ""
    assert rows["job-orphan"].deployment_name == "blue (deleted)" and rows["job-failed"].deployment_name == "blue"
    assert rows["job-failed"].duration == ""  # started and finished at once: no duration shown
