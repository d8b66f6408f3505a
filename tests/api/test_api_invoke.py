"""Invoking an endpoint with Azure's body, and reading its jobs back, checked against the OpenAPI file."""

import pytest
from django.core.exceptions import ValidationError

from api import invoke
from endpoints.models import BatchDeployment
from jobs.models import BatchJob, Status
from tests.fixtures.api import check_response, invoke_body
from workspace.models import Dataset, Datastore

SCORE = "/api/v1/endpoints/iris-endpoint/jobs"


def _post(api, body, **headers):
    return check_response(api.post(SCORE, body, content_type="application/json", **headers))


@pytest.mark.django_db
def test_it_starts_a_job_from_azures_body(api, endpoint, demo_data, user):
    out = "azureml://datastores/workspaceblobstore/paths/results/run-1/scores.csv"
    response = _post(api, invoke_body(demo_data, out, mini_batch_size=1, retry_settings={"max_retries": 0}))
    assert response.status_code == 201
    job = BatchJob.objects.get()
    data = response.json()
    assert data["name"] == job.name and data["status"] == Status.QUEUED
    assert response["Location"] == data["urls"]["status"] == f"http://testserver/api/v1/jobs/{job.name}"
    assert data["urls"]["studio"] == f"http://testserver/jobs/{job.name}/"
    assert f"http://testserver/api/v1/jobs/{job.name}/outputs/scores.csv" in data["urls"]["outputs"].values()
    assert (job.output_datastore, job.output_path) == ("workspaceblobstore", "results/run-1")
    assert job.settings["output_file_name"] == "scores.csv"
    assert job.mini_batches_total == 5 and job.settings["max_retries"] == 0
    assert job.created_by == user


@pytest.mark.django_db
def test_the_output_options_through_the_api(api, endpoint, demo_data):
    response = _post(
        api,
        invoke_body(demo_data, output_format="parquet", passthrough_columns=["petal width (cm)"], write_manifest=True),
    )
    assert response.status_code == 201
    job = BatchJob.objects.get()
    assert (job.settings["output_format"], job.settings["output_file_name"]) == ("parquet", "predictions.parquet")
    outputs = response.json()["urls"]["outputs"].values()
    assert f"http://testserver/api/v1/jobs/{job.name}/outputs/manifest.json" in outputs
    refused = _post(api, invoke_body(demo_data, passthrough_columns=["customer_id"]))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "passthrough_column_missing"


@pytest.mark.django_db
def test_a_retried_invoke_with_the_same_repeatability_id_creates_one_job(api, endpoint, demo_data):
    first = _post(api, invoke_body(demo_data), HTTP_REPEATABILITY_REQUEST_ID="retry-42")
    second = _post(api, invoke_body(demo_data), HTTP_REPEATABILITY_REQUEST_ID="retry-42")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["name"] == second.json()["name"]
    assert BatchJob.objects.count() == 1
    third = _post(api, invoke_body(demo_data), HTTP_REPEATABILITY_REQUEST_ID="another")
    assert third.status_code == 201 and BatchJob.objects.count() == 2


@pytest.mark.django_db
def test_the_deployment_header_picks_a_deployment(api, endpoint, demo_data, demo_model):
    BatchDeployment.objects.create(
        endpoint=endpoint, name="green", model_name=demo_model.name, model_version=demo_model.version
    )
    response = _post(api, invoke_body(demo_data), HTTP_AZUREML_MODEL_DEPLOYMENT="green")
    assert response.json()["deployment_name"] == "green"


@pytest.mark.django_db
def test_no_default_and_no_header_is_azures_routing_error(api, endpoint, demo_data):
    endpoint.default_deployment = None
    endpoint.save()
    response = _post(api, invoke_body(demo_data))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "no_default_deployment",
        "message": (
            "No valid deployments to route to. Please check that the endpoint has at least one deployment with "
            "positive weight values or use a deployment specific header to route."
        ),
    }


@pytest.mark.django_db
def test_an_existing_output_file_is_a_conflict(api, endpoint, demo_data):
    Datastore.get_default().client().write("taken/predictions.csv", b"row,prediction\n")
    out = "azureml://datastores/workspaceblobstore/paths/taken/predictions.csv"
    response = _post(api, invoke_body(demo_data, out))
    assert response.status_code == 409 and response.json()["error"]["code"] == "output_exists"
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body,code",
    [
        ({}, "invalid_body"),
        ({"properties": {"InputData": {}}}, "invalid_input"),
        ({"properties": {"InputData": {"a": {"JobInputType": "MLTable", "Uri": "x"}}}}, "invalid_input"),
        (invoke_body("azureml://datastores/workspaceblobstore/paths/demo/iris", mini_batch_sise=3), "unknown_setting"),
        (invoke_body("azureml://datastores/workspaceblobstore/paths/demo/iris", timeout="60"), "invalid_setting"),
        (
            invoke_body("azureml://datastores/workspaceblobstore/paths/demo/iris", "https://example.com/out"),
            "invalid_output",
        ),
        (invoke_body("azureml://datastores/nope/paths/x"), "unknown_datastore"),
    ],
)
def test_bad_bodies_are_refused_with_a_code(api, endpoint, demo_data, body, code):
    response = _post(api, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_refused(api, endpoint):
    response = check_response(api.post(SCORE, "{nope", content_type="application/json"))
    assert response.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    "output,expected",
    [
        (
            {"score": {"JobOutputType": "UriFile", "Uri": "azureml://datastores/ds/paths/a/b/out.csv"}},
            {"output_datastore": "ds", "output_path": "a/b", "output_file_name": "out.csv"},
        ),
        (
            {"score": {"JobOutputType": "UriFolder", "Uri": "azureml://datastores/ds/paths/a/b/"}},
            {"output_datastore": "ds", "output_path": "a/b"},
        ),
        (None, {}),
    ],
)
def test_output_uris_are_read_like_azure(output, expected):
    assert invoke.parse_output(output) == expected


def test_an_output_path_that_climbs_out_is_refused():
    with pytest.raises(ValidationError) as err:
        invoke.parse_output({"score": {"JobOutputType": "UriFolder", "Uri": "azureml://datastores/ds/paths/../etc"}})
    assert err.value.code == "path_traversal"


@pytest.mark.django_db
def test_it_lists_and_shows_endpoints_deployments_and_jobs(api, endpoint, demo_data):
    job_name = _post(api, invoke_body(demo_data)).json()["name"]
    endpoints = check_response(api.get("/api/v1/endpoints")).json()["value"]
    assert [e["name"] for e in endpoints] == ["iris-endpoint"]
    assert endpoints[0]["scoring_uri"] == "http://testserver/api/v1/endpoints/iris-endpoint/jobs"
    shown = check_response(api.get("/api/v1/endpoints/iris-endpoint")).json()
    assert shown["defaults"] == {"deployment_name": "blue"}
    deployments = check_response(api.get("/api/v1/endpoints/iris-endpoint/deployments")).json()["value"]
    assert deployments[0]["settings"]["mini_batch_size"] == 2 and deployments[0]["is_default"]
    blue = check_response(api.get("/api/v1/endpoints/iris-endpoint/deployments/blue")).json()
    assert blue["model"].startswith("azureml:iris-classifier:")
    jobs = check_response(api.get(SCORE)).json()["value"]
    assert [j["name"] for j in jobs] == [job_name]
    job = check_response(api.get(f"/api/v1/jobs/{job_name}")).json()
    assert job["counts"]["files_total"] == 5 and job["errors"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/endpoints/nope",
        "/api/v1/endpoints/nope/deployments",
        "/api/v1/endpoints/iris-endpoint/deployments/nope",
        "/api/v1/jobs/nope",
    ],
)
def test_unknown_things_are_json_404s(api, endpoint, url):
    response = check_response(api.get(url))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_it_cancels_a_job_once(api, endpoint, demo_data):
    name = _post(api, invoke_body(demo_data)).json()["name"]
    response = check_response(api.post(f"/api/v1/jobs/{name}/cancel"))
    # Nothing of it runs yet (no workers here), so it may be Canceled at once.
    assert response.status_code == 202 and response.json()["status"] in (Status.CANCEL_REQUESTED, Status.CANCELED)
    BatchJob.objects.filter(name=name).update(status=Status.CANCELED)
    again = check_response(api.post(f"/api/v1/jobs/{name}/cancel"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"


@pytest.mark.django_db
def test_only_a_jobs_outputs_and_logs_can_be_downloaded(api, endpoint, demo_data):
    name = _post(api, invoke_body(demo_data)).json()["name"]
    store = Datastore.get_default().client()
    store.write(f"jobs/{name}/logs/job_result.txt", b"done\n")
    response = check_response(api.get(f"/api/v1/jobs/{name}/outputs/logs/job_result.txt"))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"done\n"
    assert check_response(api.get(f"/api/v1/jobs/{name}/outputs/predictions.csv")).status_code == 404  # not yet
    assert check_response(api.get(f"/api/v1/jobs/{name}/outputs/.staging/part-000000.csv")).status_code == 404


@pytest.mark.django_db
def test_it_lists_models_and_datasets(api, demo_model, demo_data):
    models = check_response(api.get("/api/v1/models")).json()["value"]
    assert {"name": demo_model.name, "latest": demo_model.version}.items() <= next(
        m for m in models if m["name"] == demo_model.name
    ).items()
    Dataset.register(name="iris-rows", datastore=Datastore.get_default(), path="demo/iris", type=Dataset.URI_FOLDER)
    datasets = check_response(api.get("/api/v1/datasets")).json()["value"]
    assert [(d["id"], d["datastore_uri"]) for d in datasets] == [
        ("azureml:iris-rows:1", "azureml://datastores/workspaceblobstore/paths/demo/iris")
    ]


@pytest.mark.django_db
def test_a_registered_dataset_can_be_invoked_by_name(api, endpoint, demo_data):
    Dataset.register(name="iris-rows", datastore=Datastore.get_default(), path="demo/iris", type=Dataset.URI_FOLDER)
    response = _post(api, invoke_body("azureml:iris-rows@latest"))
    assert response.status_code == 201 and response.json()["counts"]["files_total"] == 5
