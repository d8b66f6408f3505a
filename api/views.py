"""REST API views: HTTP only; submitting, cancelling and reading jobs live in the models and jobs.submit."""

from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404

from api import invoke as azure_invoke
from api.auth import ApiError, api_view, json_body, optional_json_body
from api.serializers import comparison_json, dataset_json, deployment_json, endpoint_json, job_json
from endpoints.models import BatchEndpoint
from jobs import comparison as comparisons
from jobs import lifecycle, retries
from jobs.models import BatchJob, Comparison
from jobs.submit import submit_job
from workspace import registry, roles, storage
from workspace.models import Dataset, Datastore
from workspace.roles import RUN_JOBS, VIEW

OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
PAGE_SIZE = 100


def _base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _endpoint(name) -> BatchEndpoint:
    return get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)


def _page(request, queryset):
    try:
        top = min(max(int(request.GET.get("top", PAGE_SIZE)), 1), 1000)
        skip = max(int(request.GET.get("skip", 0)), 0)
    except ValueError as exc:
        raise ApiError(400, "invalid_paging", "top and skip must be integers.") from exc
    return queryset[skip : skip + top]


@api_view("GET", require=VIEW)
def openapi(request):
    return JsonResponse(yaml.safe_load(OPENAPI_FILE.read_text()))


@api_view("GET", require=VIEW)
def endpoint_list(request):
    endpoints = BatchEndpoint.objects.select_related("default_deployment")
    return JsonResponse({"value": [endpoint_json(e, _base(request)) for e in endpoints]})


@api_view("GET", require=VIEW)
def endpoint_detail(request, name):
    return JsonResponse(endpoint_json(_endpoint(name), _base(request)))


@api_view("GET", require=VIEW)
def deployment_list(request, name):
    endpoint = _endpoint(name)
    return JsonResponse({"value": [deployment_json(d) for d in endpoint.deployments.select_related("endpoint")]})


@api_view("GET", require=VIEW)
def deployment_detail(request, name, deployment):
    endpoint = _endpoint(name)
    return JsonResponse(deployment_json(get_object_or_404(endpoint.deployments, name=deployment)))


@api_view("GET", "POST", require={"GET": VIEW, "POST": RUN_JOBS})
def endpoint_jobs(request, name):
    """GET lists the endpoint's jobs; POST is the scoring URI: Azure's invoke."""
    endpoint = _endpoint(name)
    if request.method == "GET":
        jobs = _page(request, endpoint.jobs.all())
        return JsonResponse({"value": [job_json(j, _base(request), detail=False) for j in jobs]})
    request_id = request.headers.get("repeatability-request-id", "").strip()
    if len(request_id) > 200:
        raise ApiError(400, "invalid_request_id", "repeatability-request-id is longer than 200 characters.")
    replayed = bool(request_id) and endpoint.jobs.filter(request_id=request_id).exists()
    job = submit_job(
        endpoint,
        deployment_name=request.headers.get("azureml-model-deployment", "").strip() or None,
        user=request.user,
        request_id=request_id,
        **azure_invoke.parse(json_body(request)),
    )
    data = job_json(job, _base(request))
    response = JsonResponse(data, status=200 if replayed else 201)
    response["Location"] = data["urls"]["status"]
    if request_id:
        response["repeatability-result"] = "accepted"
    return response


@api_view("GET", require=VIEW)
def job_detail(request, job):
    return JsonResponse(job_json(get_object_or_404(BatchJob, name=job), _base(request)))


@api_view("POST", require=RUN_JOBS)
def job_cancel(request, job):
    job = get_object_or_404(BatchJob, name=job)
    roles.require(request.user, RUN_JOBS, job)
    if not lifecycle.cancel(job):
        raise ApiError(409, "job_finished", f"Job {job.name} has already finished ({job.status}).")
    return JsonResponse(job_json(job, _base(request)), status=202)


@api_view("POST", require=RUN_JOBS)
def job_retry(request, job):
    """Retry failed: the new job (201); a job that cannot be retried answers 409 with the reason. An optional body
    {"settings": {"error_threshold": .., "error_threshold_unit": ..}} changes the retry's error threshold."""
    job = get_object_or_404(BatchJob, name=job)
    roles.require(request.user, RUN_JOBS, job)
    threshold = azure_invoke.parse_settings(optional_json_body(request).get("settings"))
    retry = retries.retry(job, user=request.user, threshold=threshold)
    return JsonResponse(job_json(retry, _base(request)), status=201)


@api_view("GET", require=VIEW)
def job_output(request, job, file):
    job = get_object_or_404(BatchJob, name=job)
    try:
        location = job.output_location(file)
    except ValidationError as exc:
        raise Http404(exc.messages[0]) from exc
    try:
        store = Datastore.objects.get(name=job.output_datastore).client()
        handle = store.open(location)
    except (Datastore.DoesNotExist, storage.StorageError, ValidationError) as exc:
        raise Http404(f"'{file}' of job {job.name} is not there (yet): {exc}") from exc
    return FileResponse(handle, as_attachment=True, filename=file.rsplit("/", 1)[-1])


@api_view("POST", require=RUN_JOBS)
def endpoint_comparisons(request, name):
    """Compare deployments: {"deployment": "<candidate>", "input": "<uri>"} runs the input on the default and
    on the candidate deployment; the report follows once both jobs complete."""
    endpoint = _endpoint(name)
    body = json_body(request)
    candidate, input_uri = body.get("deployment"), body.get("input")
    if not isinstance(candidate, str) or not candidate.strip():
        raise ApiError(400, "candidate_required", "Give the candidate deployment's name in 'deployment'.")
    if not isinstance(input_uri, str) or not input_uri.strip():
        raise ApiError(
            400, "input_required", "Give the input's URI in 'input' (azureml://datastores/... or https://...)."
        )
    started = comparisons.start(endpoint, input_uri=input_uri.strip(), candidate=candidate.strip(), user=request.user)
    return JsonResponse(comparison_json(started, _base(request)), status=201)


@api_view("GET", require=VIEW)
def comparison_detail(request, pk):
    if not pk.isdigit():
        raise Http404("Comparison ids are numbers.")
    found = get_object_or_404(Comparison.objects.select_related("baseline", "candidate"), pk=pk)
    return JsonResponse(comparison_json(comparisons.refresh(found), _base(request)))


@api_view("GET", require=VIEW)
def model_list(request):
    try:
        models = registry.list_models()
    except registry.RegistryError as exc:
        raise ApiError(503, "registry_unavailable", str(exc)) from exc
    return JsonResponse(
        {"value": [{key: m[key] for key in ("name", "description", "versions", "latest")} for m in models]}
    )


@api_view("GET", require=VIEW)
def dataset_list(request):
    datasets = Dataset.objects.select_related("datastore")
    return JsonResponse({"value": [dataset_json(d) for d in _page(request, datasets)]})
