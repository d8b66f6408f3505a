"""The output location refuses writes: the job fails with the reason and staging is cleaned.
An endpoint deleted while its job runs: the job keeps its endpoint's name and completes."""

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from jobs.models import BatchJob, Status
from jobs.submit import submit_job
from studio.models import Datastore
from tests.conftest import wait_for
from tests.fixtures_distributed import count_rows, record


@contextmanager
def writes_refused(folder: Path):
    """Permission denied on a folder, for root too (root ignores modes: make the folder immutable)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)


def _finished(job):
    job.refresh_from_db()
    return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)


@pytest.mark.integration
def test_permission_denied_on_the_output_fails_the_job_with_the_reason(endpoint, demo_data, qcluster):
    store = Datastore.get_default()
    out = store.local_root() / "denied"
    # Staging and logs can be written; publishing predictions.csv in the folder cannot.
    for sub in (".staging", "logs/mini-batches"):
        (out / sub).mkdir(parents=True)
    with writes_refused(out):
        job = submit_job(endpoint, input_uri=demo_data, output_path="denied")
        wait_for(lambda: _finished(job), message=lambda: qcluster.output()[-3000:])
        staging_left = sorted(p.name for p in (out / ".staging").iterdir()) if (out / ".staging").exists() else []
    record("output_permission_denied", {"status": job.status, "error": job.error, "staging_files_left": staging_left})
    assert job.status == Status.FAILED
    assert "Permission" in job.error or "not permitted" in job.error, job.error
    assert not (out / "predictions.csv").exists()
    assert staging_left == [], "staging must be dropped after a failed publish"


@pytest.mark.integration
def test_deleting_the_endpoint_while_its_job_runs_lets_the_job_complete(endpoint, demo_data, qcluster):
    job = submit_job(endpoint, input_uri=demo_data)
    wait_for(lambda: BatchJob.objects.filter(pk=job.pk, status=Status.RUNNING).exists() or _finished(job),
             message=lambda: qcluster.output()[-3000:])
    endpoint.delete()
    wait_for(lambda: _finished(job), message=lambda: qcluster.output()[-3000:])
    assert job.endpoint_id is None and job.deployment_id is None
    assert job.endpoint_name == "iris-endpoint"
    assert job.status == Status.COMPLETED, job.error
    rows = count_rows(job)
    assert (rows["lost"], rows["duplicated"]) == (0, 0), rows
