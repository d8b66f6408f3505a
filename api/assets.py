"""The workspace's assets over the REST API: models, data assets, environments, compute, datastores. Each write calls
what the Studio's page or the `az ml` command calls, so that its checks and coded errors are theirs."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from api.auth import ApiError, api_view
from api.bodies import answer, document, form_error, page, refuse_server_paths
from api.serializers import compute_json, dataset_json, datastore_json, environment_json, model_version_json
from cli import azure_assets, azure_workspace, yaml_document
from endpoints.models import BatchDeployment
from jobs import queue, warm
from jobs.inputs import DATASTORE_URI
from workspace import registry, storage
from workspace.compute.models import ComputeCluster
from workspace.environments import Environment
from workspace.forms import ComputeClusterForm, RegisterModelForm
from workspace.models import Dataset, Datastore
from workspace.roles import (
    MANAGE_COMPUTE,
    MANAGE_DATASTORES,
    MANAGE_ENDPOINTS,
    MANAGE_ENVIRONMENTS,
    REGISTER_ASSETS,
    VIEW,
)

MODEL_JSON_KEYS = {"name", "path", "type", "description", "version"}


# --- models -------------------------------------------------------------------------------------------


def _copy(client, path: str, target: Path, budget: list[int]):
    """One datastore file copied, within what is left of the upload limit (the Models page's, for a zip)."""
    with client.open(path) as source, open(target, "wb") as out:
        while chunk := source.read(1024 * 1024):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise ValidationError(
                    "The model is larger than the %(mb)d MB limit.",
                    code="too_large",
                    params={"mb": settings.MODEL_UPLOAD_MAX_BYTES // (1024 * 1024)},
                )
            out.write(chunk)


def _copy_folder(client, path: str, dest: Path, budget: list[int]):
    """A datastore folder, nested folders too, copied to dest (an MLflow model folder may nest)."""
    for entry in client.list(path):
        target = dest / entry.name
        if entry.is_dir:
            target.mkdir()
            _copy_folder(client, entry.path, target, budget)
        else:
            _copy(client, entry.path, target, budget)


def _register_from_datastore(doc) -> registry.ModelVersion:
    """`path: azureml://datastores/<name>/paths/<folder or .zip>`: the files are read from the datastore and
    registered as `model create` registers a local folder or zip (its checks: type, version must be the next)."""
    match = DATASTORE_URI.match(str(doc.get("path") or ""))
    if not match:
        raise doc.error(
            "path",
            "'path' must be a datastore path (azureml://datastores/<name>/paths/<folder or .zip>); "
            "upload a zip as multipart/form-data (model_zip) instead.",
            "datastore_path_required",
        )
    store = Datastore.objects.filter(name=match["name"]).first()
    if store is None:
        raise doc.error("path", "there is no datastore named '%(name)s'.", "unknown_datastore", name=match["name"])
    client, path = store.client(), storage.clean_path(match["path"])
    with tempfile.TemporaryDirectory(prefix="api-model-") as tmp:
        local = Path(tmp) / (Path(path).name or "model")
        budget = [settings.MODEL_UPLOAD_MAX_BYTES]
        try:
            if path.lower().endswith(".zip"):
                _copy(client, path, local, budget)
            else:
                local.mkdir()
                _copy_folder(client, path, local, budget)
        except storage.StorageError as exc:
            raise doc.error("path", "%(problem)s", "path_not_found", problem=str(exc)) from exc
        doc.folder, doc.data["path"] = Path(tmp), local.name
        return azure_assets.register_model(doc)


@api_view("GET", "POST", require={"GET": VIEW, "POST": REGISTER_ASSETS})
def model_list(request):
    """GET lists the models; POST registers a new version: multipart/form-data as the Models page's Register
    (name, description, model_type mlflow|custom, model_zip), or Azure's model YAML as JSON whose path is a
    datastore path."""
    if request.method == "POST":
        if request.content_type == "multipart/form-data":
            form = RegisterModelForm(request.POST, request.FILES)
            if not form.is_valid():
                raise form_error(form)
            version = form.register()
        else:
            version = _register_from_datastore(document(request))
        return answer(model_version_json(version), True, request, "api:models")
    try:
        models = registry.list_models()
    except registry.RegistryError as exc:
        raise ApiError(503, "registry_unavailable", str(exc)) from exc
    return JsonResponse(
        {"value": [{key: m[key] for key in ("name", "description", "versions", "latest")} for m in models]}
    )


def _not_found(exc: ValidationError):
    """A reference to nothing (unknown model, version, alias, dataset) is a 404, with its coded message."""
    return ApiError(404, exc.code or "not_found", " ".join(exc.messages))


@api_view("GET", require=VIEW)
def model_detail(request, name, version):
    """One model version (version "latest" the newest), with its aliases, tags, run and signature."""
    try:
        found = registry.find(registry.ModelReference(name=name, version=version))
    except ValidationError as exc:
        raise _not_found(exc) from exc
    return JsonResponse(
        {
            **model_version_json(found),
            "aliases": found.aliases,
            "tags": found.tags,
            "run_id": found.run_id,
            "run_url": found.run_url,
            "signature": {"inputs": found.signature_inputs, "outputs": found.signature_outputs},
        }
    )


@api_view("PUT", "DELETE", require=MANAGE_ENDPOINTS)
def model_alias(request, name, alias):
    """PUT {"version": "2"} points the alias at that version (moving it), as the model page's Set alias does;
    DELETE removes it. Deployments pinned to the alias use the version it names from their next job on."""
    if request.method == "DELETE":
        try:
            registry.delete_alias(name, alias)
        except ValidationError as exc:
            raise _not_found(exc) if exc.code in ("unknown_alias", "unknown_model") else exc from exc
        return HttpResponse(status=204)
    doc = document(request)
    yaml_document.check(doc, {"version": (str, int)})
    if not doc.has("version"):
        raise doc.error("version", 'give the version the alias names: {"version": "2"}.', "required")
    ref = registry.set_alias(name, alias, str(doc.get("version")))
    warm.alias_moved(name, ref.alias)
    return JsonResponse({"name": name, "alias": ref.alias, "version": str(ref.version)})


# --- data assets --------------------------------------------------------------------------------------


@api_view("GET", "POST", require={"GET": VIEW, "POST": REGISTER_ASSETS})
def dataset_list(request):
    """GET lists the data assets (paged); POST registers a version from Azure's data YAML as JSON whose path is a
    datastore path, as `data create` does (the Studio's dataset form checks it)."""
    if request.method == "POST":
        doc = document(request)
        if not DATASTORE_URI.match(str(doc.get("path") or "")):
            refuse_server_paths(doc, "path")
        dataset = azure_assets.register_dataset(doc, user=request.user)
        return answer(dataset_json(dataset), True, request, "api:datasets")
    found = page(request, Dataset.objects.select_related("datastore"))
    found["value"] = [dataset_json(d) for d in found["value"]]
    return JsonResponse(found)


# --- environments -------------------------------------------------------------------------------------


@api_view("GET", "POST", require={"GET": VIEW, "POST": MANAGE_ENVIRONMENTS})
def environment_list(request):
    """GET lists the environments; POST registers one from Azure's environment YAML as JSON (conda_file inline),
    as `environment create` does, and queues its build as the Studio's Build again does. The same name and
    requirements as an existing version answer that version (200)."""
    if request.method == "POST":
        doc = document(request)
        if isinstance(doc.get("conda_file"), str):
            refuse_server_paths(doc, "conda_file")
        known = set(Environment.objects.values_list("pk", flat=True))
        env = azure_assets.register_environment(doc)
        if env.claim_build():
            queue.build_environment_later(env, settings.DEFAULT_COMPUTE)
        return answer(environment_json(env), env.pk not in known, request, "api:environments")
    return JsonResponse({"value": [environment_json(e) for e in Environment.objects.order_by("name", "version")]})


@api_view("GET", require=VIEW)
def dataset_detail(request, name, version):
    """One data asset version ("latest": the most recently created)."""
    try:
        return JsonResponse(dataset_json(Dataset.lookup(name, version)))
    except ValidationError as exc:
        raise _not_found(exc) from exc


@api_view("GET", require=VIEW)
def environment_detail(request, name, version):
    return JsonResponse(environment_json(get_object_or_404(Environment, name=name, version=version)))


@api_view("POST", require=MANAGE_ENVIRONMENTS)
def environment_rebuild(request, name, version):
    """Build a Failed environment again, as its page's Build again does (202); 409 not_failed for any other state."""
    env = get_object_or_404(Environment, name=name, version=version)
    if not env.build_again():
        raise ApiError(409, "not_failed", f"Environment {env.label} is {env.state}: only a Failed one is built again.")
    queue.build_environment_later(env, BatchDeployment.compute_of_environment(env.label))
    return JsonResponse(environment_json(env), status=202)


# --- compute ------------------------------------------------------------------------------------------


@api_view("GET", "POST", require={"GET": VIEW, "POST": MANAGE_COMPUTE})
def compute_list(request):
    """GET lists the compute clusters; POST creates one from Azure's compute YAML as JSON (name, min_instances,
    max_instances, description; size and the like accepted and not stored), through the Compute page's + New."""
    if request.method == "POST":
        doc = document(request)
        yaml_document.check(doc, azure_workspace.COMPUTE_SCHEMA)
        name, kind = doc.get("name"), doc.get("type", "amlcompute")
        if kind not in azure_workspace.COMPUTE_TYPES:
            raise doc.error(
                "type", "compute type '%(type)s' is not supported: only amlcompute.", "invalid_choice", type=kind
            )
        if name and ComputeCluster.objects.filter(name=name).exists():
            raise ApiError(409, "compute_exists", f"A compute cluster named '{name}' exists.")
        fields = {"min_instances": 0, "max_instances": 1, **doc.data}
        form = ComputeClusterForm({key: fields.get(key, "") for key in ComputeClusterForm.Meta.fields})
        if not form.is_valid():
            raise form_error(form)
        form.instance.created_by = request.user
        return answer(compute_json(form.save()), True, request, "api:compute")
    return JsonResponse({"value": [compute_json(c) for c in ComputeCluster.objects.all()]})


@api_view("GET", "PUT", "DELETE", require={"GET": VIEW, "PUT": MANAGE_COMPUTE, "DELETE": MANAGE_COMPUTE})
def compute_detail(request, name):
    """PUT creates or updates a compute cluster from Azure's compute YAML as JSON, as `compute create` does (only the
    keys the body names change); DELETE removes its registration as `compute delete` does (deployments naming it
    keep their name; its workers keep running until stopped)."""
    if request.method == "PUT":
        exists = ComputeCluster.objects.filter(name=name).exists()
        cluster = azure_workspace.save_compute(document(request, name=name), user=request.user)
        return answer(compute_json(cluster), not exists, request, "api:compute-detail", cluster.name)
    cluster = get_object_or_404(ComputeCluster, name=name)
    if request.method == "DELETE":
        cluster.delete()
        return HttpResponse(status=204)
    return JsonResponse(compute_json(cluster))


# --- datastores ---------------------------------------------------------------------------------------


@api_view("POST", require=MANAGE_DATASTORES)
def datastore_default(request, name):
    """Make it the default datastore (the Data page's Set as default): job outputs and uploads go there."""
    store = get_object_or_404(Datastore, name=name)
    store.set_default()
    store.refresh_from_db()
    return JsonResponse(datastore_json(store))


@api_view("GET", "POST", require={"GET": VIEW, "POST": MANAGE_DATASTORES})
def datastore_list(request):
    """GET lists the datastores (never a secret); POST registers one from Azure's datastore YAML as JSON, as
    `datastore create` does: the Studio's datastore form checks it (no private address, the connection tested)."""
    if request.method == "POST":
        doc = document(request)
        name = doc.get("name")
        if name and Datastore.objects.filter(name=name).exists():
            raise ApiError(
                409, "datastore_exists", f"A datastore named '{name}' exists: PUT /api/v1/datastores/{name} updates it."
            )
        store = azure_workspace.save_datastore(doc)
        return answer(datastore_json(store), True, request, "api:datastore", store.name)
    return JsonResponse({"value": [datastore_json(s) for s in Datastore.objects.all()]})


@api_view("GET", "PUT", "DELETE", require={"GET": VIEW, "PUT": MANAGE_DATASTORES, "DELETE": MANAGE_DATASTORES})
def datastore_detail(request, name):
    """PUT creates or updates (the secret given again when the account, container or authentication changes, as
    on the edit page); DELETE refuses a datastore in use (the default, datasets, jobs) with 409 datastore_in_use."""
    if request.method == "PUT":
        exists = Datastore.objects.filter(name=name).exists()
        store = azure_workspace.save_datastore(document(request, name=name))
        return answer(datastore_json(store), not exists, request, "api:datastore", store.name)
    store = get_object_or_404(Datastore, name=name)
    if request.method == "DELETE":
        if reasons := store.users():
            raise ApiError(409, "datastore_in_use", f"Datastore {name} is in use: {'; '.join(reasons)}.")
        store.delete()  # the data itself stays where it is: only the registration goes
        return HttpResponse(status=204)
    return JsonResponse(datastore_json(store))
