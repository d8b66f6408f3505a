"""`manage.py model create` mirrors `az ml model create` over the MLflow registry."""

import json
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from tests.fixtures.api import run
from workspace import demo, registry


@pytest.fixture
def model_project(tmp_path):
    demo.train_iris(tmp_path / "model")
    (tmp_path / "model.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\n"
        "name: heart-classifier\ntype: mlflow_model\npath: model\ndescription: From the command line\n"
    )
    return tmp_path / "model.yml"


@pytest.mark.django_db
def test_it_registers_the_folder_named_by_the_yaml(model_project):
    shown = json.loads(run("model", "create", "-f", str(model_project)))
    assert shown["id"] == f"azureml:heart-classifier:{shown['version']}" and shown["flavor"] == "MLflow"
    assert registry.get_version("heart-classifier", "latest").version == shown["version"]


@pytest.mark.django_db
def test_a_version_other_than_the_next_is_refused(model_project):
    with pytest.raises(CommandError, match=r"--set version: model 'heart-classifier' gets version \d+ next, not 99"):
        run("model", "create", "-f", str(model_project), "--set", "version=99")


@pytest.mark.django_db
def test_a_missing_path_is_refused(tmp_path: Path):
    with pytest.raises(CommandError, match="does not exist"):
        run("model", "create", "--name", "x-model", "--path", str(tmp_path / "missing"))


@pytest.mark.django_db
def test_the_yaml_tags_become_the_version_tags(model_project):
    text = model_project.read_text() + "tags:\n  team: cardio\n  stage: 3\n"
    model_project.write_text(text)
    shown = json.loads(run("model", "create", "-f", str(model_project)))
    assert registry.find(f"heart-classifier:{shown['version']}").tags == {"team": "cardio", "stage": "3"}
    registry.set_alias("heart-classifier", "champion", shown["version"])
    by_alias = json.loads(run("model", "show", "-n", "heart-classifier", "--label", "champion"))
    assert (by_alias["version"], by_alias["tags"], by_alias["aliases"]) == (
        shown["version"],
        {"team": "cardio", "stage": "3"},
        ["champion"],
    )
    with pytest.raises(CommandError, match="Model 'heart-classifier' has no alias 'gold'. Its aliases: champion."):
        run("model", "show", "-n", "heart-classifier", "--label", "gold")


@pytest.mark.django_db
def test_a_tag_the_studio_keeps_for_itself_is_refused(model_project):
    model_project.write_text(model_project.read_text() + "tags:\n  model_type: other\n")
    with pytest.raises(CommandError, match="'model_type' cannot be a tag name"):
        run("model", "create", "-f", str(model_project))
