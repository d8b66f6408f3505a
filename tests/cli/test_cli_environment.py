"""`manage.py environment create` mirrors `az ml environment create` with a conda file."""

import json

import pytest

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
