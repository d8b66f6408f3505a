"""`manage.py data create` mirrors `az ml data create`: a datastore path, or local files uploaded."""

import json

import pytest
from django.core.management.base import CommandError

from tests.fixtures.api import run
from workspace.models import Dataset


@pytest.mark.django_db
def test_a_datastore_path_becomes_a_dataset(demo_data, tmp_path):
    (tmp_path / "data.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\n"
        f"type: uri_folder\nname: iris-unlabeled\ndescription: Iris rows\npath: {demo_data}\n"
    )
    shown = json.loads(run("data", "create", "-f", str(tmp_path / "data.yml")))
    assert (shown["name"], shown["version"]) == ("iris-unlabeled", "1")
    dataset = Dataset.objects.get()
    assert (dataset.path, dataset.datastore.name, dataset.type) == ("demo/iris", "workspaceblobstore", "uri_folder")


@pytest.mark.django_db
def test_a_local_folder_is_uploaded(tmp_path):
    (tmp_path / "rows").mkdir()
    (tmp_path / "rows" / "a.csv").write_text("x\n1\n")
    (tmp_path / "data.yml").write_text("name: local-rows\npath: rows\n")
    run("data", "create", "-f", str(tmp_path / "data.yml"))
    dataset = Dataset.objects.get()
    assert dataset.uploaded and [e.path.rsplit("/", 1)[1] for e in dataset.files()] == ["a.csv"]


@pytest.mark.django_db
def test_an_empty_datastore_path_is_refused_by_line(tmp_path):
    (tmp_path / "data.yml").write_text(
        "name: none\ntype: uri_folder\npath: azureml://datastores/workspaceblobstore/paths/nothing\n"
    )
    with pytest.raises(CommandError, match="data.yml, line 3: "):
        run("data", "create", "-f", str(tmp_path / "data.yml"))
    assert not Dataset.objects.exists()


@pytest.mark.django_db
def test_a_version_azure_allows_is_kept_and_a_taken_one_refused_by_line(demo_data, tmp_path):
    (tmp_path / "data.yml").write_text(f"name: iris\nversion: v1.2\npath: {demo_data}\n")
    shown = json.loads(run("data", "create", "-f", str(tmp_path / "data.yml")))
    assert (shown["version"], shown["id"]) == ("v1.2", "azureml:iris:v1.2")
    with pytest.raises(CommandError, match=r"data.yml, line 2: Dataset 'iris' already has a version v1.2"):
        run("data", "create", "-f", str(tmp_path / "data.yml"))
    shown = json.loads(run("data", "create", "-f", str(tmp_path / "data.yml"), "--set", "version=2024-01-15"))
    assert shown["version"] == "2024-01-15"
    (tmp_path / "next.yml").write_text(f"name: iris\npath: {demo_data}\n")
    assert json.loads(run("data", "create", "-f", str(tmp_path / "next.yml")))["version"] == "1"
    assert json.loads(run("data", "show", "-n", "iris"))["version"] == "1"  # the latest: the last created
    assert json.loads(run("data", "show", "-n", "iris", "-v", "v1.2"))["version"] == "v1.2"
    with pytest.raises(CommandError, match=r"--set version: A version is up to 30 letters, digits"):
        run("data", "create", "-f", str(tmp_path / "data.yml"), "--set", "version=bad/one")
    assert sorted(Dataset.objects.values_list("version", flat=True)) == ["1", "2024-01-15", "v1.2"]
