"""Endpoints, deployments and jobs as JSON: the API's answers and the command line's `show` output."""

from django.urls import reverse

from jobs.models import BatchJob, Status
from workspace.compute.live import no_worker_warning

# Azure's ids are resource paths; ours name one local workspace, so that scripts splitting an id on "/" still work.
WORKSPACE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/batch-studio"
    "/providers/Microsoft.MachineLearningServices/workspaces/batch-studio"
)
JOB_TYPE = "Microsoft.MachineLearningServices/workspaces/jobs"

SETTING_FIELDS = (
    "max_concurrency_per_instance",
    "mini_batch_size",
    "output_action",
    "output_file_name",
    "error_threshold",
    "error_threshold_unit",
    "logging_level",
    "environment_variables",
    "output_format",
    "passthrough_columns",
    "write_manifest",
    "output_header",
    "split_rows",
    "warm_start",
)
MAX_ERRORS = 50


def _iso(value):
    return value.isoformat() if value else None


def _url(base: str, name: str, *args) -> str:
    return base.rstrip("/") + reverse(name, args=args)


def endpoint_json(endpoint, base: str = "") -> dict:
    default = endpoint.default_deployment
    return {
        "name": endpoint.name,
        "description": endpoint.description,
        "auth_mode": endpoint.auth_mode,
        "provisioning_state": endpoint.provisioning_state,
        "defaults": {"deployment_name": default.name if default else None},
        "scoring_uri": base.rstrip("/") + endpoint.scoring_uri_path,
        "studio_url": base.rstrip("/") + endpoint.get_absolute_url(),
        "created": _iso(endpoint.created),
        "updated": _iso(endpoint.updated),
    }


def deployment_json(deployment) -> dict:
    """Shaped like Azure's deployment YAML, so that `show` output reads like the file that made it."""
    settings = {key: getattr(deployment, key) for key in SETTING_FIELDS}
    settings["retry_settings"] = {"max_retries": deployment.max_retries, "timeout": deployment.timeout}
    data = {
        "name": deployment.name,
        "endpoint_name": deployment.endpoint.name,
        "description": deployment.description,
        "type": "model",
        "model": f"azureml:{deployment.model_display}",
        "compute": f"azureml:{deployment.compute}",
        "resources": {"instance_count": deployment.instance_count},
        "settings": settings,
        "is_default": deployment.is_default,
        "created": _iso(deployment.created),
        "updated": _iso(deployment.updated),
    }
    if deployment.scoring_script:
        data["code_configuration"] = {"code": deployment.code_path, "scoring_script": deployment.scoring_script}
    if deployment.environment:
        data["environment"] = f"azureml:{deployment.environment}"
    return data


def job_errors(job) -> list[dict]:
    """The first errors of a job, mini-batch and file level, for a client that must say why it failed."""
    errors = []
    for mb in job.mini_batches.exclude(error="", file_errors=[]).order_by("index")[:MAX_ERRORS]:
        if mb.error:
            errors.append({"mini_batch": mb.index, "file": None, "message": mb.error})
        errors += [
            {"mini_batch": mb.index, "file": e.get("file"), "message": e.get("message", "")} for e in mb.file_errors
        ]
    return errors[:MAX_ERRORS]


def job_json(job: BatchJob, base: str = "", detail: bool = True) -> dict:
    output_file = job.settings.get("output_file_name") or None
    outputs = {name: _url(base, "api:job-output", job.name, name) for name in job.output_files()}
    data = {
        "name": job.name,
        "endpoint_name": job.endpoint_name,
        "deployment_name": job.deployment_name,
        "compute": job.compute,
        # The exact version the job scored with, and the alias it was resolved from as the job started.
        "model": {
            "name": job.model_name,
            "version": job.model_version,
            "alias": job.model_alias or None,
            "uri": job.model_uri,
        },
        "status": job.status,
        "error": job.error or None,
        "retry_of": job.retry_of.name if job.retry_of_id else None,
        "retried_by": [r.name for r in job.retries.all()],
        "input": {"uri": job.input_display, "skipped": _type_skips(job.input_skipped)},
        "output": {
            "datastore": job.output_datastore,
            "path": job.output_path,
            "file_name": output_file,
            "uri": job.output_uri,
        },
        "settings": job.settings,
        "overrides": job.overrides,
        "counts": {
            "files_total": job.files_total,
            "files_failed": job.files_failed,
            "mini_batches_total": job.mini_batches_total,
            "mini_batches_done": job.mini_batches_done,
            "mini_batches_failed": job.mini_batches_failed,
            "rows_out": job.rows_out,
            "rows_in_progress": job.rows_in_progress,  # scored so far by the running mini-batches
            "rows_failed": job.rows_failed,
            "files_partial": job.files_partial,
        },
        "progress_percent": job.progress_percent,
        "timings": {
            "created": _iso(job.created),
            "started": _iso(job.started),
            "finished": _iso(job.finished),
            "duration_seconds": job.duration.total_seconds() if job.duration is not None else None,
        },
        "urls": {
            "status": _url(base, "api:job", job.name),
            "studio": base.rstrip("/") + job.get_absolute_url(),
            "cancel": _url(base, "api:job-cancel", job.name),
            "retry": _url(base, "api:job-retry", job.name),
            "outputs": outputs,
        },
    }
    if detail:
        data["errors"] = job_errors(job)
        # A job waiting on a cluster that no live worker serves would wait silently.
        data["warnings"] = [] if job.is_finished else [w for w in [no_worker_warning(job.compute)] if w]
    return data


def azure_job_json(job: BatchJob, base: str = "", detail: bool = True) -> dict:
    """The API's job: Azure's resource shape (id, name, type, properties) with job_json's flat fields beside it, which
    clients of the Studio read. Azure has no "completed with errors": properties.status says Completed (the output
    is published) and properties.completedWithErrors says that rows or files were set aside in errors.csv."""
    data = job_json(job, base, detail)
    with_errors = job.status == Status.COMPLETED_WITH_ERRORS
    data.update(
        id=f"{WORKSPACE_ID}/jobs/{job.name}",
        type=JOB_TYPE,
        properties={
            "status": Status.COMPLETED.value if with_errors else job.status,
            "completedWithErrors": with_errors,
            "displayName": job.name,
            "experimentName": job.endpoint_name,
            "jobType": "Pipeline",
            "creationTimeUtc": _iso(job.created),
            "startTimeUtc": _iso(job.started),
            "endTimeUtc": _iso(job.finished),
            "properties": {"azureml.batchrun": "true", "azureml.deploymentname": job.deployment_name},
        },
    )
    return data


def model_version_json(version) -> dict:
    """A registered model version, as the model list names it (azureml:<name>:<version> for a deployment)."""
    return {
        "name": version.name,
        "version": str(version.version),
        "id": f"azureml:{version.label}",
        "type": "mlflow_model" if version.is_mlflow else "custom_model",
        "description": version.description or "",
    }


def environment_json(env) -> dict:
    return {
        "name": env.name,
        "version": str(env.version),
        "id": f"azureml:{env.label}",
        "description": env.description,
        "requirements": env.requirements,
        "status": env.state,
    }


def compute_json(cluster) -> dict:
    return {
        "name": cluster.name,
        "type": cluster.type,
        "description": cluster.description,
        "min_instances": cluster.min_instances,
        "max_instances": cluster.max_instances,
    }


def datastore_json(store) -> dict:
    """A datastore without its secret: only whether it has one."""
    data = {
        "name": store.name,
        "description": store.description,
        "type": store.kind,
        "is_default": store.is_default,
        "has_secret": store.has_secret,
        "uri": store.uri(""),
    }
    if store.kind == store.LOCAL:
        data["path"] = store.root
    elif store.kind == store.AZURE_BLOB:
        data.update(
            account_url=store.account_url, container_name=store.container, credential_type=store.credential_type
        )
    else:
        data.update(endpoint_url=store.endpoint_url, bucket=store.bucket, region=store.region)
    return data


def dataset_json(dataset) -> dict:
    return {
        "name": dataset.name,
        "version": str(dataset.version),
        "id": dataset.uri,
        "type": dataset.type,
        "description": dataset.description,
        "datastore_uri": dataset.datastore_uri,
        "uploaded": dataset.uploaded,
        "created": _iso(dataset.created),
    }


def comparison_json(comparison, base: str = "") -> dict:
    """Compare deployments: the two jobs, the state, and the report once computed (see jobs/comparison.py)."""

    def side(job):
        return {
            "deployment_name": job.deployment_name,
            "job": job.name,
            "status": job.status,
            "progress_percent": job.progress_percent,
            "url": _url(base, "api:job", job.name),
        }

    return {
        "id": comparison.pk,
        "endpoint_name": comparison.endpoint_name,
        "input": {"uri": comparison.input_display},
        "state": comparison.state,
        "error": comparison.error or None,
        "baseline": side(comparison.baseline),
        "candidate": side(comparison.candidate),
        "report": comparison.report if comparison.state == comparison.COMPLETED else None,
        "timings": {"created": _iso(comparison.created), "finished": _iso(comparison.finished)},
        "urls": {
            "status": _url(base, "api:comparison", comparison.pk),
            "studio": base.rstrip("/") + comparison.get_absolute_url(),
        },
    }


def _type_skips(skipped: dict) -> dict | None:
    """The input files left out for their type, as openapi.yaml says (the page also names symlinks left out)."""
    return {key: skipped[key] for key in ("count", "types", "names")} if (skipped or {}).get("count") else None
