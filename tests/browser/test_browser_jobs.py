"""+ Create job with overrides and an output location, the job page while it runs and once Completed
(progress, outputs preview, logs viewer), the Runs tab, /jobs/ filters, and Cancel."""

import pytest
from playwright.sync_api import expect

from jobs.models import BatchJob, Status
from tests.conftest import sign_in
from tests.fixtures.ui import screenshot


@pytest.mark.integration
def test_create_job_with_overrides_and_output_then_watch_it(page, live_server, user, endpoint, demo_data, qcluster):
    endpoint.deployments.update(logging_level="debug")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/")
    page.get_by_role("link", name="+ Create job").click()

    assert page.get_by_label("Deployment", exact=True).input_value() == "blue"
    overridable = ("Mini batch size", "Error threshold", "Error threshold counts")
    assert not any(page.get_by_label(label, exact=True).is_visible() for label in overridable)
    page.get_by_label("Override deployment settings").check()
    assert all(page.get_by_label(label, exact=True).is_visible() for label in overridable)
    page.get_by_label("Mini batch size").fill("1")
    page.get_by_label("Datastore", exact=True).check()
    page.locator("#datastore-browser").get_by_text("demo").wait_for()  # the datastore browser
    page.get_by_label("Input path").fill("demo/iris")
    page.get_by_label("Enable output configuration").check()
    page.get_by_label("Output path").fill("results/browser")
    screenshot(page, "create-job")
    page.get_by_role("button", name="Create").click()

    page.get_by_role("status").filter(has_text="submitted").wait_for()
    page.get_by_role("link", name="Download predictions.csv").wait_for(timeout=90000)  # htmx polling until Completed
    page.get_by_text("Mini-batches: 5 done, 0 failed, 5 total").wait_for()
    page.get_by_role("table", name="First rows of predictions.csv").wait_for()
    assert page.get_by_role("button", name="Cancel").count() == 0
    page.locator("#log-viewer").get_by_text("Choose a log, or a mini-batch's Logs link, to read it here.").wait_for()
    page.get_by_role("link", name="Logs of mini-batch 0").click()
    page.locator("#log-viewer").get_by_text("logs/mini-batches/0.log").wait_for()
    expect(page.get_by_role("heading", name="logs/mini-batches/0.log")).to_be_in_viewport()  # scrolled to, not below
    expect(page.get_by_label("logs/mini-batches/0.log")).to_be_focused()
    page.locator("#log-viewer").get_by_text(
        "DEBUG files: demo/iris/iris-1.csv"
    ).wait_for()  # the logging level's output
    page.get_by_text("at the debug logging level").wait_for()
    screenshot(page, "job-page")

    job = BatchJob.objects.get()
    assert job.status == Status.COMPLETED and job.overrides == {"mini_batch_size": 1}
    assert job.output_path == "results/browser"

    page.get_by_role("link", name=f"Runs of {endpoint.name}").click()
    page.get_by_role("cell", name="Completed").wait_for()
    screenshot(page, "runs-tab")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    page.get_by_label("Status").select_option("Failed")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("No jobs match these filters.").wait_for()
    page.get_by_label("Status").select_option("Completed")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=job.name).wait_for()
    screenshot(page, "jobs")


def test_pick_the_input_in_the_datastore_browser_then_cancel_the_job(page, live_server, user, endpoint, demo_data):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/jobs/create/")
    browser = page.locator("#datastore-browser")
    browser.get_by_text("demo").click()  # expands the folder in place
    # Wait for demo's own children: other tests may have left an "iris" folder at the datastore's root too.
    demo = browser.locator('.datastore-browser[data-path="demo"]')
    demo.locator("li", has_text="iris").get_by_role("button", name="Pick").click()
    assert page.get_by_label("Input path").input_value() == "demo/iris/"
    page.get_by_role("button", name="Create").click()
    page.get_by_role("status").filter(has_text="submitted").wait_for()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))  # Cancel asks first
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("status").filter(has_text="Cancel requested").wait_for()
    assert asked and asked[0].startswith("Cancel job ") and "no output file is written" in asked[0]
    assert BatchJob.objects.get().status in (Status.CANCEL_REQUESTED, Status.CANCELED)


def _job(endpoint, name, status=Status.COMPLETED, **fields):
    deployment = endpoint.default_deployment
    return BatchJob.objects.create(
        name=name,
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment=deployment,
        deployment_name=deployment.name,
        input_uri="azureml://datastores/workspaceblobstore/paths/in",
        output_datastore="workspaceblobstore",
        output_path=f"jobs/{name}",
        status=status,
        **fields,
    )


def test_home_lists_recent_jobs_and_endpoints_and_jobs_filter_by_endpoint(
    page, live_server, user, endpoint, demo_model
):
    from endpoints.models import BatchDeployment, BatchEndpoint

    other = BatchEndpoint.objects.create(name="other-endpoint")
    other.set_default(
        BatchDeployment.objects.create(
            endpoint=other, name="red", model_name=demo_model.name, model_version=demo_model.version
        )
    )
    _job(endpoint, "batchjob-of-iris")
    _job(other, "batchjob-of-other", status=Status.FAILED)
    sign_in(page, live_server)
    page.get_by_role("link", name=endpoint.name, exact=True).wait_for()
    recent = page.get_by_role("table").filter(has_text="batchjob-of-iris")
    recent.get_by_role("link", name="batchjob-of-other").wait_for()  # Recent jobs, every endpoint's
    screenshot(page, "home")

    page.get_by_role("link", name="All jobs").click()
    page.get_by_label("Endpoint").select_option(other.name)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="batchjob-of-other").wait_for()
    assert page.get_by_role("link", name="batchjob-of-iris").count() == 0
    page.get_by_label("Status").select_option("Completed")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("No jobs match these filters.").wait_for()


def test_runs_tab_turns_pages_in_place(page, live_server, user, endpoint):
    for i in range(30):
        BatchJob.objects.create(
            name=f"batchjob-page-{i:02d}",
            endpoint=endpoint,
            endpoint_name=endpoint.name,
            deployment_name="blue",
            input_uri="x",
            output_datastore="workspaceblobstore",
            output_path=f"jobs/{i}",
            status=Status.COMPLETED,
        )
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/runs/")
    page.get_by_text("Page 1 of 2").wait_for()
    page.evaluate("window.sameDocument = true")  # gone if the browser loads a new page
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    page.get_by_text("Page 2 of 2").wait_for()
    page.get_by_role("link", name="batchjob-page-00").wait_for()  # the oldest job is on the last page
    assert page.url.endswith(f"/endpoints/{endpoint.name}/runs/?page=2")
    assert page.evaluate("window.sameDocument") is True
    page.go_back()
    page.get_by_text("Page 1 of 2").wait_for()
    page.get_by_role("link", name="batchjob-page-29").wait_for()


def test_runs_tab_follows_a_running_job_live_then_stops_polling(page, live_server, user, endpoint):
    from django.utils import timezone

    old = _job(endpoint, "batchjob-older")
    job = _job(
        endpoint, "batchjob-running", Status.RUNNING, started=timezone.now(), mini_batches_total=2, files_total=4
    )
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/runs/" in request.url else None)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/runs/")
    headers = page.get_by_role("columnheader").all_inner_texts()
    for column in ("Name", "Status", "Deployment", "Input", "Output", "Submitted", "Duration", "Progress"):
        assert column in headers
    names = page.locator("table.jobs tbody tr td:first-child").all_inner_texts()
    assert names == [job.name, old.name]  # newest first
    page.get_by_role("row").filter(has_text=job.name).get_by_text("Running", exact=True).wait_for()
    page.evaluate("window.sameDocument = true")

    BatchJob.objects.filter(pk=job.pk).update(status=Status.COMPLETED, finished=timezone.now(), mini_batches_done=2)
    row = page.get_by_role("row").filter(has_text=job.name)
    row.get_by_text("Completed", exact=True).wait_for()  # htmx polling, no reload
    row.get_by_text("100%", exact=True).wait_for()
    assert page.evaluate("window.sameDocument") is True
    seen = len(polls)
    page.wait_for_timeout(4500)  # two polling periods: nothing runs any more, so no request goes out
    assert len(polls) == seen, polls


def test_create_job_from_a_dataset_or_a_public_path(page, live_server, user, endpoint, demo_data):
    from workspace.models import Dataset, Datastore

    dataset = Dataset.objects.create(name="iris-ds", version=1, datastore=Datastore.get_default(), path="demo/iris")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/jobs/create/")
    page.get_by_label("Public path").check()
    assert not page.get_by_label("Input path").is_visible()
    page.get_by_label("Public URL").fill("http://127.0.0.1:9/data.csv")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("alert").filter(has_text="only public URLs may be read").wait_for()
    assert page.get_by_label("Public URL").input_value() == "http://127.0.0.1:9/data.csv"  # kept with the error

    page.get_by_label("Dataset", exact=True).check()
    page.get_by_label("Registered dataset").select_option(label="iris-ds:1")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("status").filter(has_text="submitted").wait_for()
    page.get_by_text("Files: 0 done, 0 failed, 5 total").wait_for()
    assert BatchJob.objects.get().input_uri == dataset.uri


def test_create_job_shows_what_the_chosen_deployment_keeps(page, live_server, user, endpoint, second_deployment):
    """Choosing green showed blue's settings as what an empty field keeps: 'As the deployment (CSV…)' for Parquet."""
    type(second_deployment).objects.filter(pk=second_deployment.pk).update(output_format="parquet", mini_batch_size=7)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/jobs/create/")
    page.get_by_label("Override deployment settings").check()
    assert page.get_by_label("Mini batch size").get_attribute("placeholder") == "2"
    page.get_by_label("Deployment", exact=True).select_option("green")
    assert page.get_by_label("Mini batch size").get_attribute("placeholder") == "7"
    assert page.get_by_label("Output format").locator("option").first.inner_text() == "As the deployment (Parquet)"
    assert page.get_by_label("Error threshold counts").locator("option").first.inner_text() == (
        "The deployment's (Failed files (Azure))"
    )


def test_a_refused_job_puts_the_keyboard_on_what_was_refused(page, live_server, user, endpoint, demo_data):
    """The focus was at the top of the page: a dozen Tabs back to the form to correct."""
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/jobs/create/")
    page.get_by_label("Input path").fill("demo/nope")
    page.get_by_label("Input path").press("Enter")
    page.locator(".field-input_path").get_by_role("alert").filter(has_text="does not exist in the datastore").wait_for()
    expect(page.get_by_label("Input path")).to_be_focused()  # the field the refusal is about, its value kept
    assert page.get_by_label("Input path").input_value() == "demo/nope"
