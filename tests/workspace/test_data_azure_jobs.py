"""Jobs whose data lives in a real Azurite: a registered blob datastore in and out, and a public-URL input."""

import io
import uuid

import pandas as pd
import pytest

from jobs.models import Status
from jobs.submit import submit_job
from tests.conftest import wait_for
from workspace import blob, demo
from workspace.models import Datastore


def _iris_container(azurite, prefix, public=False):
    """A new container holding the demo iris files under iris/ (5 files of 30 rows)."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    azurite.container(name, public=public)
    demo.write_demo_files(blob.BlobStore(azurite.account_url, name, "account_key", azurite.key), folder="iris")
    return name


def _finished(job, qcluster):
    def done():
        job.refresh_from_db()
        return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)

    wait_for(done, message=lambda: f"job to finish; qcluster said:\n{qcluster.output()[-3000:]}")


@pytest.mark.integration
def test_a_job_reads_a_blob_dataset_and_writes_its_predictions_to_blob(signed_in, endpoint, azurite, qcluster):
    container = _iris_container(azurite, "lake")
    r = signed_in.post(
        "/data/datastores/register/",
        {
            "name": "lake",
            "kind": "azure_blob",
            "account_url": azurite.account_url,
            "container": container,
            "credential_type": "account_key",
            "secret": azurite.key,
        },
    )
    assert r.status_code == 302
    r = signed_in.post(
        "/data/datasets/register/",
        {
            "name": "iris-blob",
            "type": "uri_folder",
            "source": "datastore",
            "datastore": Datastore.objects.get(name="lake").pk,
            "path": "iris",
        },
    )
    assert r.status_code == 302

    job = submit_job(endpoint, input_uri="azureml:iris-blob@latest", output_datastore="lake", output_path="scored/run1")
    assert (job.input_datastore, job.files_total) == ("lake", 5)
    _finished(job, qcluster)
    assert job.status == Status.COMPLETED, job.error

    lake = Datastore.objects.get(name="lake").client()
    out = pd.read_csv(io.BytesIO(lake.read_bytes("scored/run1/predictions.csv")))
    assert len(out) == 150 and list(out.columns) == ["row", "prediction", "file_name"]
    # Logs and the staging cleanup follow the Completed status.
    wait_for(
        lambda: lake.exists("scored/run1/logs/job_result.txt") and not lake.exists("scored/run1/.staging"),
        message="job logs written and staging removed",
    )


@pytest.mark.integration
def test_a_job_reads_a_public_blob_container_anonymously(endpoint, azurite, qcluster):
    container = _iris_container(azurite, "pub", public=True)

    job = submit_job(endpoint, input_uri=f"{azurite.account_url}/{container}/iris")
    assert job.input_datastore == "" and job.files_total == 5
    _finished(job, qcluster)
    assert job.status == Status.COMPLETED, job.error

    out = pd.read_csv(io.BytesIO(Datastore.get_default().client().read_bytes(f"jobs/{job.name}/predictions.csv")))
    assert len(out) == 150
