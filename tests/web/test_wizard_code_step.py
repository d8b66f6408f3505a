"""The wizard's Code + environment step (a custom model): the scoring script, an existing or a new environment,
through Django's test client."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from endpoints.models import BatchDeployment
from jobs import tasks
from jobs.models import Environment
from jobs.submit import submit_job
from tests.fixtures.ui import DEPLOYMENT_DEFAULTS, JOBLIB_SCORE, code_step, wizard_post


@pytest.fixture
def to_code_step(signed_in, endpoint, custom_model):
    """A wizard adding a deployment of the Custom model to the endpoint, at its Code + environment step."""
    signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")
    wizard_post(signed_in, "model", {"model": custom_model.label})
    response = wizard_post(signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, "name": "custom"})
    assert response["Location"] == "/endpoints/create/code/"
    return signed_in


def _finish(client):
    assert wizard_post(client, "compute", {"compute": "cpu-cluster", "instance_count": 1}).status_code == 302
    return client.post("/endpoints/create/review/")


def test_custom_models_upload_a_scoring_script_and_pick_an_environment(to_code_step, endpoint):
    missing = wizard_post(to_code_step, "code", {"environment_mode": "existing", "environment": "studio:1"})
    assert "Upload the scoring script" in missing.content.decode()
    page = to_code_step.get("/endpoints/create/code/").content.decode()
    assert "studio:1 (the workers&#x27; own) · Ready" in page
    response = wizard_post(to_code_step, "code", code_step())
    assert response["Location"] == "/endpoints/create/compute/"
    wizard_post(to_code_step, "compute", {"compute": "cpu-cluster", "instance_count": 1})
    review = to_code_step.get("/endpoints/create/review/").content.decode()
    assert "score.py" in review and "Use an existing environment" in review
    to_code_step.post("/endpoints/create/review/")
    deployment = BatchDeployment.objects.get(name="custom")
    assert deployment.scoring_script == "score.py" and deployment.environment == "studio:1"
    assert (Path(deployment.code_path) / "score.py").read_bytes() == JOBLIB_SCORE
    assert deployment.provisioning_state == "Succeeded"


def test_a_custom_model_is_not_offered_passthrough_columns_no_job_could_run_with(
    signed_in, endpoint, custom_model, demo_data
):
    """Passthrough columns need an MLflow deployment: a Custom model's deployment that kept them refused every job."""
    signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")
    wizard_post(signed_in, "model", {"model": custom_model.label})
    step = signed_in.get("/endpoints/create/deployment/").content.decode()
    assert "Passthrough columns" not in step and "Split large files" not in step  # run() is given whole files
    # posted all the same (a page opened while an MLflow model was chosen): not kept
    wizard_post(
        signed_in,
        "deployment",
        {**DEPLOYMENT_DEFAULTS, "name": "custom", "passthrough_columns": "id", "split_rows": 5000},
    )
    wizard_post(signed_in, "code", code_step())
    assert "Passthrough" not in signed_in.get("/endpoints/create/review/").content.decode()
    _finish(signed_in)
    deployment = BatchDeployment.objects.get(name="custom")
    assert deployment.passthrough_columns == [] and deployment.split_rows == 0
    job = submit_job(endpoint, input_uri=demo_data, deployment_name="custom")
    assert job.settings["passthrough_columns"] == [] and job.settings["split_rows"] == 0


def test_a_new_environment_is_built_when_the_deployment_is_created(
    to_code_step, endpoint, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    wizard_post(
        to_code_step,
        "code",
        code_step(
            environment_mode="new",
            new_environment_name="iris-env",
            pip_requirements="six>=1.0  # the Studio has it already",
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _finish(to_code_step)
    deployment = BatchDeployment.objects.get(name="custom")
    env = Environment.objects.get(name="iris-env")
    assert deployment.environment == "iris-env:1" and env.state == Environment.BUILDING
    assert [task.name() for task in OrmQ.objects.all()] == ["build environment iris-env:1"]
    page = to_code_step.get(response["Location"]).content.decode()
    assert "Creating" in page and "being built" in page and 'hx-trigger="every 2s"' in page
    with pytest.raises(ValidationError) as refused:
        submit_job(endpoint, input_uri="azureml://datastores/workspaceblobstore/paths/x", deployment_name="custom")
    assert refused.value.code == "environment_building"

    tasks.build_environment(env.pk)
    env.refresh_from_db()
    assert env.state == Environment.READY, env.build_log
    page = to_code_step.get(response["Location"]).content.decode()
    assert "Succeeded" in page and 'hx-trigger="every 2s"' not in page
    build_log = to_code_step.get(env.get_absolute_url()).content.decode()
    # pip's own words, or (when an earlier test built the same requirements on this machine) the reuse of that venv
    assert "Requirement already satisfied: six" in build_log or "Reused the environment built at" in build_log


def test_a_requirement_that_cannot_be_installed_fails_the_deployment_not_the_job(to_code_step, endpoint):
    conda = "name: bad\ndependencies:\n  - python=3.11\n  - pip:\n    - this-package-does-not-exist-zz==1.0\n"
    wizard_post(
        to_code_step, "code", code_step(environment_mode="new", new_environment_name="bad-env", conda_file=conda)
    )
    response = _finish(to_code_step)
    env = Environment.objects.get(name="bad-env")
    assert env.requirements.strip() == "this-package-does-not-exist-zz==1.0"
    tasks.build_environment(env.pk)
    env.refresh_from_db()
    assert env.state == Environment.FAILED
    page = to_code_step.get(response["Location"]).content.decode()
    assert "Failed" in page and "this-package-does-not-exist-zz==1.0" in page
    with pytest.raises(ValidationError) as refused:
        submit_job(endpoint, input_uri="azureml://datastores/workspaceblobstore/paths/x", deployment_name="custom")
    assert refused.value.code == "environment_build_failed"
    assert "this-package-does-not-exist-zz" in refused.value.messages[0]
    # Picked again later, it is refused on the step itself.
    to_code_step.get(f"/endpoints/{endpoint.name}/deployments/add/")
    to_code_step.post("/endpoints/create/model/", {"model": "iris-joblib:1"})
    wizard_post(to_code_step, "deployment", {**DEPLOYMENT_DEFAULTS, "name": "again"})
    again = wizard_post(to_code_step, "code", code_step(environment="bad-env:1")).content.decode()
    assert "Environment bad-env:1 failed to build" in again


@pytest.mark.parametrize(
    "fields,message",
    [
        ({}, "Name the new environment"),
        ({"new_environment_name": "studio", "pip_requirements": "six"}, "the workers&#x27; own environment"),
        ({"new_environment_name": "e"}, "List the packages to install"),
        ({"new_environment_name": "e", "pip_requirements": "six", "conda_file": "dependencies: []"}, "not both"),
        (
            {"new_environment_name": "e", "pip_requirements": "six\nnot a requirement!"},
            "line 2: &#x27;not a requirement!&#x27;",
        ),
        ({"new_environment_name": "e", "pip_requirements": "--index-url http://evil/"}, "pip options"),
        ({"new_environment_name": "e", "conda_file": "dependencies: [python=3.11]"}, "lists no package to install"),
        ({"new_environment_name": "e", "conda_file": "dependencies: [oops"}, "not a conda environment YAML"),
        (
            {"new_environment_name": "e", "conda_file": "dependencies:\n  - python=3.11\n  - conda-forge::lightgbm\n"},
            "The conda file: line 3: &#x27;conda-forge::lightgbm&#x27; asks for conda channel conda-forge",
        ),
        ({"new_environment_name": "bad name", "pip_requirements": "six"}, "Start with a letter or digit"),
    ],
)
def test_the_code_step_checks_a_new_environment(to_code_step, fields, message):
    response = wizard_post(to_code_step, "code", code_step(environment_mode="new", **fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Environment.objects.exclude(name="studio").exists()


def test_a_conda_dependency_in_the_code_step_becomes_its_pip_requirement(to_code_step):
    conda = "dependencies:\n  - python=3.11\n  - six=1.16\n"
    response = wizard_post(
        to_code_step, "code", code_step(environment_mode="new", new_environment_name="conda-six", conda_file=conda)
    )
    assert response["Location"] == "/endpoints/create/compute/"
    _finish(to_code_step)
    assert Environment.objects.get(name="conda-six").requirements == "six==1.16.*  # from conda: six=1.16"


def test_back_from_the_code_step_keeps_what_was_entered(to_code_step):
    wizard_post(
        to_code_step,
        "code",
        code_step(environment_mode="new", new_environment_name="kept-env", pip_requirements="six>=1.0"),
    )
    response = wizard_post(to_code_step, "compute", {"compute": "cpu-cluster", "instance_count": 3}, back="1")
    assert response["Location"] == "/endpoints/create/code/"
    page = to_code_step.get("/endpoints/create/code/").content.decode()
    assert "Uploaded: score.py" in page and 'value="kept-env"' in page and "six&gt;=1.0</textarea>" in page
    assert 'value="new" required id="id_environment_mode_1" checked' in page
    # Next without a new upload keeps the uploaded script.
    response = wizard_post(to_code_step, "code", {"environment_mode": "existing", "environment": "studio:1"})
    assert response["Location"] == "/endpoints/create/compute/"
    assert 'value="3"' in to_code_step.get("/endpoints/create/compute/").content.decode()


def test_the_code_step_refuses_a_non_python_file(to_code_step):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = wizard_post(to_code_step, "code", code_step(code=SimpleUploadedFile("x.txt", b"hi")))
    assert "Upload a Python file" in response.content.decode()
