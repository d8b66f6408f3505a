from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseStopPolling

from endpoints.models import BatchEndpoint
from jobs import bad_records, lifecycle, outputs, retries, throughput
from jobs import preview as previews
from jobs.forms import CreateJobForm, JobFilterForm, RetryForm
from jobs.models import ERRORS_FILE, FINISHED, LOG_FILES, BatchJob, Comparison, MiniBatch, Preview, Status
from jobs.schedules.models import ScheduleRun
from jobs.web import charts, table
from studio.views.access import requires
from studio.views.buttons import button_of
from workspace import roles, storage
from workspace.compute.live import live_workers, no_worker_warning
from workspace.models import Datastore
from workspace.roles import RUN_JOBS, VIEW

PAGE_SIZE = 25
PREVIEW_ROWS = 10
MINI_BATCH_ROWS = 50  # a page of the job page's mini-batch table; logs/mini-batches.csv has them all
LOG_MAX_BYTES = 256 * 1024


def _live(response, live):
    """htmx polling goes on while something runs, and stops (286) with the last fragment."""
    return response if live else HttpResponseStopPolling(response.content)


@requires(VIEW)
def job_list(request):
    filters = JobFilterForm({k: v for k, v in request.GET.items() if k in ("status", "endpoint")} or None)
    jobs = filters.filter(BatchJob.with_retry_flag(BatchJob.objects.only(*table.COLUMNS)))
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "jobs/list.html", {"page": page, "rows": table.rows(page, user=request.user), "filters": filters}
    )


@requires(VIEW)
def endpoint_runs(request, name):
    """The Runs tab: one page of the endpoint's jobs, newest first. htmx asks for the table alone (#runs) to poll it
    while a job on the page runs and to turn pages in place; without JavaScript the pager is plain links."""
    endpoint = get_object_or_404(BatchEndpoint, name=name)
    jobs = BatchJob.with_retry_flag(BatchJob.objects.filter(endpoint=endpoint).only(*table.COLUMNS))
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = table.rows(page, user=request.user)
    live = any(row.running for row in rows)
    context = {"endpoint": endpoint, "page": page, "rows": rows, "live": live, "tab": "runs"}
    if request.htmx and request.htmx.target == "runs" and not request.htmx.history_restore_request:
        response = _live(render(request, "jobs/_runs_table.html", context), live)
    else:
        response = render(request, "endpoints/runs.html", context)
    patch_vary_headers(response, ["HX-Request"])  # a pushed URL must not be served the fragment from cache
    return response


METRICS_JOBS = 50  # the Metrics tab: the endpoint's last finished jobs


@requires(VIEW)
def endpoint_metrics(request, name):
    """The Metrics tab: duration, rows scored and failed files of the endpoint's last finished jobs, as charts with
    their data tables, and how they ended."""
    endpoint = get_object_or_404(BatchEndpoint, name=name)
    finished = BatchJob.objects.filter(endpoint=endpoint, status__in=FINISHED, started__isnull=False)
    # One deployment's jobs (?deployment=blue), as Azure's per-deployment monitoring; every job by default.
    deployments = sorted(set(finished.values_list("deployment_name", flat=True)) - {""})
    deployment = request.GET.get("deployment", "")
    if deployment:
        finished = finished.filter(deployment_name=deployment)
    jobs = list(
        finished.order_by("-finished").only(
            "name", "status", "started", "finished", "rows_out", "files_total", "files_failed"
        )[:METRICS_JOBS]
    )[::-1]  # oldest first, left to right
    series = [
        ("Duration", "s", [(job.name, (job.finished - job.started).total_seconds()) for job in jobs]),
        ("Rows scored", "rows", [(job.name, job.rows_out) for job in jobs]),
        (
            "Failed files",
            "%",
            [(job.name, 100 * job.files_failed / job.files_total if job.files_total else 0) for job in jobs],
        ),
    ]
    context = {
        "endpoint": endpoint,
        "tab": "metrics",
        "jobs": jobs,
        "charts": [
            {"title": title, "unit": unit, "chart": charts.bars(points, unit)} for title, unit, points in series
        ],
        "outcomes": Counter(job.get_status_display() for job in jobs).most_common(),
        "deployments": deployments,
        "deployment": deployment,
    }
    return render(request, "endpoints/metrics.html", context)


@requires(RUN_JOBS)
def job_create(request, name):
    endpoint = get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)
    form = CreateJobForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        job = form.submit(user=request.user)
        if job:
            messages.success(request, f"Job {job.name} submitted.")
            return redirect(job)
    return render(request, "jobs/create.html", {"form": form, "endpoint": endpoint, "unserved": _unserved(endpoint)})


def _unserved(endpoint) -> list[tuple[str, str]]:
    """(deployment, warning) of the endpoint's deployments whose compute cluster no live worker serves."""
    warnings = [(d.name, no_worker_warning(d.compute)) for d in endpoint.deployments.all()]
    return [(name, warning) for name, warning in warnings if warning]


@requires(RUN_JOBS)
@button_of("endpoints:create-job", "Preview")
def job_preview_create(request, name):
    """+ Create job's Preview button: queue the dry run; htmx gets the panel (which polls), a plain post its page."""
    endpoint = get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)
    form = CreateJobForm(request.POST, endpoint=endpoint)
    preview = form.preview(user=request.user) if form.is_valid() else None
    if preview is None:
        if request.htmx:
            errors = [
                (form.fields[f].label if f in form.fields else "", e) for f, es in form.errors.items() for e in es
            ]
            return render(request, "jobs/_preview_errors.html", {"errors": errors})
        return render(request, "jobs/create.html", {"form": form, "endpoint": endpoint})
    if request.htmx:
        return render(request, "jobs/_preview.html", _preview_context(preview))
    return redirect(preview)


def _waits_for_a_worker(job) -> bool:
    """A queued job on a cluster with no live worker would wait silently: the page says why."""
    return job.status == Status.QUEUED and not live_workers(job.compute)


def _preview_context(preview):
    """A queued preview on a cluster with no live worker would wait silently: say so. One whose worker died fails."""
    preview = previews.settle_if_lost(preview)
    waiting = preview.status == Preview.QUEUED and not live_workers(preview.compute)
    return {"preview": preview, "no_worker": waiting}


@requires(VIEW)
def preview_detail(request, name):
    context = _preview_context(get_object_or_404(Preview.objects.select_related("endpoint"), name=name))
    if request.htmx:
        return _live(render(request, "jobs/_preview.html", context), not context["preview"].is_finished)
    return render(request, "jobs/preview.html", context)


def _get_job(name):
    return get_object_or_404(BatchJob.objects.select_related("endpoint", "created_by"), name=name)


def _store(job):
    store = Datastore.objects.filter(name=job.output_datastore).first()
    if store is None:
        raise Http404(f"The output datastore {job.output_datastore} no longer exists.")
    return store.client()


def _preview(job, file=None):
    """The first rows of the output file (in its format), or of errors.csv, or (None, reason) when there is
    nothing to show."""
    path = job.output_location(file) if file else job.output_file_path
    if not path or not (job.succeeded or file):  # errors.csv: asked for only when has_errors_file
        return None, ""
    fmt = outputs.formats.CSV if file else outputs.output_format(job.settings)
    try:
        header = bool(file) or outputs.has_header(job.settings)
        return outputs.head(_store(job), path, fmt, PREVIEW_ROWS, header), ""
    except (storage.StorageError, ValidationError, Http404, OSError, ValueError) as exc:
        return None, str(exc)


ERROR_SEARCH_SCAN = 2000  # mini-batches a search of the error summary reads at most


def _error_summary(job, limit=50, search=""):
    """The first lines of the error summary, read from the first mini-batches with errors only (the job page is polled
    every 2 s: a job whose every file failed has as many), and how many lines there are in all. A search keeps the
    lines whose file, error or message has the text (case aside); the count is then of those."""
    with_errors = job.mini_batches_with_errors()
    if search:
        found = with_errors.filter(
            Q(file_errors__icontains=search) | Q(error__icontains=search) | Q(files__icontains=search)
        )
        lines = _error_lines(list(found[:ERROR_SEARCH_SCAN]))
        lines = [e for e in lines if any(search.lower() in str(v).lower() for v in e.values())]
        return lines[:limit], len(lines)
    return _error_lines(list(with_errors[:limit]))[:limit], job.error_count()


def _error_lines(mini_batches) -> list[dict]:
    errors = [
        {"file": e.get("file", ""), "mini_batch": mb.index, "type": e.get("type", ""), "message": e.get("message", "")}
        for mb in mini_batches
        for e in (mb.file_errors or [])
    ]
    errors += [{**rows, "mini_batch": mb.index} for mb in mini_batches if (rows := bad_records.set_aside(mb))]
    errors += [
        {"file": "", "mini_batch": mb.index, "type": "Mini-batch", "message": mb.error}
        for mb in mini_batches
        if mb.status == MiniBatch.FAILED and mb.error
    ]
    return errors


def started_by(job) -> list[tuple[str, str, str]]:
    """(what, name, url) of the schedule run or deployment comparison that started this job, for its page."""
    found = [
        ("Schedule", run.schedule.name, run.schedule.get_absolute_url())
        for run in ScheduleRun.objects.filter(job=job).select_related("schedule")
    ]
    for comparison in Comparison.objects.filter(Q(baseline=job) | Q(candidate=job)).select_related(
        "baseline", "candidate"
    ):
        side = "baseline" if comparison.baseline_id == job.pk else "candidate"
        found.append(
            (
                f"Comparison ({side})",
                f"{comparison.baseline.deployment_name} vs {comparison.candidate.deployment_name}",
                comparison.get_absolute_url(),
            )
        )
    return found


@requires(VIEW)
def job_detail(request, name):
    job = _get_job(name)
    failed_only = request.GET.get("mini_batches") == "failed"
    by_duration = request.GET.get("sort") == "duration"
    shown = job.mini_batches.filter(status=MiniBatch.FAILED) if failed_only else job.mini_batches.all()
    if by_duration:  # the slowest first
        shown = shown.order_by("-seconds", "index")
    mini_batches = Paginator(shown, MINI_BATCH_ROWS).get_page(request.GET.get("page"))
    error_search = request.GET.get("errors", "").strip()[:200]
    errors, error_count = _error_summary(job, search=error_search)
    may = roles.can(request.user, RUN_JOBS, job)  # cancel or retry: one's own job, or an Owner
    retryable = job.can_retry and may
    preview, preview_error = _preview(job)
    errors_preview, _ = _preview(job, ERRORS_FILE) if job.has_errors_file else (None, "")
    context = {
        "job": job,
        "started_by": started_by(job),
        "mini_batches": mini_batches,
        "failed_only": failed_only,
        "by_duration": by_duration,
        "error_search": error_search,
        "files_done": job.files_done(),
        "throughput": throughput.measure(job, throughput.load([job.pk])[job.pk]),
        "errors": errors,
        "error_count": error_count,
        "preview": preview,
        "preview_error": preview_error,
        "log_files": LOG_FILES,
        "manifest_files": outputs.manifest_files(job.settings),
        "errors_file": ERRORS_FILE,
        "errors_preview": errors_preview,
        "no_worker": _waits_for_a_worker(job),
        "retry_form": RetryForm(initial=job.settings, auto_id="retry-%s", label_suffix="") if retryable else None,
        "may_cancel_or_retry": may,
    }
    if request.htmx and request.htmx.target == "job-status":
        return _live(render(request, "jobs/_job_status.html", context), not job.is_finished)
    return render(request, "jobs/detail.html", context)


@requires(RUN_JOBS)
@button_of("jobs:detail", "Retry failed")
def job_retry(request, name):
    """Retry failed: a new job runs what did not succeed and reuses the rest."""
    job = _get_job(name)
    roles.require(request.user, RUN_JOBS, job)
    form = RetryForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(
                [f"{form.fields[field].label}: {' '.join(errors)}" for field, errors in form.errors.items()]
            )
        retry = retries.retry(job, user=request.user, threshold=form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(job)
    messages.success(request, f"Job {retry.name} submitted: it retries {job.name}.")
    return redirect(retry)


@requires(RUN_JOBS)
@button_of("jobs:detail", "Cancel")
def job_cancel(request, name):
    job = _get_job(name)
    roles.require(request.user, RUN_JOBS, job)
    if lifecycle.cancel(job):
        messages.info(request, f"Cancel requested for {job.name}.")
    else:
        messages.warning(request, f"{job.name} has already finished.")
    return redirect(job)


def _output_file(job, file):
    try:
        return job.output_location(file)
    except ValidationError as exc:
        raise Http404(exc.messages[0]) from exc


@requires(VIEW)
def job_download(request, name, file):
    job = _get_job(name)
    try:
        handle = _store(job).open(_output_file(job, file))
    except storage.StorageError as exc:
        raise Http404(str(exc)) from exc
    return FileResponse(handle, as_attachment=True, filename=file.rsplit("/", 1)[-1])


@requires(VIEW)
def job_log(request, name, file):
    """The logs viewer: one log file as text, as a page or (htmx) into the job page's viewer. A log that cannot be
    read (not written yet, or its path is not a folder) is a message, never an error page."""
    job = _get_job(name)
    try:
        with _store(job).open(_output_file(job, file)) as handle:
            data = handle.read(LOG_MAX_BYTES + 1)
        text, error = data[:LOG_MAX_BYTES].decode("utf-8", errors="replace"), ""
    except storage.StorageError:
        text, error = "", f"{file} is not written yet: logs appear as mini-batches finish."
    context = {
        "job": job,
        "file": file,
        "text": text,
        "error": error,
        "truncated": len(data) > LOG_MAX_BYTES if text else False,
    }
    # htmx swaps only a 200 into the viewer: there the message is the answer; a page for a log not there is a 404
    status = 404 if error and not request.htmx else 200
    return render(request, "jobs/_log.html" if request.htmx else "jobs/log.html", context, status=status)
