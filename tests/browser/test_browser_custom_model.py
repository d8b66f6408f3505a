"""A model that is not an MLflow model, end to end in the browser: register it (Model type Custom) on the Models
page, Deploy to batch endpoint with an Azure-style scoring script and a new environment, which a worker builds
while the deployment shows Creating; then + Create job, and the predictions appear on the job page."""

import pytest

from jobs.models import BatchJob, Environment, Status
from tests.conftest import sign_in, wait_for
from tests.fixtures.ui import JOBLIB_SCORE, joblib_model_file, screenshot

pytestmark = pytest.mark.integration


def _next(page):
    page.get_by_role("button", name="Next").click()


def test_a_custom_model_is_deployed_with_a_scoring_script_and_scores_files(
    page, live_server, user, demo_model, demo_data, qcluster, tmp_path
):
    sign_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    page.get_by_role("link", name="+ Register").click()
    page.get_by_label("Name").fill("iris-scripted")
    page.get_by_label("Custom").check()
    page.get_by_label("Model file or folder (.zip)").set_input_files(joblib_model_file(tmp_path))
    page.get_by_role("button", name="Register").click()
    # the registry lives for the whole session: a name no other test registers, so this is version 1;
    # the first registration of a process opens the MLflow registry: slow on a loaded machine
    page.get_by_role("status").filter(has_text="Registered iris-scripted:1").wait_for(timeout=120_000)
    page.locator("dl.attrs").get_by_text("Custom", exact=True).wait_for()

    page.get_by_role("link", name="Deploy to batch endpoint").click()
    page.get_by_label("Endpoint name").fill("iris-custom")
    _next(page)
    assert page.get_by_label("Model").input_value() == "iris-scripted:1"
    _next(page)
    page.get_by_label("Deployment name").fill("blue")
    page.get_by_label("Mini batch size").fill("2")
    _next(page)

    page.get_by_role("heading", name="Code + environment").wait_for()
    page.get_by_label("Code", exact=True).set_input_files(
        files=[{"name": "score.py", "mimeType": "text/x-python", "buffer": JOBLIB_SCORE}]
    )
    assert page.get_by_label("Registered environment").input_value() == "studio:1"
    page.get_by_label("Create a new environment").check()
    assert not page.get_by_label("Registered environment").is_visible()
    page.get_by_label("Environment name").fill("iris-joblib-env")
    page.get_by_label("Pip requirements").fill("joblib\nscikit-learn")  # already there: the build takes seconds
    screenshot(page, "create-wizard-code-environment")
    _next(page)
    page.get_by_role("button", name="Back").click()  # Back keeps the upload and the environment
    page.get_by_text("Uploaded: score.py").wait_for()
    assert page.get_by_label("Environment name").input_value() == "iris-joblib-env"
    _next(page)
    _next(page)

    page.get_by_role("heading", name="Review").wait_for()
    page.get_by_text("score.py").wait_for()
    page.get_by_text("Create a new environment").wait_for()
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="iris-custom").wait_for()
    row = page.get_by_role("row").filter(has_text="iris-joblib-env")
    row.get_by_text("iris-joblib-env:1").wait_for()
    row.get_by_text("Succeeded").wait_for(timeout=120000)  # htmx refreshes the table until the build is done
    env = Environment.objects.get(name="iris-joblib-env")
    assert env.state == Environment.READY, env.build_log
    row.get_by_role("link", name="Environment iris-joblib-env:1: Ready, build log").click()
    page.get_by_label("Build log").get_by_text("Requirement already satisfied: joblib").wait_for()
    page.go_back()

    page.get_by_role("link", name="+ Create job").click()
    page.get_by_label("Input path").fill("demo/iris")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("status").filter(has_text="submitted").wait_for()
    page.get_by_role("link", name="Download predictions.csv").wait_for(timeout=120000)
    preview = page.get_by_role("table", name="First rows of predictions.csv")
    preview.get_by_role("columnheader", name="prediction").wait_for()
    preview.get_by_role("cell", name="iris-1.csv").first.wait_for()
    job = wait_for(lambda: BatchJob.objects.filter(finished__isnull=False).first(), message="the job to finish")
    assert job.status == Status.COMPLETED, (
        job.status,
        job.error,
        job.input_skipped,
        list(job.mini_batches.values("files", "file_errors")),
    )
    assert (job.rows_out, job.environment, job.scoring_script) == (150, "iris-joblib-env:1", "score.py")
