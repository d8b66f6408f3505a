"""The sizes the Studio accepts (docs/SECURITY.md): request bodies, JSON nesting, descriptions, dataset uploads;
the API answers past them in its own error shape ({"error": {"code", "message"}})."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError

from tests.fixtures.api import run
from workspace.models import Dataset, Datastore

pytestmark = pytest.mark.django_db


def _error(response):
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.json()["error"]


def test_a_20_mb_api_body_is_413_too_large(api, endpoint):
    body = json.dumps({"properties": {"pad": "x" * (20 * 1024 * 1024)}})
    r = api.post(f"/api/v1/endpoints/{endpoint.name}/jobs", body, content_type="application/json")
    assert r.status_code == 413
    assert _error(r)["code"] == "too_large"
    assert "the limit is 10,485,760 bytes" in _error(r)["message"]


def test_a_100_000_deep_json_body_is_400_invalid_json(api, endpoint):
    body = "[" * 100_000 + "]" * 100_000
    r = api.post(f"/api/v1/endpoints/{endpoint.name}/jobs", body, content_type="application/json")
    assert r.status_code == 400
    assert _error(r) == {"code": "invalid_json", "message": "The request body nests deeper than 32 levels."}


def test_json_nesting_is_refused_one_level_past_the_limit(api, endpoint):
    def nested(levels):  # an object of `levels` levels: {"a": {"a": ... {}}}
        return "".join('{"a":' for _ in range(levels - 1)) + "{}" + "}" * (levels - 1)

    r = api.post(f"/api/v1/endpoints/{endpoint.name}/jobs", nested(33), content_type="application/json")
    assert (r.status_code, _error(r)["code"]) == (400, "invalid_json")
    r = api.post(f"/api/v1/endpoints/{endpoint.name}/jobs", nested(32), content_type="application/json")
    assert _error(r)["code"] != "invalid_json"  # read, then refused for what it says


def test_a_page_body_past_the_request_limit_is_413_before_it_is_read(signed_in, settings):
    settings.MAX_REQUEST_BYTES = 1000
    r = signed_in.post("/data/datastores/register/", {"name": "big", "description": "x" * 2000, "kind": "local"})
    assert r.status_code == 413
    assert not Datastore.objects.filter(name="big").exists()


def test_a_description_past_the_limit_is_refused_on_the_form(signed_in):
    form = {"name": "long", "description": "x" * 10_001, "kind": "local", "root": "", "credential_type": "none"}
    r = signed_in.post("/data/datastores/register/", form)
    assert r.status_code == 200
    assert "Ensure this value has at most 10000 characters (it has 10001)." in r.content.decode()
    assert not Datastore.objects.filter(name="long").exists()


def test_a_description_past_the_limit_is_never_stored(endpoint):
    with pytest.raises(ValidationError, match="10,001 characters long; the limit is 10,000"):
        Datastore.objects.create(name="long", description="x" * 10_001)
    endpoint.description = "x" * 50 * 1024 * 1024  # the 50 MB YAML description of the report
    with pytest.raises(ValidationError, match="the limit is 10,000"):
        endpoint.save()
    from workspace import registry

    with pytest.raises(ValidationError, match="the limit is 10,000"):
        registry.register_folder("long-model", "/nonexistent", "x" * 10_001)


def test_the_api_and_the_cli_refuse_a_description_past_the_limit(api, endpoint, tmp_path):
    body = {"name": "nightly", "input": "azureml://datastores/workspaceblobstore/paths/in", "cron": "0 2 * * *"}
    r = api.post(
        f"/api/v1/endpoints/{endpoint.name}/schedules", {**body, "description": "x" * 10_001}, "application/json"
    )
    assert r.status_code == 400 and "at most 10000 characters" in _error(r)["message"]
    path = tmp_path / "endpoint.yml"
    path.write_text(f"name: long-description\ndescription: {'x' * 10_001}\n")
    with pytest.raises(CommandError, match="the limit is 10,000"):
        run("batch_endpoint", "create", "-f", str(path))


def test_a_dataset_upload_past_the_limit_is_refused(signed_in, settings):
    settings.DATASET_UPLOAD_MAX_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.csv", b"x\n" + b"1\n" * (600 * 1024))
    also = SimpleUploadedFile("also.csv", b"x\n" + b"1\n" * (600 * 1024))
    form = {"name": "big", "type": "uri_folder", "source": "upload", "files": [big, also]}
    r = signed_in.post("/data/datasets/register/", form)
    assert r.status_code == 200
    assert "The files are 2.3 MB together; the upload limit is 1 MB." in r.content.decode()
    assert not Dataset.objects.filter(name="big").exists()
