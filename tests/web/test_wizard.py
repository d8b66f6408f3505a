"""The create-endpoint wizard, step by step, through Django's test client."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from endpoints.models import BatchDeployment, BatchEndpoint
from endpoints.wizard import SESSION_KEY
from jobs import tasks
from jobs.models import Environment
from jobs.submit import submit_job
from tests.fixtures.ui import DEPLOYMENT_DEFAULTS, JOBLIB_SCORE, code_step, run_wizard, wizard_post


@pytest.fixture
def steps(demo_model):
    return [
        ("endpoint", {"endpoint_name": "iris-batch", "description": "Iris scoring"}),
        ("model", {"model": demo_model.label}),
        ("deployment", {**DEPLOYMENT_DEFAULTS, "mini_batch_size": 2, "environment_variables": "A=1\nB = two"}),
        ("compute", {"compute": "cpu-cluster", "instance_count": 2}),
    ]


def test_it_starts_at_the_endpoint_step(signed_in):
    response = signed_in.get("/endpoints/create/")
    assert response.status_code == 302
    assert response["Location"] == "/endpoints/create/endpoint/"
    page = signed_in.get("/endpoints/create/endpoint/")
    assert "Endpoint name" in page.content.decode()
    assert "Existing" not in page.content.decode()


def test_it_creates_an_endpoint_with_a_default_deployment(signed_in, steps):
    response = run_wizard(signed_in, "/endpoints/create/", steps)
    assert response.status_code == 302
    assert response["Location"] == "/endpoints/iris-batch/"
    endpoint = BatchEndpoint.objects.get(name="iris-batch")
    deployment = endpoint.default_deployment
    assert endpoint.description == "Iris scoring"
    assert (deployment.name, deployment.mini_batch_size, deployment.instance_count) == ("blue", 2, 2)
    assert deployment.environment_variables == {"A": "1", "B": "two"}
    assert deployment.timeout == 30 and deployment.error_threshold == -1
    assert not deployment.is_custom
    assert SESSION_KEY not in signed_in.session


def test_mlflow_models_skip_the_code_step(signed_in, steps):
    first = signed_in.get("/endpoints/create/")
    first = signed_in.get(first["Location"]) if first.status_code == 302 else first
    # before a model is chosen the step list does not claim the code is generated: a Custom model has that step
    assert "Code + environment <small>(generated for MLflow models)</small>" in first.content.decode()
    for step, data in steps[:3]:
        response = wizard_post(signed_in, step, data)
    assert response["Location"] == "/endpoints/create/compute/"
    page = signed_in.get("/endpoints/create/compute/").content.decode()
    assert "Code + environment <small>(generated)</small>" in page
    assert signed_in.get("/endpoints/create/code/").status_code == 404


def test_the_compute_step_suggests_the_known_clusters_and_says_which_have_no_worker(signed_in, steps, endpoint):
    endpoint.default_deployment.__class__.objects.filter(pk=endpoint.default_deployment.pk).update(
        compute="gpu-cluster"
    )
    signed_in.get("/endpoints/create/")
    for step, data in steps[:3]:
        wizard_post(signed_in, step, data)
    page = signed_in.get("/endpoints/create/compute/").content.decode()
    assert 'list="known-clusters"' in page
    assert '<option value="cpu-cluster"><option value="gpu-cluster">' in page
    # no qcluster runs in this test: the user learns it before the jobs wait
    assert "cpu-cluster (no live worker: jobs wait), gpu-cluster (no live worker: jobs wait)" in page


@pytest.mark.parametrize("name", ["../x", "my cluster", "x", "cluster-"])
def test_the_compute_step_refuses_a_name_no_qcluster_could_serve(signed_in, steps, name):
    signed_in.get("/endpoints/create/")
    for step, data in steps[:-1]:
        wizard_post(signed_in, step, data)
    response = wizard_post(signed_in, "compute", {"compute": name, "instance_count": 1})
    assert response.status_code == 200
    assert "A compute cluster&#x27;s name is 2 to 64 characters: start with a letter" in response.content.decode()


def review_page(client, steps) -> str:
    """The Review step's page after every step was sent."""
    client.get("/endpoints/create/")
    for step, data in steps:
        wizard_post(client, step, data)
    return client.get("/endpoints/create/review/").content.decode()


def test_summary_only_shows_no_output_file_name(signed_in, steps):
    steps[2] = ("deployment", {**steps[2][1], "output_action": "summary_only"})
    review = review_page(signed_in, steps)
    assert "<dd>summary_only</dd>" in review and "Output file name" not in review
    signed_in.post("/endpoints/create/review/")
    detail = signed_in.get("/endpoints/iris-batch/").content.decode()
    assert "<dt>Output file name</dt><dd>—</dd>" in detail


def test_the_review_step_shows_every_choice(signed_in, steps):
    page = review_page(signed_in, steps)
    for text in (
        "iris-batch",
        "Iris scoring",
        "Mini batch size",
        "Scoring timeout (seconds)",
        "A=1, B=two",
        "generated for the MLflow model",
        "cpu-cluster",
    ):
        assert text in page
    assert "<dt>Passthrough columns</dt><dd></dd>" not in page  # none chosen: not listed with a blank value
    assert "Split large files" not in page  # off (0), as in Azure: not listed


def test_the_deployment_step_sets_split_rows_and_the_endpoint_page_shows_it(signed_in, steps):
    steps[2][1]["split_rows"] = 50000
    assert "Split large files (rows per range)" in review_page(signed_in, steps)
    assert signed_in.post("/endpoints/create/review/").status_code == 302
    assert BatchEndpoint.objects.get(name="iris-batch").default_deployment.split_rows == 50000
    page = signed_in.get("/endpoints/iris-batch/").content.decode()
    assert "Parquet and CSV files of more than 50000 rows" in page


def test_the_review_step_shows_the_output_file_name_of_the_chosen_format(signed_in, steps):
    steps[2] = ("deployment", {**steps[2][1], "output_format": "parquet"})
    review = review_page(signed_in, steps)
    # it read predictions.csv, and the deployment wrote predictions.parquet
    assert "<dt>Output file name</dt><dd>predictions.parquet</dd>" in review
    signed_in.post("/endpoints/create/review/")
    assert BatchEndpoint.objects.get(name="iris-batch").default_deployment.output_file_name == "predictions.parquet"


def test_a_step_chosen_in_the_step_list_keeps_what_was_entered_as_back_does(signed_in, steps):
    """The step list's links left what was typed on the step behind."""
    signed_in.get("/endpoints/create/")
    wizard_post(signed_in, *steps[0])
    wizard_post(signed_in, *steps[1])
    typed = {**DEPLOYMENT_DEFAULTS, "name": "half-typed", "mini_batch_size": 0}  # not valid yet: kept all the same
    response = wizard_post(signed_in, "deployment", typed, goto="endpoint")
    assert response["Location"] == "/endpoints/create/endpoint/"
    page = signed_in.get("/endpoints/create/deployment/").content.decode()
    assert 'value="half-typed"' in page and 'name="mini_batch_size" value="0"' in page
    # only an earlier step: a later one is reached by Next, which checks the step
    response = wizard_post(signed_in, "deployment", typed, goto="review")
    assert response.status_code == 200 and "greater than or equal to 1" in response.content.decode()
    wizard_post(signed_in, "deployment", steps[2][1])
    wizard_post(signed_in, *steps[3])
    assert wizard_post(signed_in, "review", {}, goto="model")["Location"] == "/endpoints/create/model/"


def test_back_keeps_what_was_entered(signed_in, steps):
    signed_in.get("/endpoints/create/")
    wizard_post(signed_in, *steps[0])
    wizard_post(signed_in, *steps[1])
    response = wizard_post(
        signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, "name": "half-typed", "timeout": 99}, back="1"
    )
    assert response["Location"] == "/endpoints/create/model/"
    endpoint_page = signed_in.get("/endpoints/create/endpoint/").content.decode()
    assert 'value="iris-batch"' in endpoint_page
    deployment_page = signed_in.get("/endpoints/create/deployment/").content.decode()
    assert 'value="half-typed"' in deployment_page and 'value="99"' in deployment_page


@pytest.mark.parametrize(
    "name,message",
    [
        ("ab", "3 to 32 characters"),
        ("1abc", "Start with a letter"),
        ("abc-", "end with a letter or digit"),
        ("a" * 33, "at most 32 characters"),
        ("has_underscore", "letters, digits and"),
        ("create", "reserved"),
        ("", "Name the new endpoint"),
    ],
)
def test_the_endpoint_step_refuses_names_outside_azures_rules(signed_in, name, message):
    signed_in.get("/endpoints/create/")
    response = wizard_post(signed_in, "endpoint", {"endpoint_name": name})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_name_inputs_have_no_maxlength_that_would_cut_a_long_name_silently(signed_in, demo_model):
    signed_in.get("/endpoints/create/")
    page = signed_in.get("/endpoints/create/endpoint/").content.decode()
    assert 'name="endpoint_name"' in page and not re.search(r"name=\"endpoint_name\"[^>]*maxlength", page)
    wizard_post(signed_in, "endpoint", {"endpoint_name": "iris-batch"})
    wizard_post(signed_in, "model", {"model": demo_model.label})
    page = signed_in.get("/endpoints/create/deployment/").content.decode()
    assert 'name="name"' in page and 'maxlength="32"' not in page


def test_endpoint_names_are_unique(signed_in, endpoint):
    signed_in.get("/endpoints/create/")
    response = wizard_post(signed_in, "endpoint", {"endpoint_name": endpoint.name.upper()})
    assert "already exists" in response.content.decode()


@pytest.mark.parametrize(
    "change,message",
    [
        ({"output_action": "summary_only", "output_file_name": "out.csv"}, "cannot be used with summary_only"),
        ({"output_file_name": ""}, "append_row needs an output file name"),
        ({"mini_batch_size": 0}, "greater than or equal to 1"),
        # below 0 it said 'greater than or equal to 0' (a positive field's bound), and 0 was refused next
        ({"mini_batch_size": -3}, "greater than or equal to 1"),
        ({"timeout": -5}, "greater than or equal to 1"),
        ({"environment_variables": "A=1\nA=2"}, "Line 2: A is set on line 1 already."),
        ({"error_threshold": -2}, "greater than or equal to -1"),
        ({"error_threshold": 10**12}, "less than or equal to 2000000000"),  # it said 9223372036854775807
        ({"environment_variables": "no equals sign"}, "Line 1: write KEY=value"),
        ({"name": "bad name"}, "Start with a letter"),
        ({"split_rows": 500}, "split_rows is 0 (off: a file is never split) or a whole number of rows from 1,000"),
    ],
)
def test_the_deployment_step_checks_its_settings(signed_in, steps, change, message):
    signed_in.get("/endpoints/create/")
    wizard_post(signed_in, *steps[0])
    wizard_post(signed_in, *steps[1])
    response = wizard_post(signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, **change})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_the_deployment_steps_number_fields_tell_the_browser_their_bounds(signed_in, steps):
    signed_in.get("/endpoints/create/")
    wizard_post(signed_in, *steps[0])
    wizard_post(signed_in, *steps[1])
    page = signed_in.get("/endpoints/create/deployment/").content.decode()
    for name, bounds in [
        ("mini_batch_size", 'min="1" max="100000"'),
        ("max_concurrency_per_instance", 'min="1" max="64"'),
        ("max_retries", 'min="0" max="100"'),
        ("timeout", 'min="1" max="86400"'),
    ]:
        assert f'name="{name}" value' in page and bounds in page.split(f'name="{name}"')[1].split(">")[0], name


def test_a_step_cannot_be_skipped_by_url(signed_in, steps):
    signed_in.get("/endpoints/create/")
    response = signed_in.get("/endpoints/create/review/")
    assert response.status_code == 302
    assert response["Location"] == "/endpoints/create/endpoint/"


def test_a_name_taken_meanwhile_sends_back_to_its_step(signed_in, steps):
    signed_in.get("/endpoints/create/")
    for step, data in steps:
        wizard_post(signed_in, step, data)
    BatchEndpoint.objects.create(name="iris-batch")
    response = signed_in.post("/endpoints/create/review/")
    assert response["Location"] == "/endpoints/create/endpoint/"
    assert BatchEndpoint.objects.count() == 1
    page = signed_in.get(response["Location"]).content.decode()
    # why, on the step: it said only 'Check the Endpoint step again.'
    assert (
        "Check the Endpoint step again." in page and "An endpoint named &#x27;iris-batch&#x27; already exists." in page
    )
    assert 'value="iris-batch"' in page
    assert "already exists" not in signed_in.get(response["Location"]).content.decode()  # once


@pytest.fixture
def checked_before_the_other_press(monkeypatch):
    """Call it with the wizard's state: Create's next re-check answers what it finds now, as a second press of Create
    saw it before the first press saved its rows; later re-checks look again."""
    from endpoints import wizard

    real, seen = wizard.check_all, []
    monkeypatch.setattr(wizard, "check_all", lambda state: seen.pop() if seen else real(state))
    return lambda state: seen.append(real(state))


@pytest.mark.parametrize(
    "saved_seconds_ago,lands_on", [(1, "/endpoints/iris-batch/"), (600, "/endpoints/create/endpoint/")]
)
def test_create_pressed_twice_is_no_server_error(
    signed_in, steps, checked_before_the_other_press, saved_seconds_ago, lands_on
):
    """Two presses of Create at once: the second answered Server Error (500), IntegrityError on the endpoint's name."""
    from datetime import timedelta

    from django.utils import timezone

    signed_in.get("/endpoints/create/")
    for step, data in steps:
        wizard_post(signed_in, step, data)
    checked_before_the_other_press(signed_in.session[SESSION_KEY])
    first = BatchEndpoint.objects.create(name="iris-batch")  # the other press (or, long ago, another user)
    BatchDeployment.objects.create(endpoint=first, name="blue", model_name="m", model_version="1")
    BatchDeployment.objects.update(created=timezone.now() - timedelta(seconds=saved_seconds_ago))
    response = signed_in.post("/endpoints/create/review/", follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == lands_on
    page = response.content.decode()
    if saved_seconds_ago == 1:  # that press made it: this one says so
        assert "Deployment blue created on batch endpoint iris-batch." in page
    else:
        assert (
            "Check the Endpoint step again." in page
            and "An endpoint named &#x27;iris-batch&#x27; already exists." in page
        )
    assert BatchEndpoint.objects.count() == 1 and BatchDeployment.objects.count() == 1


def test_from_a_model_the_model_is_chosen_and_an_existing_endpoint_can_be_picked(signed_in, endpoint, demo_model):
    response = signed_in.get(f"/endpoints/create/?model={demo_model.label}")
    assert response["Location"] == "/endpoints/create/endpoint/"
    assert "Existing" in signed_in.get("/endpoints/create/endpoint/").content.decode()
    model_page = signed_in.get("/endpoints/create/model/").content.decode()
    assert f'<option value="{demo_model.label}" selected>' in model_page
    response = run_wizard(
        signed_in,
        f"/endpoints/create/?model={demo_model.label}",
        [
            ("endpoint", {"endpoint_mode": "existing", "existing_endpoint": endpoint.name, "endpoint_name": "ignored"}),
            ("model", {"model": demo_model.label}),
            ("deployment", {**DEPLOYMENT_DEFAULTS, "name": "green", "make_default": "on"}),
            ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
        ],
    )
    assert response["Location"] == f"/endpoints/{endpoint.name}/"
    endpoint.refresh_from_db()
    assert list(endpoint.deployments.values_list("name", flat=True)) == ["blue", "green"]
    signed_in.get(f"/endpoints/create/?model={demo_model.label}")
    wizard_post(signed_in, "endpoint", {"endpoint_mode": "existing", "existing_endpoint": endpoint.name})
    heading = f"<h1>Add deployment <small>to {endpoint.name}</small></h1>"  # not 'Create batch endpoint' any more
    assert heading in signed_in.get("/endpoints/create/model/").content.decode()
    assert endpoint.default_deployment.name == "green"
    assert not BatchEndpoint.objects.filter(name="ignored").exists()


def test_existing_needs_an_endpoint(signed_in, demo_model):
    signed_in.get(f"/endpoints/create/?model={demo_model.label}")
    response = wizard_post(signed_in, "endpoint", {"endpoint_mode": "existing"})
    assert "Choose the endpoint the deployment is added to" in response.content.decode()


def test_add_deployment_keeps_the_default_unless_asked(signed_in, endpoint, demo_model):
    response = signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")
    assert response["Location"] == "/endpoints/create/model/"
    page = signed_in.get("/endpoints/create/deployment/").content.decode()
    assert "Make this new deployment the default for batch jobs" in page
    run_wizard(
        signed_in,
        f"/endpoints/{endpoint.name}/deployments/add/",
        [
            ("model", {"model": demo_model.label}),
            ("deployment", {**DEPLOYMENT_DEFAULTS, "name": "green"}),
            ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
        ],
    )
    endpoint.refresh_from_db()
    assert endpoint.deployments.count() == 2
    assert endpoint.default_deployment.name == "blue"


@pytest.mark.parametrize("start", ["add", "existing"])
def test_an_endpoint_deleted_while_a_deployment_is_being_added_to_it_creates_nothing(
    signed_in, endpoint, demo_model, start
):
    """Its Create answered Server Error (500) when the deployment was being added with + Add deployment."""
    if start == "add":
        signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")
    else:
        signed_in.get(f"/endpoints/create/?model={demo_model.label}")
        wizard_post(signed_in, "endpoint", {"endpoint_mode": "existing", "existing_endpoint": endpoint.name})
    for step, data in [
        ("model", {"model": demo_model.label}),
        ("deployment", {**DEPLOYMENT_DEFAULTS, "name": "green"}),
        ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
    ]:
        wizard_post(signed_in, step, data)
    endpoint.delete()  # in another tab
    response = signed_in.post("/endpoints/create/review/", follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    if start == "add":
        assert response.redirect_chain[-1][0] == "/endpoints/"
        assert f"Batch endpoint {endpoint.name} was deleted meanwhile: the deployment was not created." in page
        assert SESSION_KEY not in signed_in.session
    else:  # the Endpoint step asks for another one
        assert response.redirect_chain[-1][0] == "/endpoints/create/endpoint/"
        assert "Check the Endpoint step again." in page
    assert not BatchEndpoint.objects.exists() and not BatchDeployment.objects.exists()


def test_add_deployment_refuses_a_name_the_endpoint_has(signed_in, endpoint, demo_model):
    signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")
    wizard_post(signed_in, "model", {"model": demo_model.label})
    response = wizard_post(signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, "name": "BLUE"})
    assert "already has a deployment named" in response.content.decode()


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


def test_a_wizard_replaced_by_one_opened_since_saves_nothing(signed_in, steps, endpoint):
    run = signed_in.get("/endpoints/create/", follow=True).content.decode()
    first_id = run.split('name="wizard" value="')[1].split('"')[0]
    for step, data in steps:
        wizard_post(signed_in, step, data, wizard=first_id)
    signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")  # another tab: + Add deployment
    wizard_post(signed_in, "model", steps[1][1])
    wizard_post(signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, "name": "other-tab"})
    wizard_post(signed_in, "compute", steps[3][1])

    response = signed_in.post("/endpoints/create/review/", {"wizard": first_id}, follow=True)  # Create in the first tab
    assert not BatchEndpoint.objects.filter(name="iris-batch").exists()
    assert not endpoint.deployments.filter(name="other-tab").exists()
    page = response.content.decode()
    assert "Nothing was saved: that wizard was replaced by one opened since in this browser" in page
    assert f"Add deployment <small>to {endpoint.name}</small>" in page
    assert response.redirect_chain[-1][0] == "/endpoints/create/model/"
    assert (
        signed_in.get("/endpoints/create/model/").context["form"].initial == steps[1][1]
    )  # the other one's values stay


def test_a_wizard_started_before_wizards_had_ids_goes_on(signed_in, steps):
    signed_in.get("/endpoints/create/")
    session = signed_in.session
    del session[SESSION_KEY]["id"]  # a session saved by the Studio before this version
    session.save()
    page = signed_in.get("/endpoints/create/endpoint/").content.decode()
    assert 'name="wizard" value=""' in page
    response = wizard_post(signed_in, "endpoint", steps[0][1], wizard="")
    assert response["Location"] == "/endpoints/create/model/"  # not 'Nothing was saved', back to the first step


def test_cancel_leaves_the_wizard_and_creates_nothing(signed_in, demo_model):
    signed_in.get("/endpoints/create/")
    wizard_post(signed_in, "endpoint", {"endpoint_name": "never-made"})
    page = signed_in.get("/endpoints/create/model/").content.decode()
    assert ">Cancel</button>" in page
    response = wizard_post(signed_in, "model", {"model": demo_model.label, "cancel": "1"})
    assert response.status_code == 302 and response["Location"] == "/endpoints/"
    assert "Canceled: nothing was created." in signed_in.get("/endpoints/").content.decode()
    assert not BatchEndpoint.objects.filter(name="never-made").exists()
    # The next + Create starts empty.
    signed_in.get("/endpoints/create/")
    assert 'value="never-made"' not in signed_in.get("/endpoints/create/endpoint/").content.decode()


def test_cancel_of_add_deployment_returns_to_the_endpoint(signed_in, endpoint):
    first_step = signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")["Location"]
    response = signed_in.post(first_step, {"cancel": "1"})
    assert response["Location"] == f"/endpoints/{endpoint.name}/"
    assert endpoint.deployments.count() == 1
