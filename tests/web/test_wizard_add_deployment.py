"""The wizard adding a deployment to an existing endpoint: from a model's page (Existing endpoint) or the endpoint's
Add deployment button, through Django's test client."""

import pytest

from endpoints.models import BatchDeployment, BatchEndpoint
from endpoints.wizard import SESSION_KEY
from tests.fixtures.ui import DEPLOYMENT_DEFAULTS, run_wizard, wizard_post


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


def test_cancel_of_add_deployment_returns_to_the_endpoint(signed_in, endpoint):
    first_step = signed_in.get(f"/endpoints/{endpoint.name}/deployments/add/")["Location"]
    response = signed_in.post(first_step, {"cancel": "1"})
    assert response["Location"] == f"/endpoints/{endpoint.name}/"
    assert endpoint.deployments.count() == 1
