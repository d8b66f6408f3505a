"""A job goes from submitted to Completed through a real qcluster, with one output row per input row."""

import io

import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from jobs.models import BatchJob, Status
from jobs.submit import submit_job
from tests.conftest import wait_for
from workspace.models import Dataset, Datastore

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode


def _finished(job):
    job.refresh_from_db()
    return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)


@pytest.mark.integration
def test_a_job_scores_every_row_through_the_queue(endpoint, demo_data, qcluster):
    job = submit_job(endpoint, input_uri=demo_data)
    assert job.status == Status.QUEUED and job.mini_batches_total == 3
    wait_for(lambda: _finished(job), message=lambda: f"job to finish; qcluster said:\n{qcluster.output()[-3000:]}")
    assert job.status == Status.COMPLETED, job.error
    store = Datastore.get_default().client()
    out = pd.read_csv(io.BytesIO(store.read_bytes(f"jobs/{job.name}/predictions.csv")))
    assert list(out.columns) == ["row", "prediction", "file_name"]
    assert len(out) == 150
    assert out.groupby("file_name").size().to_dict() == {f"iris-{i}.csv": 30 for i in range(1, 6)}
    assert out["file_name"].tolist() == sorted(out["file_name"].tolist())  # input order
    assert set(out["prediction"]) <= {0, 1, 2}
    assert store.exists(f"jobs/{job.name}/logs/job_result.txt")
    # staging is removed just after Completed (a finalize that dies in between must still find its parts)
    wait_for(lambda: not store.exists(f"jobs/{job.name}/.staging"), timeout=30, message="staging to be removed")


@pytest.mark.django_db
def test_it_refuses_an_output_file_that_exists(endpoint, demo_data):
    store = Datastore.get_default()
    store.client().write("taken/predictions.csv", b"row,prediction\n")
    with pytest.raises(ValidationError) as err:
        submit_job(endpoint, input_uri=demo_data, output_path="taken")
    assert err.value.code == "output_exists"
    assert "azureml://datastores/workspaceblobstore/paths/taken/predictions.csv already exists" in err.value.messages[0]
    assert not BatchJob.objects.exists()
    assert store.client().read_bytes("taken/predictions.csv") == b"row,prediction\n"


@pytest.mark.django_db
def test_it_refuses_an_output_folder_a_job_still_writes_to(endpoint, demo_data):
    """Two jobs on one folder wrote their logs over each other's: a Completed job's job_result.txt read 'Failed'."""
    first = submit_job(endpoint, input_uri=demo_data, output_path="shared/out")
    with pytest.raises(ValidationError) as err:
        submit_job(endpoint, input_uri=demo_data, output_path="shared/out/")
    assert err.value.code == "output_in_use"
    assert (
        f"Job {first.name} (Queued) writes its output to azureml://datastores/workspaceblobstore/paths/shared/out. "
        "Choose another output path"
    ) in err.value.messages[0]
    assert BatchJob.objects.count() == 1
    BatchJob.objects.filter(pk=first.pk).update(status=Status.FAILED)  # finished, with no output file: free again
    assert submit_job(endpoint, input_uri=demo_data, output_path="shared/out").output_path == "shared/out"


@pytest.mark.django_db
def test_it_refuses_an_output_among_the_input_files(endpoint, demo_data):
    with pytest.raises(ValidationError) as err:
        submit_job(endpoint, input_uri=demo_data, output_path="demo/iris/")
    assert err.value.code == "output_in_input"
    assert "azureml://datastores/workspaceblobstore/paths/demo/iris is the input's folder" in err.value.messages[0]
    assert not BatchJob.objects.exists()
    # a subfolder is not read (nested folders are not scored), and one file may have its output beside it
    assert submit_job(endpoint, input_uri=demo_data, output_path="demo/iris/scored").output_path == "demo/iris/scored"
    assert submit_job(endpoint, input_uri=demo_data + "/iris-1.csv", output_path="demo/iris").output_path == "demo/iris"
    BatchJob.objects.update(status=Status.COMPLETED)  # a folder takes one unfinished job at a time
    # a dataset of one file too; a dataset of the folder (or of a glob in it) is the folder
    store = Datastore.get_default()
    one = Dataset.register(name="one-iris", datastore=store, path="demo/iris/iris-2.csv", type=Dataset.URI_FILE)
    assert submit_job(endpoint, input_uri=one.uri, output_path="demo/iris").output_path == "demo/iris"
    BatchJob.objects.update(status=Status.COMPLETED)
    globbed = Dataset.register(name="all-iris", datastore=store, path="demo/iris/*.csv", type=Dataset.URI_FOLDER)
    with pytest.raises(ValidationError, match="is the input's folder"):
        submit_job(endpoint, input_uri=globbed.uri, output_path="demo/iris")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "uri,code",
    [
        ("azureml://datastores/workspaceblobstore/paths/missing", "input_not_found"),
        ("azureml://datastores/nope/paths/x", "unknown_datastore"),
        ("ftp://x", "input_unknown_scheme"),
        ("", "input_required"),
    ],
)
def test_bad_inputs_are_refused_with_a_reason(endpoint, uri, code):
    with pytest.raises(ValidationError) as err:
        submit_job(endpoint, input_uri=uri)
    assert err.value.code == code
    assert not BatchJob.objects.exists()
