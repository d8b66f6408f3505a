"""Files a scoring script writes into the output folder itself (summary_only, Azure's custom-outputs-parquet
pattern) are the job's outputs too: listed by the API and the job page, and downloadable from both."""

import io

import pandas as pd
import pytest

from jobs.models import Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, read_output, script_deployment
from tests.jobs.test_custom_script import SUMMARY_ONLY_DRIVER

pytestmark = pytest.mark.django_db
WRITTEN = [f"iris-{i}.parquet" for i in range(1, 6)]

# append_row that also writes a file of its own in a subfolder.
APPEND_ROW_WITH_A_SUMMARY = """
import os
from pathlib import Path


def run(mini_batch):
    folder = Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "summaries")
    folder.mkdir(exist_ok=True)
    for file_path in mini_batch:
        (folder / (Path(file_path).stem + ".txt")).write_text(f"{file_path} seen")
    return [Path(f).name for f in mini_batch]
"""


@pytest.fixture
def summary_only_job(endpoint, demo_data, tmp_path):
    script_deployment(
        endpoint, tmp_path, SUMMARY_ONLY_DRIVER, output_action="summary_only", output_file_name="", mini_batch_size=2
    )
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="script"))
    assert job.status == Status.COMPLETED, job.error
    return job


def test_the_api_lists_and_serves_the_files_a_summary_only_script_wrote(api, summary_only_job):
    job = summary_only_job
    shown = api.get(f"/api/v1/jobs/{job.name}").json()
    outputs = shown["urls"]["outputs"]
    assert [name for name in outputs if name.endswith(".parquet")] == WRITTEN
    assert "logs/job_result.txt" in outputs and not any(name.startswith(".staging") for name in outputs)
    response = api.get(outputs["iris-3.parquet"])
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == read_output(job, "iris-3.parquet")
    assert len(pd.read_parquet(io.BytesIO(body))) == 30
    assert api.get(f"/api/v1/jobs/{job.name}/outputs/iris-9.parquet").status_code == 404


def test_the_job_page_offers_the_files_the_script_wrote(signed_in, summary_only_job):
    page = signed_in.get(summary_only_job.get_absolute_url()).content.decode()
    assert "Written by the scoring script:" in page
    for name in WRITTEN:
        assert f"Download {name}" in page
    response = signed_in.get(f"/jobs/{summary_only_job.name}/download/iris-1.parquet")
    assert response.status_code == 200 and b"".join(response.streaming_content) == read_output(
        summary_only_job, "iris-1.parquet"
    )


def test_an_append_row_script_s_own_files_are_listed_beside_the_output(api, endpoint, demo_data, tmp_path):
    script_deployment(endpoint, tmp_path, APPEND_ROW_WITH_A_SUMMARY, mini_batch_size=2)
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="script"))
    assert job.status == Status.COMPLETED, job.error
    assert job.script_outputs == [f"summaries/iris-{i}.txt" for i in range(1, 6)]
    outputs = api.get(f"/api/v1/jobs/{job.name}").json()["urls"]["outputs"]
    assert "predictions.csv" in outputs and "summaries/iris-2.txt" in outputs
    response = api.get(outputs["summaries/iris-2.txt"])
    assert response.status_code == 200 and b"".join(response.streaming_content).endswith(b"iris-2.csv seen")
