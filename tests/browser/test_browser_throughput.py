"""Live throughput and ETA: the job page's chart and ETA refresh by htmx polling and the ETA goes away once the
job finishes; the Runs tab shows the running job's ETA and chart."""

from datetime import timedelta

from django.utils import timezone

from jobs.models import BatchJob, MiniBatch, Status
from tests.conftest import sign_in
from tests.fixtures.ui import screenshot


def _running_job(endpoint):
    now = timezone.now()
    job = BatchJob.objects.create(
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri="x",
        output_datastore="workspaceblobstore",
        output_path="jobs/live",
        status=Status.RUNNING,
        started=now - timedelta(seconds=60),
        mini_batches_total=6,
        mini_batches_done=3,
        rows_out=300,
        settings={"output_file_name": "predictions.csv"},
    )
    for i, rows in enumerate((60, 100, 140)):
        MiniBatch.objects.create(
            job=job,
            index=i,
            status=MiniBatch.COMPLETED,
            rows_out=rows,
            started=now - timedelta(seconds=60 - 20 * i),
            finished=now - timedelta(seconds=40 - 20 * i),
        )
    return job


def test_throughput_chart_and_eta_while_running_then_gone_when_finished(page, live_server, user, endpoint):
    job = _running_job(endpoint)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/runs/")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=job.name))
    row.get_by_text("ETA").wait_for()
    row.get_by_role("img", name=f"Throughput of {job.name}").wait_for()

    page.get_by_role("link", name=job.name).click()
    chart = page.get_by_role("img", name=f"Throughput of {job.name}")
    chart.wait_for()
    assert page.locator("dt", has_text="ETA").count() == 1
    assert page.locator("dt", has_text="ETA").locator("+ dd").inner_text() == "1 min"  # 300 rows left at 5 rows/s
    screenshot(page, "job-throughput")

    BatchJob.objects.filter(pk=job.pk).update(
        status=Status.COMPLETED, finished=timezone.now(), mini_batches_done=6, rows_out=600
    )
    page.get_by_text("Mini-batches: 6 done, 0 failed, 6 total").wait_for()  # the polling picked it up
    assert page.locator("dt", has_text="ETA").count() == 0
    chart.wait_for()  # the chart stays, over the whole run
    polls = []
    page.on("request", lambda request: polls.append(request.url) if f"/jobs/{job.name}/" in request.url else None)
    page.wait_for_timeout(5000)  # htmx polls every 2 s while the job runs
    assert polls == []  # and stops once it has finished
