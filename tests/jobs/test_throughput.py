"""jobs/throughput.py: rows/s series bins, the current rate, the ETA, the chart; and what the job page and the
Runs tab show from them."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs import throughput
from jobs.models import BatchJob, MiniBatch, Status
from jobs.throughput import Span

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def job_like(status=Status.RUNNING, started=T0, finished=None, done=0, failed=0, total=10, rows=0):
    return SimpleNamespace(
        status=status,
        started=started,
        finished=finished,
        mini_batches_done=done,
        mini_batches_failed=failed,
        mini_batches_total=total,
        rows_out=rows,
        is_finished=status in (Status.COMPLETED, Status.FAILED, Status.CANCELED),
        retry_of_id=None,
    )


def test_series_spreads_each_mini_batch_over_the_time_it_ran():
    # 100 rows over 0-10 s, 60 rows over 10-20 s (bins of 10 s): 10 rows/s then 6 rows/s, nothing after.
    values, width = throughput.series([Span(at(0), at(10), 100), Span(at(10), at(20), 60)], at(0), at(30), bins=3)
    assert width == 10
    assert values == pytest.approx([10, 6, 0])


def test_a_running_job_s_chart_ends_at_its_last_finished_mini_batch_not_in_a_fall_to_zero():
    # 10 rows/s steadily for 40 s, then one mini-batch running for 5 s: its rows are not known yet. The chart ends at
    # 40 s (steady to its right edge); the current rate, measured to now, is what shows a stall.
    spans = [Span(at(i), at(i + 4), 40) for i in range(0, 40, 4)]
    shown = throughput.measure(job_like(done=10, total=20, rows=400), spans, now=at(45))
    assert shown.series == pytest.approx([10] * throughput.BINS)
    assert shown.bin_seconds == pytest.approx(40 / throughput.BINS)
    assert shown.rate < 10


def test_series_splits_a_mini_batch_across_bins_and_adds_concurrent_ones():
    # 40 rows over 5-15 s: half in each of the first two bins; a concurrent 20 rows over 0-10 s in the first.
    values, _ = throughput.series([Span(at(5), at(15), 40), Span(at(0), at(10), 20)], at(0), at(20), bins=2)
    assert values == pytest.approx([(20 + 20) / 10, 20 / 10])
    assert sum(v * 10 for v in values) == pytest.approx(60)  # every row counted once


def test_series_of_an_instant_mini_batch_and_of_an_empty_span():
    values, _ = throughput.series([Span(at(3), at(3), 7)], at(0), at(10), bins=2)
    assert values == pytest.approx([7 / 5, 0])
    assert throughput.series([], at(0), at(0)) == ([], 0)


def test_current_rate_is_over_the_last_mini_batches_up_to_now_while_running():
    old = [Span(at(0), at(100), 10)]  # slow start, outside the last 2
    recent = [Span(at(100), at(110), 50), Span(at(110), at(120), 50)]
    assert throughput.current_rate(old + recent, at(120), running=True, recent=2) == pytest.approx(100 / 20)
    # a stall lowers the rate: 30 s later with nothing new
    assert throughput.current_rate(old + recent, at(150), running=True, recent=2) == pytest.approx(100 / 50)
    # once finished: up to the last mini-batch's end
    assert throughput.current_rate(old + recent, at(150), running=False, recent=2) == pytest.approx(100 / 20)
    assert throughput.current_rate([], at(10), running=True) is None


def test_current_rate_holds_with_many_mini_batches_running_at_once():
    # 8 at once, 10 s and 100 rows each, one starting every 1.25 s: 80 rows/s (the earliest start of the last 10
    # finished read 1000 rows over 21.25 s: 47 rows/s, an ETA 70 % too long).
    spans = [Span(at(i * 1.25), at(i * 1.25 + 10), 100) for i in range(40)]
    assert throughput.current_rate(spans, spans[-1].finished, running=True) == pytest.approx(80)


def test_eta_is_the_remaining_rows_at_the_current_rate():
    # 4 of 10 mini-batches done with 400 rows (100 a mini-batch), 1 failed: 5 remain, 500 rows at 5 rows/s.
    job = job_like(done=4, failed=1, total=10, rows=400)
    assert throughput.eta_seconds(job, 5.0) == pytest.approx(100)
    assert throughput.eta_seconds(job_like(done=0), 5.0) is None  # before the first mini-batch
    assert throughput.eta_seconds(job_like(status=Status.COMPLETED, done=10, rows=10), 5.0) is None
    assert throughput.eta_seconds(job, None) is None


@pytest.mark.parametrize(
    "seconds,text", [(0.2, "less than 1 s"), (42, "42 s"), (100, "2 min"), (3900, "1 h 5 min"), (7200, "2 h")]
)
def test_humanize(seconds, text):
    assert throughput.humanize(seconds) == text


def test_measure_while_running_and_once_finished():
    spans = [Span(at(0), at(30), 300), Span(at(30), at(60), 300)]
    running = throughput.measure(job_like(done=2, total=4, rows=600), spans, now=at(60), bins=6)
    assert running.rate == pytest.approx(10)
    assert running.eta == "1 min" and running.eta_seconds == pytest.approx(60)
    assert running.series == pytest.approx([10] * 6) and running.chart["peak"] == pytest.approx(10)
    done = throughput.measure(
        job_like(Status.COMPLETED, finished=at(80), done=2, total=2, rows=600), spans, now=at(500)
    )
    assert done.eta_seconds is None and done.eta == ""
    # once finished: the rate while scoring (0-60 s), and the run's average (80 s: start-up and joining included)
    assert done.rate == pytest.approx(600 / 60) and done.average == pytest.approx(600 / 80) and done.differs
    assert throughput.measure(job_like(started=None), [], now=at(5)).rate is None  # not started: "—"
    assert running.steps == "in 6 steps of 10 s; peak 10.0 rows/s, now 10.0 rows/s"
    quick = throughput.measure(
        job_like(Status.COMPLETED, finished=at(1.8), done=1, total=1, rows=90), [Span(at(0), at(1.8), 90)], now=at(2)
    )
    assert quick.steps.startswith("in 30 steps of 0.06 s;")  # a job of under a minute: not "steps of 0 s"


def test_rates_read_in_whole_rows_grouped_from_100_on():
    assert throughput.per_second(8) == "8.0 rows/s" and throughput.per_second(99.94) == "99.9 rows/s"
    assert throughput.per_second(1370806.8) == "1,370,807 rows/s"
    fast = throughput.measure(
        job_like(Status.COMPLETED, finished=at(2), done=1, total=1, rows=2_000_000),
        [Span(at(0), at(2), 2_000_000)],
        now=at(3),
    )
    assert fast.rate_text == "1,000,000 rows/s" and fast.steps.endswith("peak 1,000,000 rows/s, now 1,000,000 rows/s")


def test_chart_draws_a_step_line_scaled_to_the_box():
    drawn = throughput.chart([0, 5, 10], width=30, height=12)
    assert drawn["points"] == "0.0,12.0 10.0,12.0 10.0,7.0 20.0,7.0 20.0,2.0 30.0,2.0"
    assert drawn["area"].startswith("0,12 ") and drawn["area"].endswith(" 30,12")
    assert throughput.chart([0, 0]) is None and throughput.chart([]) is None


def _job(endpoint, i, status, started=None, done=0):
    return BatchJob.objects.create(
        name=f"job-{i}",
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri="x",
        output_datastore="workspaceblobstore",
        output_path=f"jobs/{i}",
        status=status,
        started=started,
        mini_batches_total=4,
        mini_batches_done=done,
        rows_out=100 * done,
        settings={"output_file_name": "predictions.csv"},
    )


def _finished_batches(job, count, now):
    for i in range(count):
        MiniBatch.objects.create(
            job=job,
            index=i,
            status=MiniBatch.COMPLETED,
            rows_out=100,
            started=now - timedelta(seconds=40 - 20 * i),
            finished=now - timedelta(seconds=20 - 20 * i),
        )


@pytest.mark.django_db
def test_job_page_shows_rate_eta_and_an_accessible_chart(signed_in, endpoint):
    from django.utils import timezone

    now = timezone.now()
    job = _job(endpoint, 1, Status.RUNNING, started=now - timedelta(seconds=40), done=2)
    _finished_batches(job, 2, now)
    MiniBatch.objects.create(job=job, index=2, status=MiniBatch.RUNNING, started=now)
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert "rows/s now" in page and "<dt>ETA</dt><dd>" in page and "<dd>ETA " not in page
    assert 'role="img"' in page and f'<title id="throughput-title">Throughput of {job.name}</title>' in page
    assert "Rows per second over the whole run" in page
    fragment = signed_in.get(f"/jobs/{job.name}/", headers={"HX-Request": "true", "HX-Target": "job-status"})
    assert fragment.status_code == 200 and "<dt>ETA</dt><dd>" in fragment.content.decode()


@pytest.mark.django_db
def test_job_page_before_the_first_mini_batch_shows_a_dash(signed_in, endpoint):
    job = _job(endpoint, 1, Status.QUEUED)
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert "<dt>ETA</dt><dd>—</dd>" in page and "<dt>Throughput</dt><dd>—</dd>" in page
    assert "<svg" not in page


@pytest.mark.django_db
def test_job_page_while_finalizing_says_the_output_is_being_joined(signed_in, endpoint):
    from django.utils import timezone

    now = timezone.now()
    job = _job(endpoint, 1, Status.FINALIZING, started=now - timedelta(seconds=40), done=2)
    _finished_batches(job, 2, now)
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert "<dt>ETA</dt><dd>every mini-batch is scored: joining the output</dd>" in page  # not "less than 1 s"


@pytest.mark.django_db
def test_runs_tab_shows_eta_of_running_jobs_in_one_extra_query(signed_in, endpoint):
    from django.utils import timezone

    now = timezone.now()
    running = _job(endpoint, 1, Status.RUNNING, started=now - timedelta(seconds=40), done=2)
    _finished_batches(running, 2, now)
    finished = _job(endpoint, 2, Status.COMPLETED, started=now - timedelta(seconds=100), done=4)
    finished.finished = now - timedelta(seconds=50)
    finished.save()
    page = signed_in.get(f"/endpoints/{endpoint.name}/runs/").content.decode()
    assert "ETA " in page and f"Throughput of {running.name}" in page
    assert "8.0 rows/s" in page, page[page.find("<table") :]  # the finished job's average: 400 rows in 50 s
    assert f"Throughput of {finished.name}" not in page

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            signed_in.get(f"/endpoints/{endpoint.name}/runs/")
        return len(ctx.captured_queries)

    with_live = queries()
    running.status = Status.COMPLETED
    running.finished = now
    running.save()
    assert queries() == with_live - 1  # the running jobs' mini-batches: one query, only while some run


def _retry_with_reused_batches(endpoint, now):
    """A Retry failed job started 40 s ago: 6 mini-batches of 100 rows reused from its first job (which ran them
    10 minutes earlier; Completed without an attempt here), and 2 of its own of 100 rows in 20 s each."""
    first = _job(endpoint, 1, Status.CANCELED, started=now - timedelta(minutes=12))
    retry = BatchJob.objects.create(
        name="job-retry",
        retry_of=first,
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri="x",
        output_datastore="workspaceblobstore",
        output_path="jobs/retry",
        status=Status.RUNNING,
        started=now - timedelta(seconds=40),
        mini_batches_total=10,
        mini_batches_done=8,
        rows_out=800,
        settings={"output_file_name": "predictions.csv"},
    )
    for i in range(6):
        MiniBatch.objects.create(
            job=retry,
            index=i,
            status=MiniBatch.COMPLETED,
            rows_out=100,
            staging=f"kept/{i}.csv",
            started=now - timedelta(minutes=11, seconds=-10 * i),
            finished=now - timedelta(minutes=11, seconds=-10 * i - 10),
        )
    for i in range(2):
        MiniBatch.objects.create(
            job=retry,
            index=6 + i,
            status=MiniBatch.COMPLETED,
            rows_out=100,
            attempts=1,
            staging=f"staging/{i}.csv",
            started=now - timedelta(seconds=40 - 20 * i),
            finished=now - timedelta(seconds=20 - 20 * i),
        )
    return retry


@pytest.mark.django_db
def test_a_retrys_throughput_and_eta_leave_out_the_mini_batches_it_reused(signed_in, endpoint):
    from django.utils import timezone

    now = timezone.now()
    retry = _retry_with_reused_batches(endpoint, now)
    shown = throughput.measure(retry, throughput.load([retry.pk])[retry.pk], now)
    assert shown.rate == pytest.approx(5, rel=0.05)  # 200 rows in its 40 s, not 800, nor back into the first job's run
    assert shown.average == pytest.approx(5, rel=0.05)
    assert shown.eta_seconds == pytest.approx(2 * 100 / 5, rel=0.05)  # 2 mini-batches of 100 rows left
    assert shown.chart["peak"] == pytest.approx(5, rel=0.05)
    page = signed_in.get(f"/jobs/{retry.name}/").content.decode()
    assert "5.0 rows/s now, 5.0 rows/s on average" in page and "<dt>ETA</dt><dd>40 s</dd>" in page

    BatchJob.objects.filter(pk=retry.pk).update(status=Status.COMPLETED, finished=now, mini_batches_done=10)
    assert "5.0 rows/s" in signed_in.get(f"/endpoints/{endpoint.name}/runs/").content.decode()  # not 20.0


@pytest.mark.django_db
def test_runs_tab_reads_a_finished_retrys_average_without_reading_its_mini_batches(signed_in, endpoint):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    now = timezone.now()
    retry = _retry_with_reused_batches(endpoint, now)
    BatchJob.objects.filter(pk=retry.pk).update(status=Status.COMPLETED, finished=now, mini_batches_done=10)
    with CaptureQueriesContext(connection) as ctx:  # the Runs tab is polled every 2 s; a retry may have 30,000
        page = signed_in.get(f"/endpoints/{endpoint.name}/runs/").content.decode()
    assert "5.0 rows/s" in page
    mini_batch_reads = [q["sql"] for q in ctx.captured_queries if 'FROM "jobs_minibatch"' in q["sql"]]
    assert len(mini_batch_reads) == 1 and 'SUM("jobs_minibatch"."rows_out")' in mini_batch_reads[0]


@pytest.mark.django_db
def test_a_finished_job_page_gives_the_rate_while_scoring_and_the_whole_runs_apart(signed_in, endpoint):
    """The demo job read 5.8 rows/s for 150 rows scored in 0.5 s: its average counted the scoring host's start-up."""
    from django.utils import timezone

    now = timezone.now()
    job = _job(endpoint, 1, Status.COMPLETED, started=now - timedelta(seconds=26), done=1)
    BatchJob.objects.filter(pk=job.pk).update(finished=now, rows_out=150)
    MiniBatch.objects.create(
        job=job,
        index=0,
        status=MiniBatch.COMPLETED,
        rows_out=150,
        started=now - timedelta(seconds=1),
        finished=now - timedelta(seconds=0.5),
    )
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert "<dt>Throughput</dt><dd>300 rows/s while scoring; 5.8 rows/s over the whole run" in page


@pytest.mark.django_db
def test_the_job_pages_chart_has_its_scale(signed_in, endpoint):
    from django.utils import timezone

    now = timezone.now()
    job = _job(endpoint, 1, Status.RUNNING, started=now - timedelta(seconds=40), done=2)
    _finished_batches(job, 2, now)
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert '<div class="y-axis" aria-hidden="true"><span>5.0 rows/s</span><span>0</span></div>' in page
    assert '<div class="x-axis" aria-hidden="true"><span>0 s (start)</span><span>40 s</span></div>' in page
    assert "<figcaption>Rows per second over the run's time</figcaption>" in page
