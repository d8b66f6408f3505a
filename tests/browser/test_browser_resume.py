"""Retry failed and Completed with errors in the browser: a Failed job's Retry failed button starts a linked job
that Completes; a job with bad rows shows Completed with errors and its errors.csv."""

import pytest

from jobs.models import BatchJob, Status
from jobs.submit import submit_job
from tests.conftest import sign_in, wait_for
from tests.fixtures.resume import input_frames, write_frames
from tests.fixtures.ui import screenshot

pytestmark = pytest.mark.integration


def finished(job, qcluster):
    wait_for(
        lambda: BatchJob.objects.get(pk=job.pk).is_finished, timeout=180, message=lambda: qcluster.output()[-3000:]
    )
    job.refresh_from_db()
    return job


def test_retry_failed_starts_a_linked_job_that_completes(page, live_server, user, picky_endpoint, picky_flag, qcluster):
    picky_flag.touch()
    job = finished(
        submit_job(
            picky_endpoint,
            input_uri=write_frames("browser/retry", input_frames(files=6)),
            overrides={"error_threshold": 0},
        ),
        qcluster,
    )
    picky_flag.unlink()
    assert job.status == Status.FAILED, job.error

    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{picky_endpoint.name}/runs/")
    page.get_by_role("button", name=f"Retry failed: {job.name}").wait_for()  # also offered in the Runs tab
    page.get_by_role("link", name=job.name).click()
    page.get_by_text("above the error threshold of 0").wait_for()
    page.get_by_role("button", name="Retry failed").click()

    page.get_by_role("status").filter(has_text=f"it retries {job.name}").wait_for()
    page.get_by_role("link", name="Download predictions.csv").wait_for(timeout=120000)  # htmx polling until Completed
    page.locator("#job-status dl.attrs").get_by_text("Completed", exact=True).wait_for()  # the job's Status
    assert page.get_by_text("(reused)").count() == 3  # the mini-batches that had succeeded did not run again
    screenshot(page, "job-retry")
    retry = BatchJob.objects.get(retry_of=job)
    assert retry.status == Status.COMPLETED and retry.rows_out == 36

    page.get_by_role("link", name=job.name).click()  # "Retry of <first job>"
    page.get_by_text(f"Retried by {retry.name}").wait_for()
    assert page.get_by_role("button", name="Retry failed").count() == 0


def test_a_job_with_bad_rows_shows_completed_with_errors_and_its_errors_file(
    page, live_server, user, picky_endpoint, qcluster
):
    job = finished(
        submit_job(picky_endpoint, input_uri=write_frames("browser/bad", input_frames(bad={1: [2]}))), qcluster
    )
    assert job.status == Status.COMPLETED_WITH_ERRORS, job.error

    sign_in(page, live_server)
    page.goto(f"{live_server.url}{job.get_absolute_url()}")
    page.locator("#job-status dl.attrs").get_by_text("Completed with errors", exact=True).wait_for()
    page.get_by_text("1 row set aside in 1 file (see errors.csv)").wait_for()
    errors = page.get_by_role("table", name="Rows and files set aside, from errors.csv")
    errors.get_by_role("cell", name="x must not be negative", exact=False).wait_for()
    assert errors.get_by_role("columnheader").all_inner_texts() == ["file", "row", "error_type", "message"]
    page.get_by_role("link", name="Download errors.csv").wait_for()
    screenshot(page, "job-completed-with-errors")

    page.get_by_role("link", name=f"Runs of {picky_endpoint.name}").click()
    page.get_by_role("cell", name="Completed with errors", exact=True).wait_for()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    page.get_by_label("Status").select_option("Completed with errors")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=job.name).wait_for()


def test_a_job_failed_on_its_threshold_is_retried_with_another_one(page, live_server, user, picky_endpoint, qcluster):
    job = finished(
        submit_job(
            picky_endpoint,
            input_uri=write_frames("browser/dirty", input_frames(bad={1: [2], 2: [0]})),
            overrides={"error_threshold": 0, "error_threshold_unit": "rows"},
        ),
        qcluster,
    )
    assert job.status == Status.FAILED and job.failed_on_threshold, job.error

    sign_in(page, live_server)
    page.goto(f"{live_server.url}{job.get_absolute_url()}")
    page.get_by_text("with the same threshold it would fail the same way").wait_for()  # opened for a threshold failure
    assert page.get_by_label("Error threshold", exact=True).input_value() == "0"
    page.get_by_label("Error threshold", exact=True).fill("2")
    page.get_by_label("Error threshold counts").select_option("Failed rows")
    page.get_by_role("button", name="Retry with this threshold").click()

    page.get_by_role("status").filter(has_text=f"it retries {job.name}").wait_for()
    page.locator("#job-status dl.attrs").get_by_text("Completed with errors", exact=True).wait_for(timeout=120000)
    page.get_by_text("2 rows set aside in 2 files (see errors.csv)").wait_for()
    retry = BatchJob.objects.get(retry_of=job)
    assert retry.settings["error_threshold"] == 2 and retry.rows_out == 22
