"""`manage.py batch_endpoint` mirrors `az ml batch-endpoint`: Azure's endpoint YAML, invoke, list_jobs."""

import json

import pytest
from django.core.management.base import CommandError

from endpoints.models import BatchEndpoint
from jobs.models import BatchJob
from tests.fixtures.api import ENDPOINT_YML, invoke, run, run_both
from workspace.models import Datastore


@pytest.mark.django_db
def test_it_creates_shows_lists_updates_and_deletes_an_endpoint(tmp_path):
    path = tmp_path / "endpoint.yml"
    path.write_text(ENDPOINT_YML.format(name="heart-batch"))
    created = json.loads(run("batch_endpoint", "create", "-f", str(path)))
    assert (
        created["name"] == "heart-batch"
        and created["scoring_uri"] == "http://127.0.0.1:8000/api/v1/endpoints/heart-batch/jobs"
    )
    assert json.loads(run("batch_endpoint", "show", "-n", "heart-batch"))["description"] == "Iris scoring"
    run("batch_endpoint", "update", "-f", str(path), "--set", "description=Heart scoring")
    assert [e["description"] for e in json.loads(run("batch_endpoint", "list"))] == ["Heart scoring"]
    assert "Deleted" in run_both("batch_endpoint", "delete", "-n", "heart-batch")[1]
    assert not BatchEndpoint.objects.exists()


@pytest.mark.django_db
def test_name_overrides_the_files_name(tmp_path):
    path = tmp_path / "endpoint.yml"
    path.write_text(ENDPOINT_YML.format(name="heart-batch"))
    run("batch_endpoint", "create", "-f", str(path), "--name", "second-copy")
    assert BatchEndpoint.objects.get().name == "second-copy"


@pytest.mark.django_db
def test_errors_name_the_line_and_fail_the_command(tmp_path):
    path = tmp_path / "endpoint.yml"
    path.write_text("name: heart-batch\nauth: key\n")
    with pytest.raises(CommandError) as err:
        run("batch_endpoint", "create", "-f", str(path))
    assert str(err.value) == "endpoint.yml, line 2: unknown key 'auth'. Did you mean 'auth_mode'?"


@pytest.mark.django_db
def test_invoke_prints_the_job_name_and_takes_azures_options(endpoint, demo_data):
    name = invoke(
        "-n",
        endpoint.name,
        "--input",
        demo_data,
        "--mini-batch-size",
        "1",
        "--output-path",
        "azureml://datastores/workspaceblobstore/paths/cli/out",
        "--max-retries",
        "0",
    )
    job = BatchJob.objects.get(name=name)
    assert (job.mini_batches_total, job.settings["max_retries"], job.output_path) == (5, 0, "cli/out")
    listed = json.loads(run("batch_endpoint", "list_jobs", "-n", endpoint.name))
    assert [j["name"] for j in listed] == [name]


@pytest.mark.django_db
def test_invoke_takes_the_output_options(endpoint, demo_data):
    name = invoke(
        "-n",
        endpoint.name,
        "--input",
        demo_data,
        "--output-format",
        "jsonl",
        "--passthrough-columns",
        "sepal length (cm)",
        "--write-manifest",
    )
    job = BatchJob.objects.get(name=name)
    assert job.settings["output_file_name"] == "predictions.jsonl"
    assert job.overrides == {
        "output_format": "jsonl",
        "passthrough_columns": ["sepal length (cm)"],
        "write_manifest": True,
    }
    assert job.output_files()[:3] == ("predictions.jsonl", "manifest.json", "_SUCCESS")


@pytest.mark.django_db
def test_invoke_uploads_a_local_folder_first(endpoint, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text(
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n1,2,3,4\n"
    )
    name = invoke("-n", endpoint.name, "--input", str(tmp_path / "in"))
    job = BatchJob.objects.get(name=name)
    assert job.input_uri.startswith("azureml://datastores/workspaceblobstore/paths/uploads/")
    folder = job.input_uri.split("/paths/", 1)[1]
    assert Datastore.get_default().client().read_bytes(f"{folder}/a.csv").endswith(b"1,2,3,4\n")


@pytest.mark.django_db
def test_invoke_with_the_same_request_id_returns_the_same_job(endpoint, demo_data):
    first = run("batch_endpoint", "invoke", "-n", endpoint.name, "--input", demo_data, "--request-id", "ci-7")
    again = run("batch_endpoint", "invoke", "-n", endpoint.name, "--input", demo_data, "--request-id", "ci-7")
    assert first == again and BatchJob.objects.count() == 1


@pytest.mark.django_db
def test_invoke_without_a_default_deployment_says_azures_words(endpoint, demo_data):
    endpoint.default_deployment = None
    endpoint.save()
    with pytest.raises(CommandError, match="No valid deployments to route to"):
        run("batch_endpoint", "invoke", "-n", endpoint.name, "--input", demo_data)
