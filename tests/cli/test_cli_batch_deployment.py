"""`manage.py batch_deployment` mirrors `az ml batch-deployment` with Azure's deployment YAML."""

import json

import pytest
from django.core.management.base import CommandError

from endpoints.models import BatchDeployment
from jobs.models import Environment
from tests.fixtures.api import DEPLOYMENT_YML, run, write_custom_project


@pytest.fixture
def deployment_yml(tmp_path, endpoint, demo_model):
    path = tmp_path / "deployment.yml"
    path.write_text(DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name).replace("blue", "green"))
    return path


@pytest.mark.django_db
def test_it_creates_a_deployment_and_sets_it_default_when_asked(endpoint, deployment_yml):
    shown = json.loads(
        run(
            "batch_deployment",
            "create",
            "-f",
            str(deployment_yml),
            "--set-default",
            "--set",
            "settings.retry_settings.timeout=300",
        )
    )
    assert shown["settings"]["retry_settings"] == {"max_retries": 1, "timeout": 300}
    endpoint.refresh_from_db()
    assert endpoint.default_deployment.name == "green"
    listed = json.loads(run("batch_deployment", "list", "-e", endpoint.name))
    assert [(d["name"], d["is_default"]) for d in listed] == [("blue", False), ("green", True)]


@pytest.mark.django_db
def test_without_set_default_the_default_stays(endpoint, deployment_yml):
    run("batch_deployment", "create", "-f", str(deployment_yml), "--name", "teal")
    endpoint.refresh_from_db()
    assert endpoint.default_deployment.name == "blue" and endpoint.deployments.filter(name="teal").exists()


@pytest.mark.django_db
def test_update_show_and_delete(endpoint, deployment_yml):
    run("batch_deployment", "create", "-f", str(deployment_yml))
    run("batch_deployment", "update", "-e", endpoint.name, "-n", "green", "--set", "settings.mini_batch_size=50")
    shown = json.loads(run("batch_deployment", "show", "-e", endpoint.name, "-n", "green"))
    assert shown["settings"]["mini_batch_size"] == 50 and shown["resources"]["instance_count"] == 2
    with pytest.raises(CommandError, match="default deployment"):
        run("batch_deployment", "delete", "-e", endpoint.name, "-n", "blue")
    run("batch_deployment", "delete", "-e", endpoint.name, "-n", "green")
    assert list(BatchDeployment.objects.values_list("name", flat=True)) == ["blue"]


@pytest.mark.django_db
def test_a_custom_script_deployment_builds_its_environment(endpoint, unpicklable_custom_model, tmp_path):
    project = write_custom_project(
        tmp_path, endpoint.name, unpicklable_custom_model.name, unpicklable_custom_model.version
    )
    shown = json.loads(run("batch_deployment", "create", "-f", str(project)))
    assert shown["code_configuration"]["scoring_script"] == "score.py"
    assert shown["environment"] == "azureml:sklearn-env:1"
    assert Environment.objects.get(name="sklearn-env").state == Environment.READY


@pytest.mark.django_db
def test_a_wrong_type_names_the_key_and_line(endpoint, deployment_yml):
    deployment_yml.write_text(deployment_yml.read_text().replace("instance_count: 2", "instance_count: two"))
    with pytest.raises(CommandError) as err:
        run("batch_deployment", "create", "-f", str(deployment_yml))
    assert str(err.value) == "deployment.yml, line 9: 'resources.instance_count' must be an integer."
