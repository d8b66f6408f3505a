"""The create-endpoint wizard, step by step, through Django's test client."""

from pathlib import Path

import pytest

from endpoints.models import BatchDeployment, BatchEndpoint
from endpoints.wizard import SESSION_KEY
from tests.fixtures_ui import DEPLOYMENT_DEFAULTS, run_wizard, second_deployment, wizard_post  # noqa: F401


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
    signed_in.get("/endpoints/create/")
    for step, data in steps[:3]:
        response = wizard_post(signed_in, step, data)
    assert response["Location"] == "/endpoints/create/compute/"
    page = signed_in.get("/endpoints/create/compute/").content.decode()
    assert "Code + environment <small>(generated)</small>" in page
    assert signed_in.get("/endpoints/create/code/").status_code == 404


def test_the_review_step_shows_every_choice(signed_in, steps):
    signed_in.get("/endpoints/create/")
    for step, data in steps:
        wizard_post(signed_in, step, data)
    page = signed_in.get("/endpoints/create/review/").content.decode()
    for text in ("iris-batch", "Iris scoring", "Mini batch size", "Scoring timeout (seconds)", "A=1, B=two",
                 "generated for the MLflow model", "cpu-cluster"):
        assert text in page


def test_back_keeps_what_was_entered(signed_in, steps):
    signed_in.get("/endpoints/create/")
    wizard_post(signed_in, *steps[0])
    wizard_post(signed_in, *steps[1])
    response = wizard_post(signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, "name": "half-typed", "timeout": 99}, back="1")
    assert response["Location"] == "/endpoints/create/model/"
    endpoint_page = signed_in.get("/endpoints/create/endpoint/").content.decode()
    assert 'value="iris-batch"' in endpoint_page
    deployment_page = signed_in.get("/endpoints/create/deployment/").content.decode()
    assert 'value="half-typed"' in deployment_page and 'value="99"' in deployment_page


@pytest.mark.parametrize("name,message", [
    ("ab", "3 to 32 characters"),
    ("1abc", "Start with a letter"),
    ("abc-", "end with a letter or digit"),
    ("a" * 33, "at most 32 characters"),
    ("has_underscore", "letters, digits and"),
    ("create", "reserved"),
    ("", "Name the new endpoint"),
])
def test_the_endpoint_step_refuses_names_outside_azures_rules(signed_in, name, message):
    signed_in.get("/endpoints/create/")
    response = wizard_post(signed_in, "endpoint", {"endpoint_name": name})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_endpoint_names_are_unique(signed_in, endpoint):
    signed_in.get("/endpoints/create/")
    response = wizard_post(signed_in, "endpoint", {"endpoint_name": endpoint.name.upper()})
    assert "already exists" in response.content.decode()


@pytest.mark.parametrize("change,message", [
    ({"output_action": "summary_only", "output_file_name": "out.csv"}, "cannot be used with summary_only"),
    ({"output_file_name": ""}, "append_row needs an output file name"),
    ({"mini_batch_size": 0}, "greater than or equal to 1"),
    ({"error_threshold": -2}, "greater than or equal to -1"),
    ({"environment_variables": "no equals sign"}, "Line 1: write KEY=value"),
    ({"name": "bad name"}, "Start with a letter"),
])
def test_the_deployment_step_checks_its_settings(signed_in, steps, change, message):
    signed_in.get("/endpoints/create/")
    wizard_post(signed_in, *steps[0])
    wizard_post(signed_in, *steps[1])
    response = wizard_post(signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, **change})
    assert response.status_code == 200
    assert message in response.content.decode()


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


def test_from_a_model_the_model_is_chosen_and_an_existing_endpoint_can_be_picked(signed_in, endpoint, demo_model):
    response = signed_in.get(f"/endpoints/create/?model={demo_model.label}")
    assert response["Location"] == "/endpoints/create/endpoint/"
    assert "Existing" in signed_in.get("/endpoints/create/endpoint/").content.decode()
    model_page = signed_in.get("/endpoints/create/model/").content.decode()
    assert f'<option value="{demo_model.label}" selected>' in model_page
    response = run_wizard(signed_in, f"/endpoints/create/?model={demo_model.label}", [
        ("endpoint", {"endpoint_mode": "existing", "existing_endpoint": endpoint.name, "endpoint_name": "ignored"}),
        ("model", {"model": demo_model.label}),
        ("deployment", {**DEPLOYMENT_DEFAULTS, "name": "green", "make_default": "on"}),
        ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
    ])
    assert response["Location"] == f"/endpoints/{endpoint.name}/"
    endpoint.refresh_from_db()
    assert list(endpoint.deployments.values_list("name", flat=True)) == ["blue", "green"]
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
    run_wizard(signed_in, f"/endpoints/{endpoint.name}/deployments/add/", [
        ("model", {"model": demo_model.label}),
        ("deployment", {**DEPLOYMENT_DEFAULTS, "name": "green"}),
        ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
    ])
    endpoint.refresh_from_db()
    assert endpoint.deployments.count() == 2
    assert endpoint.default_deployment.name == "blue"


def test_add_deployment_refuses_a_name_the_endpoint_has(signed_in, endpoint, demo_model):
    signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")
    wizard_post(signed_in, "model", {"model": demo_model.label})
    response = wizard_post(signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, "name": "BLUE"})
    assert "already has a deployment named" in response.content.decode()


def test_custom_models_upload_a_scoring_script(signed_in, endpoint, demo_model, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from endpoints import wizard

    monkeypatch.setattr(wizard, "_is_mlflow", lambda label: False)
    signed_in.get(f"/endpoints/create/?model={demo_model.label}")
    wizard_post(signed_in, "endpoint", {"endpoint_mode": "existing", "existing_endpoint": endpoint.name})
    signed_in.get("/endpoints/create/model/")
    response = wizard_post(signed_in, "deployment", {**DEPLOYMENT_DEFAULTS, "name": "custom"})
    assert response["Location"] == "/endpoints/create/code/"
    missing = wizard_post(signed_in, "code", {"environment": ""})
    assert "Upload the scoring script" in missing.content.decode()
    script = SimpleUploadedFile("score.py", b"def init():\n    pass\n\ndef run(mini_batch):\n    return mini_batch\n")
    response = signed_in.post("/endpoints/create/code/", {"scoring_script": script, "environment": "sklearn-env:1"})
    assert response["Location"] == "/endpoints/create/compute/"
    wizard_post(signed_in, "compute", {"compute": "cpu-cluster", "instance_count": 1})
    assert "score.py" in signed_in.get("/endpoints/create/review/").content.decode()
    signed_in.post("/endpoints/create/review/")
    deployment = BatchDeployment.objects.get(name="custom")
    assert deployment.scoring_script == "score.py" and deployment.environment == "sklearn-env:1"
    assert (Path(deployment.code_path) / "score.py").is_file()


def test_the_code_step_refuses_a_non_python_file(signed_in, endpoint, demo_model, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from endpoints import wizard

    monkeypatch.setattr(wizard, "_is_mlflow", lambda label: False)
    signed_in.get(f"/endpoints/create/?model={demo_model.label}")
    response = signed_in.post("/endpoints/create/code/", {"scoring_script": SimpleUploadedFile("x.txt", b"hi")})
    assert "Upload a Python file" in response.content.decode()
