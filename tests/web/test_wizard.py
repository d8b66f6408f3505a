"""The create-endpoint wizard, step by step, through Django's test client: each step's checks, Back and the step list,
the review, Create pressed twice, a wizard replaced by a newer one, Cancel. A deployment added to an existing
endpoint: test_wizard_add_deployment.py; the Code + environment step of a custom model: test_wizard_code_step.py."""

import re

import pytest

from endpoints.models import BatchDeployment, BatchEndpoint
from endpoints.wizard import SESSION_KEY
from tests.fixtures.ui import DEPLOYMENT_DEFAULTS, run_wizard, wizard_post


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


def test_the_deployment_step_sets_warm_start_and_the_endpoint_page_shows_it(signed_in, steps):
    assert "<dt>Warm start</dt><dd>No</dd>" in review_page(signed_in, steps)  # off by default, as Azure
    steps[2][1]["warm_start"] = "on"
    assert "<dt>Warm start</dt><dd>Yes</dd>" in review_page(signed_in, steps)
    assert signed_in.post("/endpoints/create/review/").status_code == 302
    assert BatchEndpoint.objects.get(name="iris-batch").default_deployment.warm_start is True
    page = signed_in.get("/endpoints/iris-batch/").content.decode()
    assert "<dt>Warm start</dt><dd>On: every worker of cpu-cluster keeps its model loaded</dd>" in page


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
