"""The qcluster fixture stands in for the machines: one in embedded mode, two (one Redis, one PostgreSQL) in
distributed mode. Both serve the same compute cluster and share one job's mini-batches safely."""

import io

import pandas as pd
import pytest

from jobs.models import MiniBatch, Status
from jobs.submit import submit_job
from tests.conftest import DISTRIBUTED, wait_for
from workspace.compute.live import live_workers
from workspace.models import Datastore


def _finished(job):
    job.refresh_from_db()
    return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)


@pytest.mark.integration
def test_every_machine_serves_the_cluster_and_no_row_is_lost_or_doubled(endpoint, demo_data, qcluster):
    from django.db import connection

    machines = 2 if DISTRIBUTED else 1
    assert connection.vendor == ("postgresql" if DISTRIBUTED else "sqlite")
    assert len(qcluster.peers) == machines - 1
    wait_for(
        lambda: len({w.parent_pid for w in live_workers("cpu-cluster")}) == machines,
        timeout=60,
        message=lambda: f"{machines} qcluster processes alive; they said:\n{qcluster.output()[-3000:]}",
    )

    dep = endpoint.default_deployment
    dep.mini_batch_size, dep.instance_count = 1, 4
    dep.save()
    job = submit_job(endpoint, input_uri=demo_data)
    wait_for(lambda: _finished(job), message=lambda: f"job to finish; qclusters said:\n{qcluster.output()[-3000:]}")
    assert job.status == Status.COMPLETED, job.error
    out = pd.read_csv(io.BytesIO(Datastore.get_default().client().read_bytes(f"jobs/{job.name}/predictions.csv")))
    assert len(out) == 150 and not out.duplicated(["file_name", "row"]).any()
    assert out.groupby("file_name").size().to_dict() == {f"iris-{i}.csv": 30 for i in range(1, 6)}
    assert set(job.mini_batches.values_list("status", flat=True)) == {MiniBatch.COMPLETED}
