"""50 jobs submitted at once through the REST API, each over its own input: 50 correct outputs, and no job's
output holds a row of another's."""

import io
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from django.db import connections
from django.test import Client

from jobs.models import BatchJob, Status
from tests.conftest import wait_for
from tests.fixtures.distributed import record, write_iris_files
from workspace.models import Datastore

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode

JOBS = 50


@pytest.mark.integration
def test_fifty_jobs_at_once_give_fifty_correct_outputs(endpoint, token, qcluster):
    store = Datastore.get_default()
    sources = [write_iris_files(store, f"load/job-{k:02d}", 1, prefix=f"job{k:02d}-") for k in range(JOBS)]

    def submit(k):
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
            body = {"properties": {"InputData": {"data": {"JobInputType": "UriFolder", "Uri": sources[k]}}}}
            response = client.post(f"/api/v1/endpoints/{endpoint.name}/jobs", body, content_type="application/json")
            return k, response.status_code, response.json().get("name")
        finally:
            connections.close_all()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(submit, range(JOBS)))
    submitted = time.monotonic() - started
    assert [code for _, code, _ in results] == [201] * JOBS, results
    names = {k: name for k, _, name in results}
    assert len(set(names.values())) == JOBS

    def all_done():
        return (
            BatchJob.objects.filter(name__in=names.values(), status__in=[Status.COMPLETED, Status.FAILED]).count()
            == JOBS
        )

    wait_for(all_done, timeout=900, interval=1, message=lambda: qcluster.output()[-3000:])
    finished = time.monotonic() - started
    wrong = []
    for k, name in names.items():
        job = BatchJob.objects.get(name=name)
        assert job.status == Status.COMPLETED, (name, job.error)
        assert job.input_uri.rstrip("/").endswith(f"load/job-{k:02d}")
        out = pd.read_csv(io.BytesIO(store.client().read_bytes(job.output_file_path)))
        if len(out) != 30 or set(out["file_name"]) != {f"job{k:02d}-00001.csv"} or out.duplicated(["row"]).any():
            wrong.append((name, len(out)))
    record(
        "fifty_jobs",
        {
            "jobs": JOBS,
            "wrong_outputs": len(wrong),
            "submit_seconds": round(submitted, 1),
            "all_finished_seconds": round(finished, 1),
        },
    )
    assert wrong == []
