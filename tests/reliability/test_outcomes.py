"""A job's outcome tells the truth: one that scored nothing is Failed with the error that stopped it (a model that
cannot load), not "Completed with errors" with an empty output and a full progress bar."""

import tempfile
from pathlib import Path

import pytest

from endpoints.models import BatchDeployment, BatchEndpoint
from jobs.models import Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_exists
from workspace import demo, registry


@pytest.mark.django_db
def test_a_job_whose_model_artifact_is_corrupt_ends_failed_with_the_load_error(demo_data, signed_in):
    with tempfile.TemporaryDirectory() as tmp:
        folder = demo.train_iris(Path(tmp) / "model")
        (folder / "model.pkl").write_bytes(b"this is not a pickle")  # what a broken upload leaves
        broken = registry.register_folder("broken-iris", folder)
    endpoint = BatchEndpoint.objects.create(name="broken-endpoint")
    deployment = BatchDeployment.objects.create(
        endpoint=endpoint, name="blue", model_name=broken.name, model_version=broken.version, max_retries=0
    )
    endpoint.set_default(deployment)
    job = drive(submit_job(endpoint, input_uri=demo_data))
    assert job.status == Status.FAILED, job.error
    assert job.error.startswith("Nothing was scored: every mini-batch failed. The first error:")
    assert "UnpicklingError" in job.error  # the load error itself
    assert job.rows_out == 0 and job.can_retry and not output_exists(job, "predictions.csv")
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert "Nothing was scored" in page and "Retry failed" in page
