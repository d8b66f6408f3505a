"""Azure-style scoring scripts run unchanged: init() once, run(mini_batch) with local file paths,
AZUREML_MODEL_DIR holding the model's folder, AZUREML_BI_OUTPUT_PATH landing in the job's output folder."""

import io

import pandas as pd
import pytest

from jobs.models import Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_exists, output_frame, read_output, script_deployment

# As in Azure's MLflow "batch_driver.py" examples: the model folder is found under AZUREML_MODEL_DIR.
APPEND_ROW_DRIVER = """
import glob
import logging
import os

import mlflow
import pandas as pd


def init():
    global model
    model_path = glob.glob(os.environ["AZUREML_MODEL_DIR"] + "/*/")[0]
    model = mlflow.pyfunc.load_model(model_path)
    logging.info("model loaded from %s", model_path)


def run(mini_batch):
    print(f"run method start: {__file__}, run({len(mini_batch)} files)")
    frames = []
    for file_path in mini_batch:
        data = pd.read_csv(file_path)
        frames.append(pd.DataFrame({"file": os.path.basename(file_path), "prediction": model.predict(data)}))
    return pd.concat(frames)
"""

SUMMARY_ONLY_DRIVER = """
import os
from pathlib import Path

import mlflow
import pandas as pd


def init():
    global model, output_path
    output_path = os.environ["AZUREML_BI_OUTPUT_PATH"]
    model_path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model")
    model = mlflow.pyfunc.load_model(model_path)


def run(mini_batch):
    for file_path in mini_batch:
        data = pd.read_csv(file_path)
        data["prediction"] = model.predict(data)
        output_file_path = os.path.join(output_path, Path(file_path).stem + ".parquet")
        data.to_parquet(output_file_path)
    return mini_batch
"""


@pytest.mark.django_db
def test_an_azure_append_row_driver_runs_unchanged(endpoint, demo_data, tmp_path):
    script_deployment(endpoint, tmp_path, APPEND_ROW_DRIVER, mini_batch_size=2)
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="script"))
    assert job.status == Status.COMPLETED, job.error
    out = output_frame(job)
    assert list(out.columns) == ["file", "prediction"] and len(out) == 150
    assert out["file"].tolist() == sorted(out["file"].tolist())  # mini-batches joined in input order
    assert job.rows_out == 150
    log = read_output(job, "logs/mini-batches/0.log").decode()
    assert "run method start" in log and "run(2 files)" in log and "model loaded from" in log


@pytest.mark.django_db
def test_an_azure_summary_only_driver_writes_parquet_to_the_output_folder(endpoint, demo_data, tmp_path):
    script_deployment(
        endpoint, tmp_path, SUMMARY_ONLY_DRIVER, output_action="summary_only", output_file_name="", mini_batch_size=2
    )
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="script"))
    assert job.status == Status.COMPLETED, job.error
    assert job.rows_out == 5  # run() returned its 5 file paths: each element counts as one success
    for i in range(1, 6):
        part = pd.read_parquet(io.BytesIO(read_output(job, f"iris-{i}.parquet")))
        assert len(part) == 30 and "prediction" in part.columns
    assert not output_exists(job, "predictions.csv")
    assert output_exists(job, "logs/job_result.txt")


@pytest.mark.django_db
def test_init_runs_once_per_host_across_mini_batches(endpoint, demo_data, tmp_path):
    script_deployment(
        endpoint,
        tmp_path,
        """
        import os
        inits = 0
        def init():
            global inits
            inits += 1
        def run(mini_batch):
            return [{"pid": os.getpid(), "inits": inits} for _ in mini_batch]
    """,
        mini_batch_size=1,
    )
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="script"))
    out = output_frame(job)
    assert len(out) == 5 and set(out["inits"]) == {1} and out["pid"].nunique() == 1


@pytest.mark.django_db
def test_a_script_without_run_fails_its_mini_batches_with_a_reason(endpoint, demo_data, tmp_path):
    script_deployment(endpoint, tmp_path, "def init():\n    pass\n", max_retries=0)
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="script"))
    # error_threshold -1 reports failures without failing the job, but a job that scored nothing is Failed (it was
    # "Completed with errors" with an empty output and a full bar), with the first error as its own
    assert job.status == Status.FAILED and not job.failed_on_threshold
    assert job.error.startswith("Nothing was scored: every mini-batch failed. The first error: ")
    assert "defines no run(mini_batch) function" in job.error
    assert job.files_failed == 5 and job.mini_batches_failed == 1 and job.can_retry
    assert "defines no run(mini_batch) function" in job.mini_batches.get().error
    summary = pd.read_csv(io.BytesIO(read_output(job, "logs/error_summary.csv")))
    assert sorted(summary["file"]) == [f"demo/iris/iris-{i}.csv" for i in range(1, 6)]
    assert not output_exists(job, "predictions.csv")  # no empty output published


@pytest.mark.django_db
def test_a_job_whose_init_fails_ends_failed_with_the_init_error(endpoint, demo_data, tmp_path):
    script_deployment(
        endpoint,
        tmp_path,
        "def init():\n    raise RuntimeError('model file is corrupt')\n\n\ndef run(mb):\n    return mb\n",
        max_retries=0,
        mini_batch_size=2,
    )
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="script"))
    assert job.status == Status.FAILED and job.mini_batches_failed == 3
    assert "model file is corrupt" in job.error


@pytest.mark.django_db
def test_a_job_where_some_mini_batches_scored_is_completed_with_errors(endpoint, demo_data, tmp_path):
    script_deployment(
        endpoint,
        tmp_path,
        """
        def init():
            pass
        def run(mini_batch):
            if any(path.endswith("iris-2.csv") for path in mini_batch):
                raise ValueError("bad file")
            return [{"file": path} for path in mini_batch]
    """,
        max_retries=0,
        mini_batch_size=1,
    )
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="script"))
    assert job.status == Status.COMPLETED_WITH_ERRORS and job.mini_batches_failed == 1 and job.rows_out == 4


@pytest.mark.django_db
def test_blob_inputs_reach_the_script_as_local_files_and_its_outputs_land_in_blob(endpoint, tmp_path, azurite):
    import uuid

    from workspace import demo
    from workspace.models import Datastore

    container = f"lake{uuid.uuid4().hex[:8]}"
    azurite.container(container)
    lake = Datastore(
        name="lake",
        kind=Datastore.AZURE_BLOB,
        account_url=azurite.account_url,
        container=container,
        credential_type="account_key",
    )
    lake.set_secret(azurite.key)
    lake.save()
    demo.write_demo_files(lake.client(), folder="iris")
    script_deployment(
        endpoint, tmp_path, SUMMARY_ONLY_DRIVER, output_action="summary_only", output_file_name="", mini_batch_size=2
    )
    job = drive(
        submit_job(
            endpoint,
            input_uri=lake.uri("iris"),
            deployment_name="script",
            output_datastore="lake",
            output_path="scored",
        )
    )
    assert job.status == Status.COMPLETED, job.error
    part = pd.read_parquet(io.BytesIO(lake.client().read_bytes("scored/iris-3.parquet")))
    assert len(part) == 30 and "prediction" in part.columns
    assert lake.client().exists("scored/logs/mini-batches/0.log")


@pytest.mark.django_db
def test_a_script_gets_every_file_of_its_input_whatever_its_type(endpoint, tmp_path):
    """Azure passes the whole folder to run(): text documents, files without an extension and tables alike."""
    from workspace.models import Datastore

    store = Datastore.get_default()
    for name, text in [("a.txt", "one two three"), ("README", "four five"), ("b.csv", "x\n1\n")]:
        store.client().write(f"docs/{name}", text.encode())
    script_deployment(
        endpoint,
        tmp_path,
        """
        from pathlib import Path
        def run(mini_batch):
            return [{"file": Path(p).name, "words": len(Path(p).read_text().split())} for p in mini_batch]
    """,
        mini_batch_size=2,
    )
    job = drive(submit_job(endpoint, input_uri=store.uri("docs"), deployment_name="script"))
    assert job.status == Status.COMPLETED, job.error
    assert job.files_total == 3 and not job.input_skipped
    assert sorted(output_frame(job).itertuples(index=False, name=None)) == [("README", 2), ("a.txt", 3), ("b.csv", 2)]
