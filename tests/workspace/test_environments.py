"""Isolated environments: built once per content hash, layered over the Studio's packages, used by the
scoring host; a requirement that cannot be installed is refused when the deployment is made.

Kept small: one tiny pure-Python requirement from the package index, and one that does not exist."""

import pytest
from django.core.exceptions import ValidationError

from endpoints.models import BatchDeployment
from engine import envbuild
from jobs.models import Environment, Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_frame, script_deployment, write_inputs

pytestmark = pytest.mark.django_db

WHICH_SIX = """
import sys
import six

def run(mini_batch):
    return [{"six": six.__version__, "prefix": sys.prefix} for _ in mini_batch]
"""


def test_the_studio_environment_is_always_there():
    studio = Environment.lookup("")
    assert studio.label == "studio:1" and studio.state == Environment.READY
    assert Environment.lookup("studio") == studio


def test_a_deployment_runs_in_its_own_environment(endpoint, tmp_path):
    env = Environment.objects.create(name="old-six", requirements="six==1.16.0  # pinned below the Studio's")
    deployment = script_deployment(endpoint, tmp_path, WHICH_SIX, environment="old-six:1")
    deployment.full_clean()  # builds it
    env.refresh_from_db()
    assert env.state == Environment.READY, env.build_log
    job = drive(submit_job(endpoint, input_uri=write_inputs("env", files=2), deployment_name=deployment.name))
    assert job.status == Status.COMPLETED, job.error
    out = output_frame(job)
    assert set(out["six"]) == {"1.16.0"} and set(out["prefix"]) == {
        str(envbuild.python_of(envbuild_root() / env.content_hash).parent.parent)
    }


def test_the_same_requirements_are_built_once(endpoint):
    first = Environment.objects.create(name="a", requirements="six==1.16.0").build()
    second = Environment.objects.create(name="b", requirements="# same\nsix==1.16.0\n").build()
    assert second.state == Environment.READY and second.python == first.python
    assert "Reused the environment" in second.build_log


def test_a_requirement_that_cannot_be_installed_is_refused_at_deployment_time(endpoint):
    Environment.objects.create(name="broken", requirements="this-package-does-not-exist-xyz==1")
    deployment = BatchDeployment(
        endpoint=endpoint, name="broken", model_name="m", model_version="1", environment="broken"
    )
    with pytest.raises(ValidationError) as err:
        deployment.full_clean()
    error = err.value.error_dict["environment"][0]
    assert error.code == "environment_build_failed"
    assert "this-package-does-not-exist-xyz==1" in error.messages[0]
    env = Environment.objects.get(name="broken")
    assert env.state == Environment.FAILED and "No matching distribution" in env.build_log


def test_an_unknown_environment_is_refused(endpoint):
    deployment = BatchDeployment(
        endpoint=endpoint, name="nope", model_name="m", model_version="1", environment="nope:3"
    )
    with pytest.raises(ValidationError) as err:
        deployment.full_clean()
    assert err.value.error_dict["environment"][0].code == "unknown_environment"


def test_an_mlflow_model_whose_requirements_the_workers_satisfy_runs_in_their_environment(endpoint, demo_data):
    deployment = endpoint.default_deployment
    env = deployment.use_model_environment()
    deployment.save()
    assert env.is_studio and deployment.environment == ""  # nothing to build (tests/test_model_environments.py)
    job = drive(submit_job(endpoint, input_uri=demo_data))
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150


@pytest.mark.parametrize(
    "conda,pip",
    [
        ("dependencies:\n  - python=3.11\n  - pip:\n    - six==1.16.0\n    - tiny\n", "six==1.16.0\ntiny"),
        ("dependencies:\n  - python=3.11\n", ""),
    ],
)
def test_the_pip_section_of_a_conda_file(conda, pip):
    assert envbuild.pip_section(conda) == pip


@pytest.mark.parametrize(
    "requirements,lines",
    [
        ("six==1.16.0\n\n# comment\npython==3.11\n", ["six==1.16.0"]),
        ("a  # why\nb\n", ["a", "b"]),
    ],
)
def test_requirements_are_normalised_before_hashing(requirements, lines):
    assert envbuild.normalise(requirements) == lines


def envbuild_root():
    from workspace.environments import envbuild_root as root

    return root()
