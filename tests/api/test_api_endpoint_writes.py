"""Endpoints and deployments written through the REST API: Azure's YAML as JSON, the command line's checks and coded
errors, 409 on a name taken (PUT creates or updates), the Studio's rules for deleting; every answer checked against
openapi.yaml."""

import io
import json
import zipfile
from pathlib import Path

import pytest

from endpoints.models import BatchDeployment, BatchEndpoint
from jobs.models import BatchJob, Status
from tests.fixtures.api import check_response, invoke_body

pytestmark = pytest.mark.django_db
ENDPOINTS = "/api/v1/endpoints"


def _send(api, method, url, body=None):
    return check_response(getattr(api, method)(url, body if body is not None else {}, content_type="application/json"))


def _deployment(demo_model, **extra):
    return {
        "$schema": "https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json",
        "name": "blue",
        "type": "model",
        "model": f"azureml:{demo_model.name}@latest",
        "resources": {"instance_count": 1},
        "settings": {"mini_batch_size": 3, "retry_settings": {"max_retries": 1, "timeout": 60}},
        **extra,
    }


def test_post_creates_an_endpoint_a_second_post_is_409_and_put_updates_it(api):
    body = {"name": "fraud", "description": "Fraud scoring", "auth_mode": "aad_token", "tags": {"team": "risk"}}
    created = _send(api, "post", ENDPOINTS, body)
    assert created.status_code == 201 and created["Location"].endswith("/api/v1/endpoints/fraud")
    assert created.json()["description"] == "Fraud scoring" and created.json()["defaults"] == {"deployment_name": None}

    again = _send(api, "post", ENDPOINTS, {**body, "description": "other"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "endpoint_exists")
    assert "PUT /api/v1/endpoints/fraud" in again.json()["error"]["message"]

    updated = _send(api, "put", f"{ENDPOINTS}/fraud", {"description": "Fraud scoring v2"})
    assert updated.status_code == 200 and updated.json()["description"] == "Fraud scoring v2"
    assert BatchEndpoint.objects.get(name="fraud").description == "Fraud scoring v2"


def test_put_creates_a_missing_endpoint_and_patch_does_not(api):
    assert _send(api, "patch", f"{ENDPOINTS}/churn", {"description": "x"}).status_code == 404
    created = _send(api, "put", f"{ENDPOINTS}/churn", {"description": "Churn"})
    assert created.status_code == 201 and created.json()["name"] == "churn"
    assert _send(api, "patch", f"{ENDPOINTS}/churn", {"description": "Churn 2"}).json()["description"] == "Churn 2"


@pytest.mark.parametrize(
    "body, code, words",
    [
        ({"name": "fraud", "descripton": "x"}, "unknown_key", "Did you mean 'description'?"),
        ({"name": "fraud", "description": 3}, "wrong_type", "'description' must be a string"),
        ({"name": "fraud", "auth_mode": "password"}, "invalid_choice", "auth_mode must be one of"),
        ({"description": "no name"}, "required", "'name' is required"),
        ({"name": "fraud", "defaults": {"deployment_name": 1}}, "wrong_type", "defaults.deployment_name"),
        ({"name": "a b"}, "invalid_endpoint_name", "Start with a letter"),
    ],
)
def test_an_endpoint_body_is_checked_as_the_command_line_checks_a_file(api, body, code, words):
    response = _send(api, "post", ENDPOINTS, body)
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == code and words in error["message"], error
    assert error["message"].startswith("request body")
    assert not BatchEndpoint.objects.exists()


def test_a_body_that_is_not_json_or_names_another_endpoint_is_refused(api):
    for body, code in [
        ("name: fraud", "invalid_json"),
        (b"\xff\xfe{", "invalid_json"),
        ('{"name": "fraud", "name": "churn"}', "duplicate_key"),  # JSON keeps the last silently; YAML's reader says so
    ]:
        bad = check_response(api.post(ENDPOINTS, body, content_type="application/json"))
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, code), body
    other = _send(api, "put", f"{ENDPOINTS}/fraud", {"name": "churn"})
    assert (other.status_code, other.json()["error"]["code"]) == (400, "name_mismatch")
    assert not BatchEndpoint.objects.exists()


def test_deployments_are_added_the_first_is_the_default_and_the_endpoint_sets_another(api, demo_model):
    _send(api, "post", ENDPOINTS, {"name": "fraud"})
    url = f"{ENDPOINTS}/fraud/deployments"
    blue = _send(api, "post", url, _deployment(demo_model))
    assert blue.status_code == 201 and blue["Location"].endswith(f"{url}/blue")
    data = blue.json()
    assert data["model"] == f"azureml:{demo_model.name}:{demo_model.version}" and data["is_default"] is True
    assert data["settings"]["mini_batch_size"] == 3 and data["settings"]["retry_settings"]["timeout"] == 60

    taken = _send(api, "post", url, _deployment(demo_model))
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "deployment_exists")

    green = _send(api, "post", url, _deployment(demo_model, name="green"))
    assert green.status_code == 201 and green.json()["is_default"] is False
    switched = _send(api, "patch", f"{ENDPOINTS}/fraud", {"defaults": {"deployment_name": "green"}})
    assert switched.status_code == 200 and switched.json()["defaults"] == {"deployment_name": "green"}
    unknown = _send(api, "patch", f"{ENDPOINTS}/fraud", {"defaults": {"deployment_name": "purple"}})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "unknown_deployment")

    patched = _send(api, "patch", f"{url}/blue", {"settings": {"mini_batch_size": 7}})
    assert patched.status_code == 200 and patched.json()["settings"]["mini_batch_size"] == 7
    assert patched.json()["settings"]["retry_settings"]["timeout"] == 60  # what the body does not name stays

    mismatch = _send(api, "put", f"{url}/red", _deployment(demo_model))  # its name is blue
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (400, "name_mismatch")
    put = _send(api, "put", f"{url}/red", {**_deployment(demo_model), "name": "red"})
    assert put.status_code == 201 and put.json()["name"] == "red"
    assert _send(api, "patch", f"{url}/purple", {"description": "x"}).status_code == 404


@pytest.mark.parametrize(
    "extra, code, words",
    [
        ({"settings": {"mini_batch_sise": 2}}, "unknown_key", "Did you mean 'mini_batch_size'?"),
        ({"settings": {"output_action": "overwrite"}}, "invalid_choice", "append_row or summary_only"),
        ({"resources": {"instance_count": "two"}}, "wrong_type", "must be an integer"),
        ({"model": "azureml:no-such-model:1"}, "unknown_model", "no-such-model"),
        ({"model": {"name": "m", "path": "/etc"}}, "server_path", "'model' names a file on the server"),
        ({"code_configuration": {"code": "/srv", "scoring_script": "score.py"}}, "server_path", "code_configuration"),
        ({"environment": {"name": "e", "conda_file": "/etc/passwd"}}, "server_path", "environment.conda_file"),
        ({"type": "pipeline"}, "unsupported_type", "pipeline component deployments"),
    ],
)
def test_a_deployment_body_is_checked_as_the_command_line_checks_a_file(api, demo_model, extra, code, words):
    _send(api, "post", ENDPOINTS, {"name": "fraud"})
    response = _send(api, "post", f"{ENDPOINTS}/fraud/deployments", _deployment(demo_model, **extra))
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == code and words in error["message"], error
    assert not BatchDeployment.objects.exists()


def test_a_deployment_body_naming_another_endpoint_is_refused(api, endpoint, demo_model):
    response = _send(
        api, "post", f"{ENDPOINTS}/{endpoint.name}/deployments", _deployment(demo_model, endpoint_name="x")
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "name_mismatch")


def test_the_default_deployment_is_not_deleted_while_another_remains(api, endpoint, second_deployment):
    url = f"{ENDPOINTS}/{endpoint.name}/deployments"
    refused = check_response(api.delete(f"{url}/blue"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "delete_refused")
    assert "Update default deployment" in refused.json()["error"]["message"]
    assert check_response(api.delete(f"{url}/green")).status_code == 204
    assert check_response(api.delete(f"{url}/blue")).status_code == 204
    assert not endpoint.deployments.exists()


def test_deleting_an_endpoint_with_a_running_job_keeps_the_job_as_the_studio_does(api, endpoint, demo_data):
    job = BatchJob.objects.get(
        name=_send(api, "post", endpoint.scoring_uri_path, invoke_body(demo_data)).json()["name"]
    )
    BatchJob.objects.filter(pk=job.pk).update(status=Status.RUNNING)
    assert check_response(api.delete(f"{ENDPOINTS}/{endpoint.name}")).status_code == 204
    assert not BatchEndpoint.objects.exists() and not BatchDeployment.objects.exists()
    shown = check_response(api.get(f"/api/v1/jobs/{job.name}"))
    assert shown.status_code == 200 and shown.json()["status"] == "Running"
    assert shown.json()["endpoint_name"] == "iris-endpoint"


@pytest.mark.parametrize(
    "role, method, path, body",
    [
        ("Reader", "post", ENDPOINTS, {"name": "fraud"}),
        ("Data scientist", "post", ENDPOINTS, {"name": "fraud"}),
        ("Data scientist", "put", f"{ENDPOINTS}/iris-endpoint", {"description": "x"}),
        ("Data scientist", "patch", f"{ENDPOINTS}/iris-endpoint", {"description": "x"}),
        ("Data scientist", "delete", f"{ENDPOINTS}/iris-endpoint", None),
        ("Data scientist", "post", f"{ENDPOINTS}/iris-endpoint/deployments", {"name": "green"}),
        ("Data scientist", "delete", f"{ENDPOINTS}/iris-endpoint/deployments/blue", None),
    ],
)
def test_writes_need_the_role_that_manages_endpoints(client, make_user, endpoint, role, method, path, body):
    from api.models import AccessToken

    _, secret = AccessToken.issue(make_user(role, "bob"), "t")
    response = check_response(
        getattr(client, method)(
            path, body or {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
        )
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    endpoint.refresh_from_db()
    assert endpoint.description == "Iris scoring" and endpoint.deployments.count() == 1
    assert BatchEndpoint.objects.count() == 1


def _zip(files: dict) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    buffer.seek(0)
    buffer.name = "code.zip"
    return buffer


SCORE = b"from helpers import ok\n\n\ndef init():\n    pass\n\n\ndef run(mini_batch):\n    return [ok(f) for f in mini_batch]\n"


def test_a_scoring_scripts_code_comes_as_the_wizards_upload(api, endpoint, unpicklable_custom_model):
    model = unpicklable_custom_model
    body = {
        "name": "custom",
        "model": f"azureml:{model.name}:{model.version}",
        "code_configuration": {"scoring_script": "src/score.py"},  # a script inside the folder, as Azure's
    }
    code = _zip({"src/score.py": SCORE, "helpers.py": b"def ok(f):\n    return f\n"})
    url = f"{ENDPOINTS}/{endpoint.name}/deployments"
    created = check_response(api.post(url, {"deployment": json.dumps(body), "code": code}))
    assert created.status_code == 201, created.json()
    assert created.json()["code_configuration"]["scoring_script"] == "src/score.py"
    deployment = endpoint.deployments.get(name="custom")
    assert (Path(deployment.code_path) / "helpers.py").is_file()

    missing = _zip({"score.py": SCORE})
    refused = check_response(api.post(url, {"deployment": json.dumps({**body, "name": "other"}), "code": missing}))
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "scoring_script_missing")
    assert "code_configuration" in refused.json()["error"]["message"]
    no_code = check_response(api.post(url, {"deployment": json.dumps({**body, "name": "other"})}))
    assert (no_code.status_code, no_code.json()["error"]["code"]) == (400, "required")
    assert not endpoint.deployments.filter(name="other").exists()
