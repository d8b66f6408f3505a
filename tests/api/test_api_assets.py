"""Models, data assets, environments, compute and datastores written through the REST API: what the pages and the
`az ml` commands call, with their checks as coded errors, 409 on a name taken, the roles; checked against
openapi.yaml."""

import io

import pytest
from django_q.models import OrmQ

from tests.fixtures.api import check_response
from workspace import demo, registry
from workspace.compute.models import ComputeCluster
from workspace.environments import Environment
from workspace.models import Dataset, Datastore

pytestmark = pytest.mark.django_db
CONDA = {"name": "sk", "dependencies": ["python=3.11", "pip", {"pip": ["scikit-learn"]}]}


def _post(api, url, body):
    return check_response(api.post(url, body, content_type="application/json"))


def _refused(response, status, code):
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.json()
    return response.json()["error"]["message"]


def _as(client, make_user, role):
    from api.models import AccessToken

    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {AccessToken.issue(make_user(role, 'bob'), 't')[1]}"
    return client


# --- models -------------------------------------------------------------------------------------------


def _upload(api, **fields):
    return check_response(api.post("/api/v1/models", {"name": "uploaded", **fields}))


def test_a_model_upload_is_checked_as_the_models_page_checks_it(api):
    _refused(_upload(api), 400, "required")
    _refused(_upload(api, model_zip=_named(b"x", "model.pkl")), 400, "not_zip")
    _refused(_upload(api, name="a b", model_zip=_named(b"x", "m.zip")), 400, "invalid_name")
    message = _refused(_upload(api, model_zip=_named(b"not a zip", "m.zip")), 400, "bad_zip")
    assert "zip" in message.lower()


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def test_a_custom_model_file_is_registered_from_an_upload(api):
    created = _upload(api, model_type="custom", model_zip=_named(b"weights", "model.pkl"))
    assert created.status_code == 201
    assert (created.json()["type"], created.json()["id"]) == ("custom_model", "azureml:uploaded:1")


def test_a_model_folder_in_a_datastore_is_registered_as_model_create_registers_one(api, tmp_path):
    demo.train_iris(tmp_path / "model")
    client = Datastore.get_default().client()
    for path in (tmp_path / "model").rglob("*"):
        if path.is_file():
            client.write(f"models/iris/{path.relative_to(tmp_path / 'model')}", path.read_bytes())
    body = {"name": "iris-store", "path": "azureml://datastores/workspaceblobstore/paths/models/iris"}
    created = _post(api, "/api/v1/models", body)
    assert created.status_code == 201 and created.json()["type"] == "mlflow_model"
    assert registry.get_version("iris-store", "1").is_mlflow
    _refused(_post(api, "/api/v1/models", {**body, "version": 5}), 400, "version_mismatch")
    _refused(_post(api, "/api/v1/models", {"name": "x", "path": "/etc"}), 400, "datastore_path_required")
    missing = {"name": "x", "path": "azureml://datastores/workspaceblobstore/paths/models/none"}
    _refused(_post(api, "/api/v1/models", missing), 400, "path_not_found")


def test_a_model_in_a_datastore_over_the_upload_limit_is_refused(api, settings):
    settings.MODEL_UPLOAD_MAX_BYTES = 1024 * 1024
    Datastore.get_default().client().write("models/big/model.pkl", b"0" * (1024 * 1024 + 1))
    body = {"name": "big", "type": "custom_model", "path": "azureml://datastores/workspaceblobstore/paths/models/big"}
    assert "larger than the 1 MB limit" in _refused(_post(api, "/api/v1/models", body), 400, "too_large")
    with pytest.raises(registry.RegistryError):
        registry.get_version("big", "latest")


# --- data assets --------------------------------------------------------------------------------------


def test_a_datastore_path_becomes_a_data_asset(api, demo_data):
    created = _post(api, "/api/v1/datasets", {"name": "iris-rows", "type": "uri_folder", "path": demo_data})
    assert created.status_code == 201 and (created.json()["id"], created.json()["uploaded"]) == (
        "azureml:iris-rows:1",
        False,
    )
    assert Dataset.objects.get().path == "demo/iris"


@pytest.mark.parametrize(
    "body, code",
    [
        ({"name": "d", "path": "/etc"}, "server_path"),
        ({"name": "d", "path": "rows"}, "server_path"),
        (
            {"name": "d", "type": "mltable", "path": "azureml://datastores/workspaceblobstore/paths/demo/iris"},
            "invalid_choice",
        ),
        (
            {"name": "d", "version": "v 1!", "path": "azureml://datastores/workspaceblobstore/paths/demo/iris"},
            "invalid_version",
        ),
        ({"name": "d", "pth": "x"}, "unknown_key"),
    ],
)
def test_a_data_asset_body_is_checked(api, demo_data, body, code):
    _refused(_post(api, "/api/v1/datasets", body), 400, code)
    assert not Dataset.objects.exists()


# --- environments -------------------------------------------------------------------------------------


def test_an_environment_is_registered_its_build_queued_and_the_same_one_reused(api):
    created = _post(api, "/api/v1/environments", {"name": "sk", "conda_file": CONDA, "image": "mcr.microsoft.com/x"})
    assert created.status_code == 201 and created.json()["id"] == "azureml:sk:1"
    assert created.json()["requirements"].strip() == "scikit-learn"
    assert [task.func() for task in OrmQ.objects.all()] == ["jobs.tasks.build_environment"]
    again = _post(api, "/api/v1/environments", {"name": "sk", "conda_file": CONDA})
    assert again.status_code == 200 and again.json()["id"] == "azureml:sk:1"
    listed = check_response(api.get("/api/v1/environments")).json()["value"]
    assert "azureml:sk:1" in [e["id"] for e in listed]


@pytest.mark.parametrize(
    "body, code",
    [
        ({"name": "sk", "conda_file": "environment/conda.yaml"}, "server_path"),
        ({"name": "sk", "conda_file": {**CONDA, "dependencies": ["python=2.7"]}}, "python_unsatisfiable"),
        ({"name": "sk", "conda": {}}, "unknown_key"),
    ],
)
def test_an_environment_body_is_checked(api, body, code):
    _refused(_post(api, "/api/v1/environments", body), 400, code)
    assert not Environment.objects.filter(name="sk").exists()


# --- compute ------------------------------------------------------------------------------------------


def test_a_compute_cluster_is_created_once(api):
    body = {"name": "gpu-cluster", "type": "amlcompute", "min_instances": 0, "max_instances": 4, "size": "STANDARD_NC6"}
    created = _post(api, "/api/v1/compute", body)
    assert created.status_code == 201 and created.json()["max_instances"] == 4
    _refused(_post(api, "/api/v1/compute", body), 409, "compute_exists")
    assert [c["name"] for c in check_response(api.get("/api/v1/compute")).json()["value"]] == ["gpu-cluster"]


@pytest.mark.parametrize(
    "body, code",
    [
        ({"name": "c1", "min_instances": 3, "max_instances": 2}, "invalid"),
        ({"name": "c1", "type": "kubernetes"}, "invalid_choice"),
        ({"name": "c1", "max_nodes": 2}, "unknown_key"),
        ({"name": "c1", "max_instances": "two"}, "wrong_type"),
        ({"min_instances": 0}, "required"),
    ],
)
def test_a_compute_body_is_checked_as_the_compute_pages_new(api, body, code):
    _refused(_post(api, "/api/v1/compute", body), 400, code)
    assert not ComputeCluster.objects.exists()


def test_a_compute_cluster_is_shown_updated_by_put_and_deleted(api):
    url = "/api/v1/compute/gpu-cluster"
    assert check_response(api.get(url)).status_code == 404
    created = check_response(api.put(url, {"max_instances": 2}, content_type="application/json"))
    assert created.status_code == 201 and created["Location"].endswith(url)
    updated = check_response(api.put(url, {"description": "GPUs"}, content_type="application/json"))
    assert updated.status_code == 200
    shown = check_response(api.get(url)).json()
    assert (shown["name"], shown["max_instances"], shown["description"]) == ("gpu-cluster", 2, "GPUs")
    too_few = check_response(api.put(url, {"min_instances": 3}, content_type="application/json"))
    _refused(too_few, 400, "invalid_range")
    _refused(check_response(api.put(url, {"name": "other"}, content_type="application/json")), 400, "name_mismatch")
    assert check_response(api.delete(url)).status_code == 204
    assert not ComputeCluster.objects.exists() and api.get(url).status_code == 404


# --- datastores ---------------------------------------------------------------------------------------


def test_a_local_datastore_is_registered_listed_and_deleted(api):
    created = _post(api, "/api/v1/datastores", {"name": "scratch", "type": "local", "description": "Scratch"})
    assert created.status_code == 201 and created["Location"].endswith("/api/v1/datastores/scratch")
    assert created.json()["has_secret"] is False
    _refused(_post(api, "/api/v1/datastores", {"name": "scratch", "type": "local"}), 409, "datastore_exists")
    assert "scratch" in [s["name"] for s in check_response(api.get("/api/v1/datastores")).json()["value"]]
    assert check_response(api.delete("/api/v1/datastores/scratch")).status_code == 204
    assert not Datastore.objects.filter(name="scratch").exists()


def test_a_datastore_in_use_is_not_deleted(api):
    default = Datastore.get_default()
    message = _refused(check_response(api.delete(f"/api/v1/datastores/{default.name}")), 409, "datastore_in_use")
    assert "it is the default datastore" in message


def test_a_folder_outside_the_allowed_roots_is_refused(api):
    _refused(
        _post(api, "/api/v1/datastores", {"name": "etc", "type": "local", "path": "/etc"}), 400, "root_not_allowed"
    )


def test_an_account_url_on_a_private_address_is_refused(api):
    body = {
        "name": "inside",
        "type": "azure_blob",
        "account_name": "127.0.0.1:10000/devstoreaccount1#",  # the URL's host becomes a loopback address
        "container_name": "data",
        "credentials": {"account_key": "a2V5"},
    }
    _refused(_post(api, "/api/v1/datastores", body), 400, "url_private")
    assert not Datastore.objects.filter(name="inside").exists()


def test_a_blob_datastore_never_answers_its_secret_and_wants_it_again_when_the_container_changes(api, azurite):
    azurite.container("api-store")
    azurite.container("api-other")
    body = {
        "name": "lake",
        "type": "azure_blob",
        "container_name": "api-store",
        "credentials": {"connection_string": azurite.connection_string},
    }
    created = _post(api, "/api/v1/datastores", body)
    assert created.status_code == 201 and created.json()["has_secret"] is True
    shown = check_response(api.get("/api/v1/datastores/lake"))
    listed = check_response(api.get("/api/v1/datastores"))
    for answer in (created, shown, listed):
        assert azurite.key not in answer.content.decode() and "AccountKey" not in answer.content.decode()

    moved = {"type": "azure_blob", "container_name": "api-other", "credentials": {"connection_string": ""}}
    message = _refused(
        check_response(api.put("/api/v1/datastores/lake", moved, content_type="application/json")),
        400,
        "secret_required",
    )
    assert "again" in message
    assert Datastore.objects.get(name="lake").container == "api-store"
    again = {**moved, "credentials": {"connection_string": azurite.connection_string}}
    updated = check_response(api.put("/api/v1/datastores/lake", again, content_type="application/json"))
    assert updated.status_code == 200 and Datastore.objects.get(name="lake").container == "api-other"


# --- roles --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, url, body",
    [
        ("Reader", "/api/v1/models", {"name": "m", "path": "azureml://datastores/workspaceblobstore/paths/m"}),
        ("Reader", "/api/v1/datasets", {"name": "d", "path": "azureml://datastores/workspaceblobstore/paths/d"}),
        ("Data scientist", "/api/v1/environments", {"name": "sk", "conda_file": CONDA}),
        ("Contributor", "/api/v1/compute", {"name": "c1"}),
        ("Contributor", "/api/v1/datastores", {"name": "scratch", "type": "local"}),
    ],
)
def test_each_write_needs_the_role_its_page_needs(client, make_user, role, url, body):
    response = _post(_as(client, make_user, role), url, body)
    assert _refused(response, 403, "forbidden")
    assert not Environment.objects.filter(name="sk").exists() and not ComputeCluster.objects.exists()
    assert not Datastore.objects.filter(name="scratch").exists() and not Dataset.objects.exists()


def test_a_contributor_may_not_change_or_delete_a_datastore(client, make_user):
    api = _as(client, make_user, "Contributor")
    _refused(check_response(api.put("/api/v1/datastores/x", {}, content_type="application/json")), 403, "forbidden")
    _refused(check_response(api.delete(f"/api/v1/datastores/{Datastore.get_default().name}")), 403, "forbidden")


# --- what the pages show one by one, and their buttons -------------------------------------------------


def test_a_model_version_is_shown_and_an_alias_set_moved_and_removed(api, demo_model):
    url = f"/api/v1/models/{demo_model.name}"
    shown = check_response(api.get(f"{url}/{demo_model.version}")).json()
    assert (shown["name"], shown["version"], shown["aliases"]) == (demo_model.name, demo_model.version, [])
    assert shown["signature"]["inputs"]
    _refused(check_response(api.get(f"{url}/999")), 404, "unknown_version")
    put = check_response(api.put(f"{url}/aliases/champion", {"version": demo_model.version}, "application/json"))
    assert put.json() == {"name": demo_model.name, "alias": "champion", "version": demo_model.version}
    assert registry.model_aliases(demo_model.name) == {"champion": demo_model.version}
    assert check_response(api.get(f"{url}/{demo_model.version}")).json()["aliases"] == ["champion"]
    _refused(
        check_response(api.put(f"{url}/aliases/champion", {"version": "999"}, "application/json")),
        400,
        "unknown_version",
    )
    _refused(check_response(api.put(f"{url}/aliases/champion", {}, "application/json")), 400, "required")
    assert check_response(api.delete(f"{url}/aliases/champion")).status_code == 204
    assert registry.model_aliases(demo_model.name) == {}
    _refused(check_response(api.delete(f"{url}/aliases/champion")), 404, "unknown_alias")


def test_a_data_asset_version_is_shown(api, demo_data):
    _post(api, "/api/v1/datasets", {"name": "rows", "version": "v1.2", "path": demo_data})
    shown = check_response(api.get("/api/v1/datasets/rows/latest")).json()
    assert (shown["name"], shown["version"]) == ("rows", "v1.2")
    assert check_response(api.get("/api/v1/datasets/rows/v1.2")).json() == shown
    _refused(check_response(api.get("/api/v1/datasets/rows/v9")), 404, "unknown_dataset_version")


def test_a_failed_environment_is_built_again_and_a_ready_one_is_not(api):
    env = Environment.register("sk", "scikit-learn")
    Environment.objects.filter(pk=env.pk).update(state=Environment.FAILED)
    url = f"/api/v1/environments/sk/{env.version}"
    assert check_response(api.get(url)).json()["status"] == Environment.FAILED
    rebuilt = check_response(api.post(f"{url}/rebuild"))
    assert (rebuilt.status_code, rebuilt.json()["status"]) == (202, Environment.BUILDING)
    _refused(check_response(api.post(f"{url}/rebuild")), 409, "not_failed")


def test_a_datastore_becomes_the_default(api, studio_home):
    store = Datastore.objects.create(name="second", kind=Datastore.LOCAL, root=str(studio_home / "datastores" / "2nd"))
    answered = check_response(api.post("/api/v1/datastores/second/default"))
    assert answered.status_code == 200 and answered.json()["is_default"] is True
    assert Datastore.get_default() == store
    assert check_response(api.post("/api/v1/datastores/nope/default")).status_code == 404
