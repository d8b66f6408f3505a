"""Endpoints → + Create: the wizard in headless Chromium, then the endpoint's Details tab."""

from endpoints.models import BatchEndpoint
from tests.conftest import sign_in
from tests.fixtures.ui import screenshot


def test_create_wizard_makes_an_endpoint_with_its_default_deployment(page, live_server, user, demo_model):
    sign_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Endpoints").click()
    page.get_by_text("No batch endpoints yet").wait_for()
    page.locator(".commandbar").get_by_role("link", name="+ Create", exact=True).click()

    page.get_by_label("Endpoint name").fill("iris-wizard")
    page.get_by_label("Description").fill("Scores iris files")
    page.get_by_role("button", name="Next").click()

    page.get_by_label("Model").select_option(demo_model.label)
    page.get_by_role("button", name="Next").click()

    page.get_by_role("heading", name="Deployment").wait_for()
    page.get_by_label("Deployment name").fill("blue")
    assert page.get_by_label("Output action").input_value() == "append_row"
    assert page.get_by_label("Output file name").input_value() == "predictions.csv"
    assert page.get_by_label("Scoring timeout (seconds)").input_value() == "30"
    assert page.get_by_label("Error threshold", exact=True).input_value() == "-1"
    page.get_by_label("Mini batch size").fill("5")
    page.get_by_label("Max retries").fill("2")
    page.get_by_label("Logging level").select_option("debug")
    page.get_by_label("Environment variables").fill("GREETING=hello")
    screenshot(page, "create-wizard-deployment")
    page.get_by_role("button", name="Back").click()

    assert page.get_by_label("Model").input_value() == demo_model.label  # Back keeps values
    page.get_by_role("button", name="Next").click()
    assert page.get_by_label("Deployment name").input_value() == "blue"
    assert page.get_by_label("Mini batch size").input_value() == "5"
    page.get_by_role("button", name="Next").click()

    page.get_by_text("Code + environment (generated)").wait_for()  # MLflow: skipped
    assert page.get_by_label("Compute cluster").input_value() == "cpu-cluster"
    page.get_by_label("Instance count").fill("2")
    page.get_by_role("button", name="Next").click()

    page.get_by_role("heading", name="Review").wait_for()
    page.get_by_text("generated for the MLflow model").wait_for()
    page.get_by_role("button", name="Create").click()

    page.get_by_role("heading", name="iris-wizard").wait_for()
    page.get_by_role("status").filter(has_text="Deployment blue created").wait_for()
    details = page.locator("dl.attrs")
    for text in (
        "Scores iris files",
        "/api/v1/endpoints/iris-wizard/jobs",
        "token",
        "Succeeded",
        "blue",
        "Created on",
        "Last updated on",
    ):
        details.get_by_text(text).first.wait_for()
    headers = page.get_by_role("table").filter(has_text="Instance count").get_by_role("columnheader").all_inner_texts()
    assert [h for h in headers if h in ("Model", "Version", "Compute", "Instance count", "Settings")] == [
        "Model",
        "Version",
        "Compute",
        "Instance count",
        "Settings",
    ]
    row = page.get_by_role("row").filter(has_text=demo_model.name)
    for text in ("Default", "cpu-cluster", "generated (MLflow)", "debug", "GREETING=hello"):
        row.get_by_text(text).first.wait_for()
    row.get_by_role("cell", name="2", exact=True).wait_for()  # Instance count
    page.get_by_role("button", name="Copy scoring URI").click()
    page.get_by_role("button", name="Copy scoring URI").filter(has_text="Copied").wait_for()
    page.get_by_role("status").filter(
        has_text="scoring URI copied to the clipboard"
    ).wait_for()  # screen readers hear it
    screenshot(page, "endpoint-details")

    deployment = BatchEndpoint.objects.get(name="iris-wizard").default_deployment
    assert (deployment.mini_batch_size, deployment.max_retries, deployment.instance_count) == (5, 2, 2)


def test_the_wizard_says_what_is_wrong_on_its_step(page, live_server, user, demo_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/create/")
    page.get_by_label("Endpoint name").fill("1-bad")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("alert").filter(has_text="Start with a letter").wait_for()
    assert page.get_by_label("Endpoint name").input_value() == "1-bad"
    page.get_by_label("Endpoint name").fill("iris-steps")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Model").select_option(demo_model.label)
    page.get_by_role("button", name="Next").click()

    page.get_by_label("Deployment name").fill("b")
    page.get_by_label("Mini batch size").fill("5")
    page.get_by_label("Environment variables").fill("not a variable")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("alert").filter(has_text="The name must be 3 to 32 characters long.").wait_for()
    page.get_by_role("alert").filter(has_text="Line 1: write KEY=value.").wait_for()
    assert page.get_by_label("Mini batch size").input_value() == "5"  # kept with the errors
    assert page.get_by_label("Environment variables").input_value() == "not a variable"


def test_the_step_list_goes_back_keeping_what_was_typed(page, live_server, user, demo_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/create/")
    page.get_by_label("Endpoint name").fill("iris-list")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Model").select_option(demo_model.label)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Deployment name").fill("typed")
    page.get_by_label("Mini batch size").fill("0")  # not valid yet: kept, as Back keeps it
    page.get_by_role("list", name="Wizard steps").get_by_role("link", name="Endpoint").click()
    page.get_by_role("heading", name="Endpoint", exact=True).wait_for()
    assert page.get_by_label("Endpoint name").input_value() == "iris-list"
    page.get_by_role("list", name="Wizard steps").get_by_text("Deployment").wait_for()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Deployment", exact=True).wait_for()
    assert page.get_by_label("Deployment name").input_value() == "typed"  # it was lost
    assert page.get_by_label("Mini batch size").input_value() == "0"


def test_a_wizard_replaced_in_another_tab_creates_nothing(page, live_server, user, endpoint, demo_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/create/")
    page.get_by_label("Endpoint name").fill("first-tab")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Model").select_option(demo_model.label)

    other = page.context.new_page()  # the same session: + Add deployment in a second tab
    other.goto(f"{live_server.url}/endpoints/{endpoint.name}/deployments/add/")
    other.get_by_role("heading", name="Add deployment").wait_for()

    page.get_by_role("button", name="Next").click()
    page.get_by_role("status").filter(has_text="Nothing was saved: that wizard was replaced").wait_for()
    page.get_by_role("heading", name="Add deployment").wait_for()
    assert not BatchEndpoint.objects.filter(name="first-tab").exists()


def test_browser_back_after_create_opens_a_fresh_wizard(page, live_server, user, demo_model):
    """Back from the new endpoint once bounced between /endpoints/create/ and its first step (ERR_TOO_MANY_REDIRECTS)."""
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/create/")
    page.get_by_label("Endpoint name").fill("iris-back")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Model").select_option(demo_model.label)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Deployment name").fill("blue")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Review").wait_for()
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="iris-back").wait_for()

    page.go_back()
    page.get_by_label("Endpoint name").wait_for()  # a wizard page, not a browser error page
    assert page.get_by_label("Endpoint name").input_value() == ""  # a fresh wizard: the created one is done
    page.go_back()  # further back: a step of that fresh wizard, asked of the server again
    page.get_by_role("heading", name="Create batch endpoint").wait_for()
    assert BatchEndpoint.objects.filter(name="iris-back").count() == 1


def test_cancel_in_the_wizard_returns_to_the_endpoints_list(page, live_server, user, demo_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/create/")
    page.get_by_label("Endpoint name").fill("not-wanted")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("status").filter(has_text="Canceled: nothing was created.").wait_for()
    page.get_by_text("No batch endpoints yet").wait_for()
