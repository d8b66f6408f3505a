from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from endpoints.models import BatchEndpoint
from jobs.forms import CreateJobForm
from jobs.models import FINISHED, BatchJob
from jobs.submit import submit_job
from studio import storage
from studio.models import Datastore

PAGE_SIZE = 25


def job_list(request):
    jobs = BatchJob.objects.all()
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "jobs/list.html", {"page": page})


def endpoint_runs(request, name):
    endpoint = get_object_or_404(BatchEndpoint, name=name)
    page = Paginator(endpoint.jobs.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    live = any(job.status not in FINISHED for job in page)
    context = {"endpoint": endpoint, "page": page, "live": live, "tab": "runs"}
    if request.htmx:
        response = render(request, "jobs/_runs_table.html", context)
        return response if live else HttpResponseStopPolling(response.content)
    return render(request, "endpoints/runs.html", context)


def job_create(request, name):
    endpoint = get_object_or_404(BatchEndpoint, name=name)
    form = CreateJobForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        try:
            job = submit_job(endpoint, input_uri=form.input_uri(), deployment_name=form.cleaned_data["deployment"], user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Job {job.name} submitted.")
            return redirect(job)
    return render(request, "jobs/create.html", {"form": form, "endpoint": endpoint})


def job_detail(request, name):
    job = get_object_or_404(BatchJob, name=name)
    context = {"job": job, "mini_batches": job.mini_batches.all()[:500]}
    if request.htmx:
        response = render(request, "jobs/_job_status.html", context)
        return HttpResponseStopPolling(response.content) if job.is_finished else response
    return render(request, "jobs/detail.html", context)


@require_POST
def job_cancel(request, name):
    job = get_object_or_404(BatchJob, name=name)
    if job.request_cancel():
        from jobs import queue

        queue.dispatch_later(job)
        messages.info(request, f"Cancel requested for {job.name}.")
    else:
        messages.warning(request, f"{job.name} has already finished.")
    return redirect(job)


def job_download(request, name, file):
    job = get_object_or_404(BatchJob, name=name)
    allowed = {job.settings.get("output_file_name"), "logs/job_progress_overview.txt", "logs/job_result.txt",
               "logs/error_summary.csv", "logs/mini-batches.csv"}
    if file not in allowed and not file.startswith("logs/mini-batches/"):
        raise Http404("No such output.")
    store = Datastore.objects.get(name=job.output_datastore).client()
    try:
        handle = store.open(f"{job.output_path.rstrip('/')}/{storage.clean_path(file)}")
    except (storage.StorageError, ValidationError) as exc:
        raise Http404(str(exc)) from exc
    return FileResponse(handle, as_attachment=True, filename=file.rsplit("/", 1)[-1])
