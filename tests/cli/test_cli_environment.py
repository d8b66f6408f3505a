"""`manage.py environment create` mirrors `az ml environment create` with a conda file."""

import json

import pytest
from django.core.management.base import CommandError

from jobs.models import Environment
from tests.fixtures.api import CONDA_YML, run


@pytest.mark.django_db
def test_it_registers_and_builds_the_pip_section(tmp_path):
    (tmp_path / "conda.yaml").write_text(CONDA_YML)
    (tmp_path / "env.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\n"
        "name: sklearn-env\nimage: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest\nconda_file: conda.yaml\n"
    )
    shown = json.loads(run("environment", "create", "-f", str(tmp_path / "env.yml")))
    assert shown["id"] == "azureml:sklearn-env:1" and shown["requirements"] == ["scikit-learn", "pandas"]
    assert shown["state"] == Environment.READY
    again = json.loads(run("environment", "create", "-f", str(tmp_path / "env.yml"), "--no-build"))
    assert again["id"] == "azureml:sklearn-env:1" and Environment.objects.filter(name="sklearn-env").count() == 1


IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"


def _nothing_empty_registered():
    return not [e for e in Environment.objects.exclude(name="studio") if not e.requirements.strip()]


@pytest.mark.django_db
def test_an_image_alone_is_refused_saying_what_to_add(tmp_path):
    (tmp_path / "env.yml").write_text(f"name: image-only\nimage: {IMAGE}\n")
    with pytest.raises(CommandError) as err:
        run("environment", "create", "-f", str(tmp_path / "env.yml"))
    message = str(err.value)
    assert message.startswith("env.yml, line 2: an image alone gives no packages")
    assert "no container runtime" in message and "Add conda_file:" in message and IMAGE in message
    with pytest.raises(CommandError, match="an image alone gives no packages"):
        run("environment", "create", "--name", "by-option", "--image", IMAGE)
    assert not Environment.objects.filter(name__in=["image-only", "by-option"]).exists()


@pytest.mark.django_db
def test_a_deployment_whose_inline_environment_is_an_image_alone_is_refused(endpoint, tmp_path):
    (tmp_path / "deployment.yml").write_text(
        f"name: green\nendpoint_name: {endpoint.name}\nmodel: azureml:{endpoint.default_deployment.model_name}@latest\n"
        f"environment:\n  name: curated\n  image: {IMAGE}\n"
    )
    with pytest.raises(CommandError, match="deployment.yml, line 6: an image alone gives no packages"):
        run("batch-deployment", "create", "-f", str(tmp_path / "deployment.yml"))
    assert not endpoint.deployments.filter(name="green").exists() and _nothing_empty_registered()


@pytest.mark.django_db
def test_conda_dependencies_are_installed_with_pip_and_the_mapping_shown(tmp_path):
    (tmp_path / "conda.yaml").write_text("channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - six=1.16\n")
    (tmp_path / "env.yml").write_text(f"name: conda-six\nimage: {IMAGE}\nconda_file: conda.yaml\n")
    shown = json.loads(run("environment", "create", "-f", str(tmp_path / "env.yml")))
    assert shown["state"] == Environment.READY
    assert shown["requirements"] == ["six==1.16.*  # from conda: six=1.16"]
    env = Environment.objects.get(name="conda-six")
    assert "From the conda file: six=1.16 is installed as pip's six==1.16.*" in env.build_log


@pytest.mark.parametrize(
    "conda,line,problem",
    [
        ("dependencies:\n  - python=3.11\n  - conda-forge::lightgbm\n", 3, "asks for conda channel conda-forge"),
        ("dependencies:\n  - numpy=1.26=py39_0\n  - pip:\n    - six\n", 2, "pins a conda build string"),
    ],
)
@pytest.mark.django_db
def test_a_conda_dependency_pip_cannot_install_is_refused_by_file_and_line(tmp_path, conda, line, problem):
    (tmp_path / "conda.yaml").write_text(conda)
    (tmp_path / "env.yml").write_text("name: refused\nconda_file: conda.yaml\n")
    with pytest.raises(CommandError) as err:
        run("environment", "create", "-f", str(tmp_path / "env.yml"))
    assert str(err.value).startswith(f"env.yml, line 2: conda.yaml, line {line}: ") and problem in str(err.value)
    assert not Environment.objects.filter(name="refused").exists()


@pytest.mark.django_db
def test_a_conda_file_of_only_python_and_pip_is_refused(tmp_path):
    (tmp_path / "conda.yaml").write_text("dependencies:\n  - python=3.11\n  - pip\n  - pip: []\n")
    (tmp_path / "env.yml").write_text("name: nothing\nconda_file: conda.yaml\n")
    with pytest.raises(CommandError, match="env.yml, line 2: The conda file conda.yaml lists no packages to install"):
        run("environment", "create", "-f", str(tmp_path / "env.yml"))
    assert _nothing_empty_registered()
