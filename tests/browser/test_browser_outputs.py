"""+ Create job's output options (format, passthrough columns, manifest) and its Preview (dry run), in Chromium."""

import pytest

from jobs.models import BatchJob, Status
from tests.conftest import sign_in
from tests.fixtures.ui import screenshot
from tests.jobs.test_outputs import iris_with_ids

pytestmark = pytest.mark.integration


def _open_create_job(page, live_server, endpoint, input_path):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/jobs/create/")
    page.get_by_label("Datastore", exact=True).check()
    page.get_by_label("Input path").fill(input_path)


def test_a_job_with_parquet_output_a_passthrough_key_and_a_manifest(page, live_server, user, endpoint, qcluster):
    iris_with_ids("keyed-2", files=2)
    _open_create_job(page, live_server, endpoint, "keyed-2")
    page.get_by_label("Output format").select_option(label="Parquet")
    page.get_by_label("Passthrough columns").fill("id")
    page.get_by_label("Manifest").select_option(label="Write _SUCCESS and manifest.json")
    page.get_by_role("button", name="Create").click()

    page.get_by_role("link", name="Download predictions.parquet").wait_for(timeout=120000)
    table = page.get_by_role("table", name="First rows of predictions.parquet")
    assert table.get_by_role("columnheader").all_inner_texts() == ["row", "id", "prediction", "file_name"]
    table.get_by_role("cell", name="k0-0", exact=True).wait_for()
    page.get_by_role("link", name="Download manifest.json").wait_for()
    page.get_by_role("link", name="Download _SUCCESS").wait_for()
    job = BatchJob.objects.get()
    assert job.status == Status.COMPLETED
    assert job.overrides == {"output_format": "parquet", "passthrough_columns": ["id"], "write_manifest": True}
    with page.expect_download() as download:
        page.get_by_role("link", name="Download manifest.json").click()
    assert b'"rows": 20' in open(download.value.path(), "rb").read()


def test_preview_shows_the_schema_check_predictions_and_an_estimate(
    page, live_server, user, endpoint, demo_data, qcluster
):
    _open_create_job(page, live_server, endpoint, "demo/iris")
    page.get_by_role("button", name="Preview").click()

    schema = page.get_by_role("table", name="Schema check of iris-1.csv")
    schema.wait_for(timeout=120000)  # htmx polls the preview until the worker has scored the sample
    assert schema.get_by_role("row").filter(has_text="petal width (cm)").get_by_role("cell", name="ok").count() == 1
    page.get_by_role("table", name="Predictions for the first rows (60 scored)").wait_for()
    page.get_by_text("Estimated duration").wait_for()
    page.get_by_text("rows in 5 files, at the measured").wait_for()
    screenshot(page, "job-preview")
    assert not BatchJob.objects.exists()

    page.get_by_role("link", name="Open this preview").click()  # the preview's own page, readable without htmx
    page.get_by_role("table", name="Schema check of iris-1.csv").wait_for()
