"""The whole trip through the API only: token, invoke with Azure's body, poll, download the predictions."""

import io

import pandas as pd
import pytest

from tests.conftest import wait_for
from tests.fixtures.api import check_response, invoke_body
from workspace.models import Datastore

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode


@pytest.mark.integration
def test_a_pipeline_scores_files_through_the_api_alone(client, user, endpoint, demo_data, qcluster):
    client.force_login(user)
    created = client.post("/account/tokens/", {"name": "pipeline"})
    client.logout()  # from here on only the token speaks
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {created.context['secret']}"
    Datastore.get_default().client().write("demo/iris/notes.txt", b"not data")  # a stray file the engine skips

    out = "azureml://datastores/workspaceblobstore/paths/pipelines/nightly/scores.csv"
    response = check_response(
        client.post(
            endpoint.scoring_uri_path,
            invoke_body(demo_data, out),
            content_type="application/json",
            HTTP_REPEATABILITY_REQUEST_ID="nightly-1",
        )
    )
    assert response.status_code == 201
    status_url = response.json()["urls"]["status"]

    def finished():
        job = check_response(client.get(status_url)).json()
        return job if job["status"] in ("Completed", "Failed", "Canceled") else None

    job = wait_for(finished, message=lambda: f"job to finish; qcluster said:\n{qcluster.output()[-3000:]}")
    assert job["status"] == "Completed", job["error"]
    assert job["counts"]["rows_out"] == 150 and job["timings"]["finished"]
    assert job["input"]["skipped"] == {"count": 1, "types": [".txt"], "names": ["notes.txt"]}

    download = client.get(job["urls"]["outputs"]["scores.csv"])
    assert download.status_code == 200
    predictions = pd.read_csv(io.BytesIO(b"".join(download.streaming_content)))
    assert list(predictions.columns) == ["row", "prediction", "file_name"] and len(predictions) == 150
    log = client.get(job["urls"]["outputs"]["logs/job_result.txt"])
    result = b"".join(log.streaming_content).decode()
    assert "Completed" in result and "Skipped 1 file of an unsupported type (.txt): notes.txt" in result
