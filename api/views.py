"""REST API views: HTTP only; submitting, cancelling and reading jobs live in the models and jobs.submit."""

from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from api import invoke as azure_invoke
from api.auth import ApiError, api_view, json_body, optional_json_body
from api.bodies import answer, document, page, refuse_server_paths
from api.serializers import azure_job_json, comparison_json, deployment_json, endpoint_json
from cli import azure_yaml
from endpoints.code import store_upload
from endpoints.forms import deployment_delete_refusal
from endpoints.models import BatchEndpoint
from jobs import comparison as comparisons
from jobs import lifecycle, retries
from jobs.models import BatchJob, Comparison
from jobs.submit import submit_job
from workspace import roles, storage
from workspace.models import Datastore
from workspace.roles import MANAGE_ENDPOINTS, RUN_JOBS, VIEW

OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
WRITES = ("PUT", "PATCH")


def _base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _endpoint(name) -> BatchEndpoint:
    return get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)


def _endpoint_answer(request, endpoint, created: bool) -> JsonResponse:
    endpoint = _endpoint(endpoint.name)  # its default deployment as saved
    return answer(endpoint_json(endpoint, _base(request)), created, request, "api:endpoint", endpoint.name)


def _deployment_answer(request, deployment, created: bool) -> JsonResponse:
    args = (deployment.endpoint.name, deployment.name)
    return answer(deployment_json(deployment), created, request, "api:deployment", *args)


def _deployment_document(request, **fixed):
    """A deployment body names registered models and environments: no model folder, code folder or conda file on the
    server (an inline environment's conda_file as a mapping is fine). A scoring script's code comes as the wizard's
    does: multipart/form-data with the JSON in `deployment` and the code in `code` (a .zip of the folder, or files),
    snapshotted as the wizard snapshots it; code_configuration.scoring_script picks the script inside."""
    multipart = request.method == "POST" and request.content_type == "multipart/form-data"  # Django parses POST's
    doc = document(request, "deployment" if multipart else "", **fixed)
    model = "model" if isinstance(doc.get("model"), dict) else None
    conda = "environment.conda_file" if isinstance(doc.get("environment.conda_file"), str) else None
    refuse_server_paths(doc, *[key for key in (model, "code_configuration.code", conda) if key])
    uploads = request.FILES.getlist("code") if multipart else []
    if uploads:
        script = doc.get("code_configuration.scoring_script") or ""
        try:
            code_path, script = store_upload(uploads, script if isinstance(script, str) else "")
        except ValidationError as exc:
            raise doc.error(
                "code_configuration", "'%(key)s': %(problem)s", exc.code or "invalid", problem=" ".join(exc.messages)
            ) from exc
        doc.data["code_configuration"] = {"code": code_path, "scoring_script": script}
    return doc


@api_view("GET", require=VIEW)
def openapi(request):
    return JsonResponse(yaml.safe_load(OPENAPI_FILE.read_text()))


@api_view("GET", "POST", require={"GET": VIEW, "POST": MANAGE_ENDPOINTS})
def endpoint_list(request):
    """GET lists the endpoints; POST creates one from Azure's endpoint YAML as JSON (409 if the name is taken)."""
    if request.method == "POST":
        doc = document(request)
        name = doc.get("name")
        if isinstance(name, str) and BatchEndpoint.objects.filter(name__iexact=name).exists():
            raise ApiError(
                409,
                "endpoint_exists",
                f"A batch endpoint named '{name}' exists: PUT /api/v1/endpoints/{name} updates it.",
            )
        return _endpoint_answer(request, azure_yaml.save_endpoint(doc, create=True, user=request.user), True)
    endpoints = BatchEndpoint.objects.select_related("default_deployment")
    return JsonResponse({"value": [endpoint_json(e, _base(request)) for e in endpoints]})


@api_view(
    "GET",
    "PUT",
    "PATCH",
    "DELETE",
    require={"GET": VIEW, "PUT": MANAGE_ENDPOINTS, "PATCH": MANAGE_ENDPOINTS, "DELETE": MANAGE_ENDPOINTS},
)
def endpoint_detail(request, name):
    """PUT creates or updates (Azure's PUT), PATCH updates; both change only the keys the body names, as
    `batch-endpoint update` does (defaults.deployment_name sets the default deployment). DELETE deletes the endpoint
    and its deployments as the Studio's Delete does: its jobs are kept, and those still running run to their end."""
    if request.method in WRITES:
        exists = BatchEndpoint.objects.filter(name__iexact=name).exists()
        if request.method == "PATCH" and not exists:
            raise Http404(f"There is no batch endpoint named '{name}'.")
        endpoint = azure_yaml.save_endpoint(document(request, name=name), create=not exists, user=request.user)
        return _endpoint_answer(request, endpoint, not exists)
    endpoint = _endpoint(name)
    if request.method == "DELETE":
        endpoint.delete()
        return HttpResponse(status=204)
    return JsonResponse(endpoint_json(endpoint, _base(request)))


@api_view("GET", "POST", require={"GET": VIEW, "POST": MANAGE_ENDPOINTS})
def deployment_list(request, name):
    """GET lists the endpoint's deployments; POST adds one from Azure's deployment YAML as JSON (409 if the name is
    taken). The first deployment of an endpoint becomes its default, as in the Studio's wizard."""
    endpoint = _endpoint(name)
    if request.method == "POST":
        doc = _deployment_document(request, endpoint_name=endpoint.name)
        deployment = doc.get("name")
        if isinstance(deployment, str) and endpoint.deployments.filter(name=deployment).exists():
            raise ApiError(
                409,
                "deployment_exists",
                f"{endpoint.name} has a deployment named '{deployment}': "
                f"PUT /api/v1/endpoints/{endpoint.name}/deployments/{deployment} updates it.",
            )
        return _deployment_answer(request, azure_yaml.save_deployment(doc, create=True), True)
    return JsonResponse({"value": [deployment_json(d) for d in endpoint.deployments.select_related("endpoint")]})


@api_view(
    "GET",
    "PUT",
    "PATCH",
    "DELETE",
    require={"GET": VIEW, "PUT": MANAGE_ENDPOINTS, "PATCH": MANAGE_ENDPOINTS, "DELETE": MANAGE_ENDPOINTS},
)
def deployment_detail(request, name, deployment):
    """PUT creates or updates, PATCH updates (only the keys the body names); DELETE refuses, as the Studio does, the
    default deployment while others remain and a deployment a schedule runs on (409 delete_refused)."""
    endpoint = _endpoint(name)
    if request.method in WRITES:
        exists = endpoint.deployments.filter(name=deployment).exists()
        if request.method == "PATCH" and not exists:
            raise Http404(f"{endpoint.name} has no deployment named '{deployment}'.")
        doc = _deployment_document(request, endpoint_name=endpoint.name, name=deployment)
        return _deployment_answer(request, azure_yaml.save_deployment(doc, create=not exists), not exists)
    target = get_object_or_404(endpoint.deployments.select_related("endpoint"), name=deployment)
    if request.method == "DELETE":
        if refusal := deployment_delete_refusal(target):
            raise ApiError(409, "delete_refused", refusal)
        target.delete()
        return HttpResponse(status=204)
    return JsonResponse(deployment_json(target))


@api_view("GET", "POST", require={"GET": VIEW, "POST": RUN_JOBS})
def endpoint_jobs(request, name):
    """GET lists the endpoint's jobs; POST is the scoring URI: Azure's invoke."""
    endpoint = _endpoint(name)
    if request.method == "GET":
        found = page(request, endpoint.jobs.all())
        found["value"] = [azure_job_json(j, _base(request), detail=False) for j in found["value"]]
        return JsonResponse(found)
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
    data = azure_job_json(job, _base(request))
    response = JsonResponse(data, status=200 if replayed else 201)
    response["Location"] = data["urls"]["status"]
    if request_id:
        response["repeatability-result"] = "accepted"
    return response


@api_view("GET", require=VIEW)
def job_detail(request, job):
    return JsonResponse(azure_job_json(get_object_or_404(BatchJob, name=job), _base(request)))


@api_view("POST", require=RUN_JOBS)
def job_cancel(request, job):
    job = get_object_or_404(BatchJob, name=job)
    roles.require(request.user, RUN_JOBS, job)
    if not lifecycle.cancel(job):
        raise ApiError(409, "job_finished", f"Job {job.name} has already finished ({job.status}).")
    return JsonResponse(azure_job_json(job, _base(request)), status=202)


@api_view("POST", require=RUN_JOBS)
def job_retry(request, job):
    """Retry failed: the new job (201); a job that cannot be retried answers 409 with the reason. An optional body
    {"settings": {"error_threshold": .., "error_threshold_unit": ..}} changes the retry's error threshold."""
    job = get_object_or_404(BatchJob, name=job)
    roles.require(request.user, RUN_JOBS, job)
    threshold = azure_invoke.parse_settings(optional_json_body(request).get("settings"))
    retry = retries.retry(job, user=request.user, threshold=threshold)
    return JsonResponse(azure_job_json(retry, _base(request)), status=201)


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
