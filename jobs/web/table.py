"""The jobs table of the Runs tab, /jobs/ and Home: every cell of a page's rows worked out in one pass in Python.

The template then only places ready strings: per-row includes, filters (floatformat, date) and model properties
looked up through the template engine cost most of a list page's time (docs/RELIABILITY.md, "Runs tab")."""

from dataclasses import dataclass
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from jobs import throughput
from jobs.throughput import Throughput
from workspace import roles

# The columns the table shows: list pages load only these (not the settings, overrides or error texts).
COLUMNS = (
    "name",
    "status",
    "endpoint",
    "endpoint_name",
    "deployment",
    "deployment_name",
    "model_uri",
    "model_alias",
    "input_uri",
    "output_datastore",
    "output_path",
    "created",
    "started",
    "finished",
    "mini_batches_total",
    "mini_batches_done",
    "mini_batches_failed",
    "rows_out",
    "files_total",
    "files_failed",
    "retry_of",
    "created_by",
)
NAME = "~name~"  # a placeholder reverse() keeps as is; each row's job name (quoted) takes its place


@dataclass(slots=True)
class Row:
    name: str
    url: str
    status: str  # _status.html rendered once per status on the page (icon and word)
    retry_url: str  # "" unless the job can be retried (Failed or Canceled, not retried yet) by the one who looks
    endpoint_name: str
    deployment_name: str
    model: str  # the exact version the job scored with: "iris:2 (via @champion)"
    input: str  # secrets redacted (BatchJob.input_display)
    output: str
    submitted: str
    created_by: str  # the user's name, "" for the operator or a schedule without one
    duration: str  # "12.3 s", "" before the job starts
    percent: int
    outcome: str  # the bar's style once finished: BatchJob.outcome
    outcome_text: str
    running: bool  # not finished: the throughput cell shows an ETA (or a dash) and the chart
    rate: str  # "8.0 rows/s", "" when unknown
    eta: str  # "ETA 2 min", "ETA —"
    throughput: Throughput
    so_far: str  # "1,200 rows scored so far" by its running mini-batches, "" when none


def rows(jobs, now=None, user=roles.OPERATOR) -> list[Row]:
    """The rows of a page of jobs (loaded with .only(*COLUMNS) and BatchJob.with_retry_flag) as `user` sees them (Retry
    failed only on the jobs they may retry): one query for the running jobs' recent mini-batches, one for the names
    of who created them, none per row."""
    now = now or timezone.now()
    jobs = list(jobs)
    throughput.annotate(jobs, now)
    creators = {job.created_by_id for job in jobs} - {None}
    names = dict(get_user_model().objects.filter(pk__in=creators).values_list("pk", "username")) if creators else {}
    for job in jobs:
        job.creator_name = names.get(job.created_by_id, "")
        job.retryable = job.can_retry and roles.can(user, roles.RUN_JOBS, job)
    # each URL reversed once per page, not once per row
    urls = {name: reverse(name, args=[NAME]) for name in ("jobs:detail", "jobs:retry")}
    statuses = {status: render_to_string("_status.html", {"status": status}) for status in {job.status for job in jobs}}
    return [_row(job, now, urls, statuses[job.status]) for job in jobs]


def _row(job, now, urls: dict, status: str) -> Row:
    tp = job.throughput
    running = not job.is_finished
    duration = ((job.finished or now) - job.started).total_seconds() if job.started else None
    name = quote(job.name)
    return Row(
        name=job.name,
        url=urls["jobs:detail"].replace(NAME, name),
        status=status,
        retry_url=urls["jobs:retry"].replace(NAME, name) if job.retryable else "",
        endpoint_name=job.endpoint_name if job.endpoint_id else f"{job.endpoint_name} (deleted)",
        deployment_name=job.deployment_name if job.deployment_id else f"{job.deployment_name} (deleted)",
        model=job.model_display,
        input=job.input_display,
        output=job.output_uri,
        submitted=timezone.localtime(job.created).strftime("%Y-%m-%d %H:%M:%S"),
        created_by=job.creator_name,
        duration=f"{duration:.1f} s" if duration else "",
        percent=job.progress_percent,
        outcome=job.outcome,
        outcome_text=job.outcome_text,
        running=running,
        rate=tp.rate_text,
        eta=f"ETA {tp.eta or '—'}" if running and tp.rate else "",
        throughput=tp,
        so_far=f"{job.rows_so_far:,} rows scored so far" if job.rows_so_far else "",
    )
