"""The whole seed flow through the REST API alone, no page and no command: register a model (a zip upload), create
an endpoint and a deployment, invoke, poll until Completed on a real worker, download the predictions."""

import io
import shutil
import zipfile

import pandas as pd
import pytest

from tests.conftest import wait_for
from tests.fixtures.api import check_response, invoke_body
from workspace import demo


def _zipped_model(folder) -> io.BytesIO:
    demo.train_iris(folder / "model")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((folder / "model").rglob("*")):
            archive.write(path, path.relative_to(folder))
    shutil.rmtree(folder / "model")
    buffer.seek(0)
    buffer.name = "iris-model.zip"
    return buffer


@pytest.mark.integration
def test_the_seed_flow_through_the_api_alone(api, demo_data, qcluster, tmp_path):
    uploaded = check_response(
        api.post(
            "/api/v1/models",
            {"name": "iris-api", "description": "Iris, uploaded", "model_zip": _zipped_model(tmp_path)},
        )
    )
    assert uploaded.status_code == 201, uploaded.json()
    model = uploaded.json()
    assert (model["name"], model["version"], model["type"]) == ("iris-api", "1", "mlflow_model")

    endpoint = check_response(
        api.post("/api/v1/endpoints", {"name": "iris-api", "auth_mode": "aad_token"}, content_type="application/json")
    )
    assert endpoint.status_code == 201
    deployment = check_response(
        api.post(
            "/api/v1/endpoints/iris-api/deployments",
            {
                "name": "blue",
                "type": "model",
                "model": model["id"],
                "resources": {"instance_count": 1},
                "settings": {"mini_batch_size": 2, "output_file_name": "predictions.csv"},
            },
            content_type="application/json",
        )
    )
    assert deployment.status_code == 201 and deployment.json()["is_default"]

    scoring_uri = check_response(api.get("/api/v1/endpoints/iris-api")).json()["scoring_uri"]
    invoked = check_response(api.post(scoring_uri, invoke_body(demo_data), content_type="application/json"))
    assert invoked.status_code == 201
    status_url = invoked["Location"]

    def finished():
        job = check_response(api.get(status_url)).json()
        return job if job["properties"]["status"] in ("Completed", "Failed", "Canceled") else None

    job = wait_for(finished, message=lambda: f"the job to finish; the worker said:\n{qcluster.output()[-3000:]}")
    assert job["properties"]["status"] == "Completed" and not job["properties"]["completedWithErrors"], job["error"]
    assert job["deployment_name"] == "blue" and job["counts"]["rows_out"] == 150

    download = api.get(job["urls"]["outputs"]["predictions.csv"])
    assert download.status_code == 200
    predictions = pd.read_csv(io.BytesIO(b"".join(download.streaming_content)))
    assert list(predictions.columns) == ["row", "prediction", "file_name"] and len(predictions) == 150
    assert set(predictions["prediction"]) <= {0, 1, 2}
