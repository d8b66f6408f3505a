"""Every `az ml` command and flag docs/AZURE-MIGRATION.md lists runs here (its table is the test's parameters),
and every YAML key it lists is one the YAML reader accepts."""

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from cli import azure_assets, azure_workspace, azure_yaml
from jobs.models import BatchJob, Status
from jobs.submit import submit_job
from tests.fixtures.api import DEPLOYMENT_YML, ENDPOINT_YML, run_both
from workspace import demo, registry
from workspace.compute.models import ComputeCluster
from workspace.environments import Environment
from workspace.models import Dataset, Datastore

DOC = Path(__file__).resolve().parents[2] / "docs" / "AZURE-MIGRATION.md"
PRINTS_NO_RESULT = ("delete", "stream", "download", "cancel")  # what these print is for people (stderr) or files


def _section(title: str) -> list[str]:
    text = DOC.read_text()
    body = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line.startswith("| ")]


def doc_commands() -> list[str]:
    return [line.split("`", 2)[1] for line in _section("Commands") if line.startswith("| `az ml ")]


def doc_yaml_keys() -> list[tuple[str, str]]:
    keys = []
    for line in _section("YAML keys")[2:]:
        kind, cell, here = [c.strip() for c in line.strip("|").split("|")][:3]
        if "refused" in here:
            continue
        for key in re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cell)):
            keys.append((kind, key.split(":")[0].strip()))
    return keys


@pytest.fixture(scope="module")
def iris_model_folder(tmp_path_factory):
    return demo.train_iris(tmp_path_factory.mktemp("iris") / "model")


@pytest.fixture
def world(endpoint, demo_model, demo_data, studio_home, iris_model_folder, tmp_path, monkeypatch):
    """What the table's commands name: an endpoint and deployment, a finished job with outputs, a queued job, a
    dataset, an environment, a compute cluster, and the YAML files and folders of a project."""
    store = Datastore.get_default()
    store.client().delete("datasets")  # uploads persist across tests: a dataset re-created here is uploaded anew
    dataset = Dataset.register(
        name="iris-data", datastore=store, path=demo_data.split("/paths/", 1)[1], type=Dataset.URI_FOLDER
    )
    finished = submit_job(endpoint, input_uri=demo_data)
    client = store.client()
    client.write(f"{finished.output_path}/predictions.csv", b"row,prediction,file_name\n0,1,a.csv\n")
    client.write(f"{finished.output_path}/scores.parquet", b"written by the scoring script")
    client.write(f"{finished.output_path}/logs/job_result.txt", b"Completed\n")
    BatchJob.objects.filter(pk=finished.pk).update(status=Status.COMPLETED, mini_batches_done=3, rows_out=1)
    queued = submit_job(endpoint, input_uri=demo_data)
    Environment.objects.create(name="heart-env", version="1", requirements="scikit-learn\n", state=Environment.READY)
    ComputeCluster.objects.create(name="batch-cluster", max_instances=5)

    monkeypatch.chdir(tmp_path)
    (tmp_path / "endpoint.yml").write_text(ENDPOINT_YML.format(name="heart-batch"))
    (tmp_path / "deployment.yml").write_text(DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name))
    shutil.copytree(iris_model_folder, tmp_path / "model")
    (tmp_path / "custom-model").mkdir()
    (tmp_path / "custom-model" / "model.pkl").write_bytes(b"a custom model's own file")
    (tmp_path / "model.yml").write_text("name: heart-classifier\ntype: mlflow_model\npath: model\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "iris-0.csv").write_text(
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5.1,3.5,1.4,0.2\n"
    )
    (tmp_path / "data.yml").write_text("name: heart-data\ntype: uri_folder\npath: data\n")
    (tmp_path / "conda.yaml").write_text("name: e\ndependencies:\n  - pip:\n    - scikit-learn\n")
    (tmp_path / "env.yml").write_text("name: sklearn-env\nconda_file: conda.yaml\n")
    (tmp_path / "compute.yml").write_text("name: gpu-cluster\ntype: amlcompute\nmin_instances: 0\nmax_instances: 2\n")
    (tmp_path / "datastore.yml").write_text(
        yaml.safe_dump({"name": "localstore", "type": "local", "path": str(studio_home / "datastores" / "localstore")})
    )
    return {
        "ENDPOINT_NAME": endpoint.name,
        "DEPLOYMENT_NAME": "blue",
        "JOB_NAME": finished.name,
        "QUEUED_JOB_NAME": queued.name,
        # a model of its own: `model create` adds a version, which must not become the session's demo model's latest
        "MODEL_NAME": registry.register_folder("parity-iris", iris_model_folder).name,
        "DATA_NAME": dataset.name,
        "ENVIRONMENT_NAME": "heart-env",
        "COMPUTE_NAME": "batch-cluster",
    }


def test_the_table_lists_every_group():
    groups = {command.split()[2] for command in doc_commands()}
    assert groups == {
        "batch-endpoint",
        "batch-deployment",
        "job",
        "model",
        "data",
        "environment",
        "compute",
        "datastore",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("command", doc_commands())
def test_each_documented_command_runs(world, command):
    line = re.sub(r"\$(\w+)", lambda m: world[m[1]], command)
    args = shlex.split(line)[2:]  # `az ml` off: what `python manage.py` runs
    out, err = run_both(*args)
    if "--query" in args or "tsv" in args:
        assert out.strip(), f"{line} printed nothing"
    elif args[1] in PRINTS_NO_RESULT:
        assert err.strip() or out.strip()
    elif "-o" not in args:
        json.loads(out)  # Azure's default output: JSON
    if "--web" in args:
        assert "Studio: http://127.0.0.1:8000/" in err


@pytest.mark.parametrize("kind,key", doc_yaml_keys())
def test_each_documented_yaml_key_is_read(kind, key):
    schemas = {
        "endpoint": azure_yaml.ENDPOINT_SCHEMA,
        "deployment": azure_yaml.DEPLOYMENT_SCHEMA,
        "model": azure_assets.MODEL_SCHEMA,
        "data": azure_assets.DATA_SCHEMA,
        "environment": azure_assets.ENVIRONMENT_SCHEMA,
        "compute": azure_workspace.COMPUTE_SCHEMA,
        "datastore": azure_workspace.DATASTORE_SCHEMA,
    }
    schema = schemas[kind]
    for part in key.split("."):
        assert isinstance(schema, dict) and part in schema, f"{kind}: {key}"
        schema = schema[part]
