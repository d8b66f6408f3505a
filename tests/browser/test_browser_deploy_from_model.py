"""Models → a model → Deploy to batch endpoint, onto an Existing endpoint; then the endpoint's own actions:
+ Add deployment, Update default deployment, Delete (deployment and endpoint)."""

from endpoints.models import BatchEndpoint
from jobs.models import BatchJob
from tests.conftest import sign_in
from tests.fixtures.ui import screenshot


def _next(page):
    page.get_by_role("button", name="Next").click()


def test_deploy_a_model_to_an_existing_endpoint(page, live_server, user, endpoint, demo_model):
    sign_in(page, live_server)
    page.get_by_role("link", name="Models").click()
    page.get_by_role("link", name=demo_model.name).click()
    screenshot(page, "model-details")
    page.get_by_role("link", name="Deploy to batch endpoint").click()

    page.get_by_label("Existing", exact=True).check()
    assert not page.get_by_label("Endpoint name").is_visible()
    page.get_by_label("Existing endpoint").select_option(endpoint.name)
    _next(page)
    assert page.get_by_label("Model").input_value() == demo_model.label
    _next(page)
    page.get_by_label("Deployment name").fill("green")
    page.get_by_label("Make this new deployment the default for batch jobs").check()
    _next(page)
    _next(page)
    page.get_by_role("button", name="Create").click()

    page.get_by_role("heading", name=endpoint.name).wait_for()
    endpoint.refresh_from_db()
    assert endpoint.default_deployment.name == "green"
    assert endpoint.deployments.count() == 2


def test_manage_deployments_from_the_endpoint_page(page, live_server, user, endpoint, demo_model, demo_data):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/")

    page.get_by_role("link", name="+ Add deployment").click()
    page.get_by_role("heading", name="Add deployment").wait_for()
    page.get_by_label("Model").select_option(demo_model.label)
    _next(page)
    page.get_by_label("Deployment name").fill("green")
    _next(page)
    _next(page)
    page.get_by_role("button", name="Create").click()
    page.get_by_role("row").filter(has_text="green").wait_for()

    page.get_by_role("link", name="Delete deployment blue").click()
    page.get_by_role("alert").filter(
        has_text=f"'blue' is the default deployment of {endpoint.name}. Choose another default deployment"
    ).wait_for()
    page.get_by_role("link", name="Update default deployment").click()
    page.get_by_label("Default deployment").select_option("green")
    page.get_by_role("button", name="Update").click()
    page.get_by_role("status").filter(has_text="green is now the default deployment").wait_for()
    page.locator("dl.attrs").get_by_text("green", exact=True).wait_for()  # Default deployment

    page.get_by_role("link", name="+ Create job").click()  # the next job, its deployment not chosen: the new default
    assert page.get_by_label("Deployment", exact=True).input_value() == "green"
    page.get_by_label("Input path").fill("demo/iris")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("status").filter(has_text="submitted").wait_for()
    job = BatchJob.objects.get()
    assert job.deployment_name == "green"
    page.get_by_role("link", name=endpoint.name, exact=True).click()  # its Runs tab
    page.get_by_role("row").filter(has_text=job.name).get_by_text("green", exact=True).wait_for()
    page.get_by_role("link", name="Details").click()

    page.get_by_role("link", name="Delete deployment blue").click()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("status").filter(has_text="Deployment blue was deleted").wait_for()
    assert list(endpoint.deployments.values_list("name", flat=True)) == ["green"]

    page.locator(".commandbar").get_by_role("link", name="Delete").click()
    page.get_by_text(f"Deleting {endpoint.name} deletes all its deployments too (green).").wait_for()
    page.get_by_text("Its jobs are kept: they stay listed under Jobs with their outputs.").wait_for()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("status").filter(has_text="were deleted").wait_for()
    page.get_by_text("No batch endpoints yet").wait_for()
    assert not BatchEndpoint.objects.exists()
    page.goto(f"{live_server.url}/jobs/")  # the endpoint's jobs stay listed
    row = page.get_by_role("row").filter(has_text=job.name)
    row.get_by_text(f"{endpoint.name} (deleted)", exact=True).wait_for()
    row.get_by_text("green (deleted)", exact=True).wait_for()
