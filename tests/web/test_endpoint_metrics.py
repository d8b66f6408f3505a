"""The endpoint's Metrics tab: duration, rows scored and failed files of its last finished jobs, as bar charts with
their scale and data tables."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import BatchJob, Status
from jobs.web import charts


def test_bars_scale_the_tallest_to_the_top_and_read_their_values():
    drawn = charts.bars([("a", 10), ("b", 5), ("c", 0)], "s", width=30, height=12)
    assert [(b.x, b.y, b.width, b.height) for b in drawn["bars"]] == [
        (1.0, 2.0, 8.0, 10.0),
        (11.0, 7.0, 8.0, 5.0),
        (21.0, 12.0, 8.0, 0.0),
    ]
    assert drawn["top"] == "10 s" and [b.text for b in drawn["bars"]] == ["10 s", "5 s", "0 s"]
    assert charts.bars([("a", 0)], "s") is None and charts.bars([], "s") is None
    assert charts.reading(1234.5, "rows") == "1,234 rows" and charts.reading(2.25, "%") == "2.2 %"


def _job(endpoint, i, status, seconds, rows, files_failed=0, files_total=10, deployment="blue"):
    end = timezone.now() - timedelta(minutes=60 - i)
    return BatchJob.objects.create(
        name=f"metric-job-{i}",
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name=deployment,
        input_uri="x",
        output_datastore="workspaceblobstore",
        output_path=f"jobs/m{i}",
        status=status,
        started=end - timedelta(seconds=seconds),
        finished=end,
        rows_out=rows,
        files_total=files_total,
        files_failed=files_failed,
        settings={"output_file_name": "predictions.csv"},
    )


@pytest.mark.django_db
def test_the_metrics_tab_charts_the_last_finished_jobs(signed_in, endpoint):
    _job(endpoint, 1, Status.COMPLETED, 12, 150)
    _job(endpoint, 2, Status.COMPLETED_WITH_ERRORS, 30, 120, files_failed=2)
    _job(endpoint, 3, Status.FAILED, 4, 0, files_failed=10)
    BatchJob.objects.create(  # still running: not charted
        name="metric-running",
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri="x",
        output_datastore="workspaceblobstore",
        output_path="jobs/r",
        status=Status.RUNNING,
        started=timezone.now(),
        settings={},
    )
    page = signed_in.get(f"/endpoints/{endpoint.name}/metrics/").content.decode()
    assert 'aria-current="page">Metrics</a>' in page
    assert "The last 3 finished jobs, oldest on the left:" in page
    assert "1 Completed" in page and "1 Completed with errors" in page and "1 Failed" in page
    for title, top in (("Duration", "30 s"), ("Rows scored", "150 rows"), ("Failed files", "100 %")):
        assert f"{title} of the last 3 jobs, up to {top}</title>" in page
    assert "<title>metric-job-2: 30 s</title>" in page and "<title>metric-job-2: 20 %</title>" in page
    assert page.index("metric-job-1: 12 s") < page.index("metric-job-3: 4 s")  # oldest on the left
    assert "metric-running" not in page
    assert '<a href="/jobs/metric-job-3/">metric-job-3</a>' in page  # the data table links each job


@pytest.mark.django_db
def test_the_metrics_tab_charts_one_deployment_when_asked(signed_in, endpoint):
    _job(endpoint, 1, Status.COMPLETED, 12, 150)
    _job(endpoint, 2, Status.COMPLETED, 40, 90, deployment="green")
    url = f"/endpoints/{endpoint.name}/metrics/"
    page = signed_in.get(url).content.decode()
    assert '<label for="metrics-deployment">Deployment</label>' in page
    assert '<option value="">All deployments</option>' in page and '<option value="green">green</option>' in page
    assert "The last 2 finished jobs, oldest on the left:" in page

    green = signed_in.get(url, {"deployment": "green"}).content.decode()
    assert "The last 1 finished job of deployment green, oldest on the left:" in green
    assert "metric-job-2: 40 s" in green and "metric-job-1" not in green
    assert '<option value="green" selected>green</option>' in green
    gone = signed_in.get(url, {"deployment": "red"}).content.decode()
    assert "No finished jobs yet on deployment red" in gone


@pytest.mark.django_db
def test_the_metrics_tab_without_finished_jobs_says_so(signed_in, endpoint):
    page = signed_in.get(f"/endpoints/{endpoint.name}/metrics/").content.decode()
    assert "No finished jobs yet" in page and "<svg" not in page


@pytest.mark.browser
def test_the_metrics_tab_in_chromium(page, live_server, user, endpoint):
    from tests.conftest import sign_in
    from tests.fixtures.ui import screenshot

    for i in range(1, 13):
        _job(
            endpoint,
            i,
            Status.COMPLETED if i % 4 else Status.COMPLETED_WITH_ERRORS,
            5 + i % 5,
            150 * (1 + i % 3),
            files_failed=0 if i % 4 else 1,
        )
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/")
    page.get_by_role("navigation", name="Endpoint").get_by_role("link", name="Metrics").click()
    page.get_by_role("heading", name="Duration").wait_for()
    page.get_by_role("img", name="Rows scored of the last 12 jobs, up to 450 rows").wait_for()
    screenshot(page, "endpoint-metrics")
    page.get_by_text("Data table").first.click()
    page.get_by_role("table", name="Duration by job").get_by_role("link", name="metric-job-12").click()
    page.get_by_role("heading", name="metric-job-12").wait_for()
