"""Jobs whose data lives in a real S3-compatible server (moto): a registered S3 datastore in and out, by a real
qcluster; and predictions that exist already are never replaced."""

import io

import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from jobs.models import Status
from jobs.submit import submit_job
from tests.conftest import wait_for
from tests.fixtures.engine import drive
from tests.fixtures.s3 import REGION
from workspace import demo
from workspace.models import Datastore


def _finished(job, qcluster):
    def done():
        job.refresh_from_db()
        return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)

    wait_for(done, message=lambda: f"job to finish; qcluster said:\n{qcluster.output()[-3000:]}")


def _register_lake(signed_in, s3, bucket, **overrides):
    form = {
        "name": "lake",
        "kind": "s3",
        "endpoint_url": s3.endpoint_url,
        "bucket": bucket,
        "region": REGION,
        "access_key_id": s3.access_key_id,
        "secret_access_key": s3.secret_access_key,
        **overrides,
    }
    r = signed_in.post("/data/datastores/register/", form)
    assert r.status_code == 302, r.content.decode()[-2000:]
    return Datastore.objects.get(name=form["name"])


@pytest.mark.integration
def test_a_job_reads_an_s3_dataset_and_writes_its_predictions_to_s3(signed_in, endpoint, s3, qcluster):
    bucket = s3.bucket("lake")
    demo.write_demo_files(s3.store(bucket), folder="iris")  # 5 files of 30 rows
    lake = _register_lake(signed_in, s3, bucket)
    r = signed_in.post(
        "/data/datasets/register/",
        {"name": "iris-s3", "type": "uri_folder", "source": "datastore", "datastore": lake.pk, "path": "iris"},
    )
    assert r.status_code == 302

    job = submit_job(endpoint, input_uri="azureml:iris-s3@latest", output_datastore="lake", output_path="scored/run1")
    assert (job.input_datastore, job.files_total) == ("lake", 5)
    _finished(job, qcluster)
    assert job.status == Status.COMPLETED, job.error

    out = pd.read_csv(io.BytesIO(s3.store(bucket).read_bytes("scored/run1/predictions.csv")))
    assert len(out) == 150 and list(out.columns) == ["row", "prediction", "file_name"]
    assert sorted(out["file_name"].unique()) == [f"iris-{i}.csv" for i in range(1, 6)]
    # Logs and the staging cleanup follow the Completed status.
    wait_for(
        lambda: (
            lake.client().exists("scored/run1/logs/job_result.txt") and not lake.client().exists("scored/run1/.staging")
        ),
        message="job logs written and staging removed",
    )


@pytest.mark.integration
def test_a_job_reads_a_public_bucket_anonymously_by_datastore_path(signed_in, endpoint, s3, qcluster):
    bucket = s3.bucket("pub", public=True)
    demo.write_demo_files(s3.store(bucket), folder="iris", files=2)
    _register_lake(signed_in, s3, bucket, name="public-lake", access_key_id="", secret_access_key="")

    job = submit_job(endpoint, input_uri="azureml://datastores/public-lake/paths/iris/iris-2.csv")
    assert (job.input_datastore, job.files_total) == ("public-lake", 1)
    _finished(job, qcluster)
    assert job.status == Status.COMPLETED, job.error
    out = pd.read_csv(io.BytesIO(Datastore.get_default().client().read_bytes(f"jobs/{job.name}/predictions.csv")))
    assert len(out) == 30 and set(out["file_name"]) == {"iris-2.csv"}


def test_predictions_that_exist_in_s3_are_never_replaced(signed_in, endpoint, s3):
    theirs = b"row,prediction,file_name\nkept,1,x.csv\n"
    bucket = s3.bucket("keep", files={"taken/predictions.csv": theirs})
    demo.write_demo_files(s3.store(bucket), folder="iris", files=1)
    _register_lake(signed_in, s3, bucket)
    with pytest.raises(ValidationError, match="paths/taken/predictions.csv already exists"):
        submit_job(
            endpoint, input_uri="azureml://datastores/lake/paths/iris", output_datastore="lake", output_path="taken"
        )

    # An output that appears after the submit: the conditional write at commit refuses to replace it.
    job = submit_job(
        endpoint, input_uri="azureml://datastores/lake/paths/iris", output_datastore="lake", output_path="out"
    )
    s3.store(bucket).write("out/predictions.csv", theirs)
    drive(job)
    assert job.status == Status.FAILED and "'out/predictions.csv' already exists" in job.error
    assert s3.store(bucket).read_bytes("out/predictions.csv") == theirs
