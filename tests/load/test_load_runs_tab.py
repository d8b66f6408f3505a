"""A Runs tab over 10 000 jobs: the first page costs the same number of SQL queries as over 30, and its median
time is measured (recorded in docs/RELIABILITY.md, not asserted)."""

import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import BatchJob, Status
from tests.fixtures_distributed import record

STATUSES = [Status.COMPLETED, Status.FAILED, Status.RUNNING, Status.QUEUED, Status.CANCELED]


def _add_jobs(endpoint, n, start=0):
    dep = endpoint.default_deployment
    BatchJob.objects.bulk_create([
        BatchJob(name=f"batchjob-load-{start + i:06d}", endpoint=endpoint, deployment=dep, endpoint_name=endpoint.name,
                 deployment_name=dep.name, model_uri=f"models:/{dep.model_name}/{dep.model_version}",
                 input_uri="azureml://datastores/workspaceblobstore/paths/demo/iris", output_datastore="workspaceblobstore",
                 output_path=f"jobs/batchjob-load-{start + i:06d}", status=STATUSES[i % len(STATUSES)],
                 settings={"output_file_name": "predictions.csv", "mini_batch_size": 10},
                 files_total=10, mini_batches_total=1, mini_batches_done=i % 2)
        for i in range(n)], batch_size=1000)


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


PAGES = ["/endpoints/{name}/runs/", "/jobs/", "/"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_the_first_page_costs_the_same_queries_for_30_or_10000_jobs(signed_in, endpoint, page):
    url = page.format(name=endpoint.name)
    _add_jobs(endpoint, 30)
    few = _queries(signed_in, url)
    _add_jobs(endpoint, 10_000 - 30, start=30)
    assert BatchJob.objects.count() == 10_000
    many = _queries(signed_in, url)
    assert many == few, (url, few, many)

    timings = []
    for _ in range(15):
        started = time.perf_counter()
        signed_in.get(url)
        timings.append(time.perf_counter() - started)
    record("runs_tab_10000", {"url": page, "jobs": 10_000, "queries": many, "db": connection.vendor,
                              "median_ms": round(1000 * statistics.median(timings), 1),
                              "max_ms": round(1000 * max(timings), 1), "requests": len(timings)})
