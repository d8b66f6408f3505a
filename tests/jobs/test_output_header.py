"""predictions.csv has a header row by default (pandas reads it as is); `output_header: false` writes it as Azure
does, without one (Azure's notebooks read it with header=None): from the deployment YAML, or per job."""

import io
import json

import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from endpoints.models import BatchDeployment
from jobs.models import Status
from jobs.results import read_predictions
from jobs.submit import submit_job
from tests.fixtures.api import DEPLOYMENT_YML, invoke_body, run
from tests.fixtures.engine import drive, read_output
from workspace import registry

pytestmark = pytest.mark.django_db


def expected_predictions(demo_model) -> list:
    """The demo model called directly on the demo files, in the order the job reads them."""
    import mlflow.pyfunc

    from workspace import demo
    from workspace.models import Datastore

    store = Datastore.get_default().client()
    model = mlflow.pyfunc.load_model(str(registry.model_dir(demo_model.name, demo_model.version)))
    frames = [pd.read_csv(io.BytesIO(store.read_bytes(f"{demo.DEMO_FOLDER}/iris-{i}.csv"))) for i in range(1, 6)]
    return [int(p) for frame in frames for p in model.predict(frame)]


def test_by_default_predictions_csv_starts_with_its_header_row(endpoint, demo_data):
    job = drive(submit_job(endpoint, input_uri=demo_data))
    assert job.status == Status.COMPLETED and job.settings["output_header"] is True
    text = read_output(job, "predictions.csv").decode()
    assert text.splitlines()[0] == "row,prediction,file_name" and len(text.splitlines()) == 151


def test_a_deployment_with_output_header_false_writes_azures_headerless_file(
    tmp_path, endpoint, demo_model, demo_data, signed_in
):
    path = tmp_path / "deployment.yml"
    path.write_text(
        DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name).replace("blue", "azure-like")
        + "  output_header: false\n  write_manifest: true\n"
    )
    shown = json.loads(run("batch_deployment", "create", "-f", str(path)))
    assert shown["settings"]["output_header"] is False
    assert BatchDeployment.objects.get(name="azure-like").output_header is False
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="azure-like"))
    assert job.status == Status.COMPLETED, job.error
    # read as Azure's notebooks read it
    out = pd.read_csv(io.BytesIO(read_output(job, "predictions.csv")), header=None)
    assert len(out) == 150 and out[1].tolist() == expected_predictions(demo_model)
    manifest = json.loads(read_output(job, "manifest.json"))
    assert manifest["files"][0]["path"] == "predictions.csv" and manifest["files"][0]["rows"] == 150
    page = signed_in.get(job.get_absolute_url()).content.decode()
    assert "First rows of predictions.csv (no header row, as Azure writes it: the columns are numbered)" in page
    with pytest.raises(ValidationError) as refused:
        list(read_predictions(job))
    assert refused.value.code == "no_header_row"


def test_a_job_can_ask_for_the_headerless_file_through_the_api(api, endpoint, demo_data):
    response = api.post(
        endpoint.scoring_uri_path, invoke_body(demo_data, output_header=False), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    job = drive(endpoint.jobs.get(name=response.json()["name"]))
    assert job.status == Status.COMPLETED and job.settings["output_header"] is False
    first = read_output(job, "predictions.csv").decode().splitlines()[0]
    assert first.split(",")[0] == "0" and first.endswith("iris-1.csv")
    refused = api.post(
        endpoint.scoring_uri_path, invoke_body(demo_data, output_header="no"), content_type="application/json"
    )
    assert refused.status_code == 400 and "output_header" in refused.content.decode()
