"""The job page at real size, in headless Chromium: a job whose every file failed reads as failed (not a full blue
bar), 500 mini-batches sorted by duration, and the failed files searched by name or message."""

import io
from datetime import timedelta

from django.utils import timezone
from PIL import Image

from jobs.models import BatchJob, MiniBatch, Status
from tests.conftest import sign_in
from tests.fixtures.ui import screenshot


def _middle_colour(locator) -> tuple:
    """The colour the user sees in the middle of an element (a progress bar's value is drawn by the browser)."""
    image = Image.open(io.BytesIO(locator.screenshot())).convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))


def _job(endpoint, name, status, mini_batches, files_failed):
    now = timezone.now()
    deployment = endpoint.default_deployment
    job = BatchJob.objects.create(
        name=name,
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment=deployment,
        deployment_name=deployment.name,
        model_uri=f"models:/{deployment.model_name}/{deployment.model_version}",
        compute=deployment.compute,
        input_uri="azureml://datastores/workspaceblobstore/paths/big/",
        output_datastore="workspaceblobstore",
        output_path=f"jobs/{name}",
        status=status,
        started=now - timedelta(minutes=5),
        finished=now,
        files_total=mini_batches,
        files_failed=files_failed,
        mini_batches_total=mini_batches,
        mini_batches_done=mini_batches,
        rows_out=100 * (mini_batches - files_failed),
        settings={**deployment.effective_settings({}), "mini_batch_size": 1},
    )
    return job


def test_a_job_whose_every_file_failed_shows_a_failed_bar_not_a_full_blue_one(page, live_server, user, endpoint):
    job = _job(endpoint, "all-failed", Status.FAILED, 3, files_failed=3)
    MiniBatch.objects.bulk_create(
        MiniBatch(
            job=job,
            index=i,
            files=[f"f{i}.csv"],
            status=MiniBatch.COMPLETED,
            attempts=1,
            files_failed=1,
            file_errors=[{"file": f"f{i}.csv", "type": "SchemaMismatch", "message": "missing column 'petal_width'"}],
        )
        for i in range(3)
    )
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/jobs/{job.name}/")
    bar = page.get_by_role("progressbar", name="Progress: every file failed")
    bar.wait_for()
    assert "outcome-failed" in bar.get_attribute("class")
    page.get_by_text("every file failed", exact=True).wait_for()  # said in words, not in colour only
    assert _middle_colour(bar) == (164, 38, 44)  # the Studio's red, as the Failed status dot

    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/runs/")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=job.name))
    row.get_by_role("progressbar", name="Progress: every file failed").wait_for()


def _big_job(endpoint):
    """500 mini-batches of one file each: one slow, and 42 with a failed file."""
    job = _job(endpoint, "five-hundred", Status.COMPLETED_WITH_ERRORS, 500, files_failed=42)
    MiniBatch.objects.bulk_create(
        MiniBatch(
            job=job,
            index=i,
            files=[f"part-{i:04d}.csv"],
            status=MiniBatch.COMPLETED,
            attempts=1,
            rows_out=0 if i % 12 == 5 else 100,
            seconds=42.5 if i == 317 else 0.5 + (i % 7) / 10,
            files_failed=1 if i % 12 == 5 else 0,
            file_errors=(
                [{"file": f"part-{i:04d}.csv", "type": "SchemaMismatch", "message": f"column 'sepal_length' row {i}"}]
                if i % 12 == 5
                else []
            ),
        )
        for i in range(500)
    )
    MiniBatch.objects.filter(job=job, index=437).update(
        file_errors=[{"file": "part-0437.csv", "type": "ValueError", "message": "could not convert 'abc' to float"}],
        files_failed=1,
    )
    return job


def test_five_hundred_mini_batches_sort_by_duration(page, live_server, user, endpoint):
    job = _big_job(endpoint)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/jobs/{job.name}/")
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Attempts"))
    page.get_by_text("Page 1 of 10").wait_for()
    screenshot(page, "job-page-500-mini-batches")

    table.get_by_role("link", name="Seconds").click()
    page.get_by_role("columnheader", name="Seconds ▼").wait_for()
    first = table.get_by_role("row").nth(1)
    assert first.get_by_role("cell").first.inner_text() == "317"  # the slowest first
    assert "42.50" in first.inner_text()
    assert "sort=duration" in page.url  # a link to share, and Back works
    page.get_by_role("link", name="Next").click()
    page.get_by_text("Page 2 of 10").wait_for()
    assert table.get_by_role("columnheader", name="Seconds ▼").count() == 1  # still sorted on the next page

    table.get_by_role("link", name="Seconds ▼").click()  # back to index order
    page.get_by_role("columnheader", name="Seconds", exact=True).wait_for()
    assert table.get_by_role("row").nth(1).get_by_role("cell").first.inner_text() == "0"


def test_the_failed_files_are_searchable_with_their_errors(page, live_server, user, endpoint):
    job = _big_job(endpoint)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/jobs/{job.name}/")
    errors = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Message"))
    page.get_by_text("42 errors").wait_for()  # 42 failed files, each with its error
    search = page.get_by_role("search", name="Errors")
    search.get_by_label("Search errors").fill("could not convert")
    search.get_by_role("button", name="Search").click()
    page.get_by_text("1 error matches “could not convert”").wait_for()
    rows = errors.get_by_role("row")
    assert rows.count() == 2  # the header and part-0437.csv
    assert "part-0437.csv" in rows.nth(1).inner_text() and "ValueError" in rows.nth(1).inner_text()

    search.get_by_label("Search errors").fill("PART-0485")  # a file name, case aside
    search.get_by_role("button", name="Search").click()
    page.get_by_text("1 error matches “PART-0485”").wait_for()
    assert "column 'sepal_length' row 485" in errors.inner_text()

    search.get_by_label("Search errors").fill("nothing like this")
    search.get_by_role("button", name="Search").click()
    page.get_by_text("0 errors match “nothing like this”").wait_for()
    page.get_by_role("link", name="Clear").click()
    page.get_by_text("42 errors").wait_for()
