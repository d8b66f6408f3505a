"""Azure Machine Learning's YAML files, read as-is into Batch Studio's objects.

Batch endpoint (`name`, `description`, `auth_mode`, `defaults`), model batch deployment (`endpoint_name`,
`model`, `code_configuration`, `environment`, `compute`, `resources`, `settings` or the older root-level
settings). Used by the management commands and the REST API; no HTTP here. The file is read by cli.yaml_document;
models, environments and data assets (a deployment's inline ones too) are registered by cli.azure_assets.

Every refusal is a coded ValidationError naming the key and the line it is on, because these files are
written by hand and read by CI logs.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from cli.azure_assets import ENVIRONMENT_SCHEMA, MODEL_SCHEMA, register_environment, register_model
from cli.yaml_document import ANY_MAPPING, COMMON, Document, _clean, _required, check
from endpoints import code as code_snapshots
from endpoints.models import BatchDeployment, BatchEndpoint
from workspace import registry
from workspace.environments import Environment

ENDPOINT_SCHEMA = {**COMMON, "name": str, "auth_mode": str, "defaults": {"deployment_name": str}}

SETTINGS_SCHEMA = {
    "max_concurrency_per_instance": int,
    "mini_batch_size": int,
    "output_action": str,
    "output_file_name": str,
    "retry_settings": {"max_retries": int, "timeout": int},
    "error_threshold": int,
    "logging_level": str,
    "error_threshold_unit": str,  # Batch Studio's own: files (Azure's rule, the default), rows or percent
    "environment_variables": ANY_MAPPING,
    # Beyond Azure (docs/ENGINE.md, Output options):
    "output_format": str,
    "passthrough_columns": list,
    "write_manifest": bool,
    "output_header": bool,  # false: predictions.csv without its header row, as Azure writes it
    "split_rows": int,  # a large file's rows shared by several mini-batches (docs/ENGINE.md, Splitting large files)
    "warm_start": bool,  # every worker keeps the model loaded (docs/ENGINE.md, Warm starts)
}
DEPLOYMENT_SCHEMA = {
    **COMMON,
    "name": str,
    "endpoint_name": str,
    "type": str,
    "model": (str, MODEL_SCHEMA),
    "code_configuration": {"code": str, "scoring_script": str},
    "environment": (str, ENVIRONMENT_SCHEMA),
    "compute": str,
    "resources": {"instance_count": int},
    "settings": SETTINGS_SCHEMA,
    **SETTINGS_SCHEMA,  # Azure's older deployment YAML puts the settings at the root.
}

AUTH_MODES = {"aad_token": "token", "token": "token", "key": "token"}
OUTPUT_ACTIONS = {"appendrow": BatchDeployment.APPEND_ROW, "summaryonly": BatchDeployment.SUMMARY_ONLY}

# Deployment model fields and the settings key each one is read from.
SETTING_KEYS = {
    "max_concurrency_per_instance": "max_concurrency_per_instance",
    "mini_batch_size": "mini_batch_size",
    "output_action": "output_action",
    "output_file_name": "output_file_name",
    "error_threshold": "error_threshold",
    "error_threshold_unit": "error_threshold_unit",
    "logging_level": "logging_level",
    "environment_variables": "environment_variables",
    "max_retries": "retry_settings.max_retries",
    "timeout": "retry_settings.timeout",
    "output_format": "output_format",
    "passthrough_columns": "passthrough_columns",
    "write_manifest": "write_manifest",
    "output_header": "output_header",
    "split_rows": "split_rows",
    "warm_start": "warm_start",
}


def _strip_azureml(value: str) -> str:
    return value[len("azureml:") :] if value.startswith("azureml:") else value


# --- endpoint -----------------------------------------------------------------------------------------


def save_endpoint(doc: Document, *, create: bool, user=None) -> BatchEndpoint:
    """`az ml batch-endpoint create|update -f endpoint.yml`."""
    check(doc, ENDPOINT_SCHEMA)
    name = _required(doc, "name")
    endpoint = BatchEndpoint.objects.filter(name__iexact=name).first()
    # `create` creates or updates, as Azure's does: a re-run pipeline does not fail on what it made last time.
    if not create and endpoint is None:
        raise doc.error("name", "there is no endpoint named '%(name)s'.", "unknown_endpoint", name=name)
    endpoint = endpoint or BatchEndpoint(name=name, created_by=user)
    if doc.has("description"):
        endpoint.description = doc.get("description")
    if doc.has("auth_mode"):
        mode = doc.get("auth_mode")
        if mode not in AUTH_MODES:
            raise doc.error(
                "auth_mode", "auth_mode must be one of %(modes)s.", "invalid_choice", modes=", ".join(AUTH_MODES)
            )
        # Azure's aad_token and key both become our own personal access tokens.
        endpoint.auth_mode = AUTH_MODES[mode]
    _clean(doc, endpoint, {"name": "name", "description": "description"}, exclude=["default_deployment", "created_by"])
    default_name = doc.get("defaults.deployment_name")
    with transaction.atomic():
        endpoint.save()
        if default_name:
            deployment = endpoint.deployments.filter(name=default_name).first()
            if deployment:
                endpoint.set_default(deployment)
            elif not create:
                raise doc.error(
                    "defaults.deployment_name",
                    "endpoint '%(endpoint)s' has no deployment named '%(name)s'.",
                    "unknown_deployment",
                    endpoint=endpoint.name,
                    name=default_name,
                )
            # On create there is no deployment yet: the first one added becomes the default.
    return endpoint


# --- deployment ---------------------------------------------------------------------------------------


def _model_reference(doc: Document, key: str) -> registry.ModelReference:
    """`azureml:<name>:<version>`, `azureml:<name>@<alias>` (`@latest`: the newest version now), or MLflow's
    `models:/<name>/<version>` and `models:/<name>@<alias>`, checked against the registry (registry.parse_model_uri)."""
    try:
        return registry.resolve_version(registry.parse_model_uri(doc.get(key)))
    except ValidationError as exc:
        raise doc.error(key, "%(problem)s", exc.code, problem=" ".join(exc.messages)) from exc


def _environment_reference(doc: Document, key: str) -> str:
    reference = _strip_azureml(doc.get(key))
    name, _, version = reference.replace("@", ":", 1).partition(":")
    env = Environment.lookup(f"{name}:{version}" if version else name)
    if env is None:
        raise doc.error(key, "there is no environment '%(name)s'.", "unknown_environment", name=reference)
    return env.label


def _setting_key(doc: Document, setting: str) -> str | None:
    """Where a setting is given: under `settings:` or (older YAML) at the root; refused if both."""
    nested, root = f"settings.{setting}", setting
    if doc.has(nested) and doc.has(root):
        raise doc.error(root, "'%(key)s' is given both under settings: and at the root.", "duplicate_setting")
    return nested if doc.has(nested) else root if doc.has(root) else None


def _deployment_values(doc: Document, endpoint_name: str, name: str) -> tuple[dict, dict]:
    """The deployment's field values read from the document, and the YAML key each came from."""
    values, keys = {}, {}

    def put(field_name, key, value):
        values[field_name], keys[field_name] = value, key

    for field_name, setting in SETTING_KEYS.items():
        key = _setting_key(doc, setting)
        if key:
            put(field_name, key, doc.get(key))
    if "output_action" in values:
        action = OUTPUT_ACTIONS.get(str(values["output_action"]).lower().replace("_", ""))
        if action is None:
            raise doc.error(
                keys["output_action"], "output_action must be append_row or summary_only.", "invalid_choice"
            )
        values["output_action"] = action
    if "environment_variables" in values:
        values["environment_variables"] = {str(k): str(v) for k, v in values["environment_variables"].items()}
    if doc.has("resources.instance_count"):
        put("instance_count", "resources.instance_count", doc.get("resources.instance_count"))
    if doc.has("compute"):
        put("compute", "compute", _strip_azureml(doc.get("compute")))
    if doc.has("description"):
        put("description", "description", doc.get("description"))
    if doc.has("model"):
        if isinstance(doc.get("model"), dict):
            model = register_model(doc, "model", default_name=f"{endpoint_name}-{name}-model")
            reference = registry.ModelReference(model.name, model.version)
        else:
            reference = _model_reference(doc, "model")
        put("model_name", "model", reference.name)
        put("model_version", "model", reference.version)
        put("model_alias", "model", reference.alias)
    if doc.has("code_configuration"):
        code = _required(doc, "code_configuration.code")
        script = _required(doc, "code_configuration.scoring_script")
        folder = doc.folder / code
        if not folder.is_dir():
            raise doc.error(
                "code_configuration.code", "the code folder %(path)s does not exist.", "path_not_found", path=folder
            )
        try:
            put("code_path", "code_configuration.code", code_snapshots.store_code(folder, script))
        except ValidationError as exc:
            raise doc.error(
                "code_configuration.scoring_script", "%(problem)s", exc.code, problem=" ".join(exc.messages)
            ) from exc
        put("scoring_script", "code_configuration.scoring_script", script)
    if doc.has("environment"):
        if isinstance(doc.get("environment"), dict):
            label = register_environment(doc, "environment", default_name=f"{endpoint_name}-{name}-env").label
        else:
            label = _environment_reference(doc, "environment")
        put("environment", "environment", label)
    return values, keys


def save_deployment(doc: Document, *, create: bool, set_default: bool = False) -> BatchDeployment:
    """`az ml batch-deployment create|update -f deployment.yml [--set-default]`."""
    kind = doc.get("type", "model")
    if kind == "pipeline":
        raise doc.error(
            "type",
            "pipeline component deployments (type: pipeline) are not supported yet: only model deployments "
            "(type: model, a model with an optional scoring script) run here. docs/AZURE-MIGRATION.md says why.",
            "unsupported_type",
        )
    check(doc, DEPLOYMENT_SCHEMA)
    if kind != "model":
        raise doc.error("type", "only model deployments are supported, not '%(type)s'.", "unsupported_type", type=kind)
    endpoint_name = _required(doc, "endpoint_name")
    name = _required(doc, "name")
    endpoint = BatchEndpoint.objects.filter(name=endpoint_name).first()
    if endpoint is None:
        raise doc.error(
            "endpoint_name", "there is no endpoint named '%(name)s'.", "unknown_endpoint", name=endpoint_name
        )
    deployment = endpoint.deployments.filter(name=name).first()  # `create` of an existing one updates it
    if not create and deployment is None:
        raise doc.error(
            "name",
            "endpoint '%(endpoint)s' has no deployment named '%(name)s'.",
            "unknown_deployment",
            endpoint=endpoint.name,
            name=name,
        )
    if deployment is None and not doc.has("model"):
        raise doc.error("model", "'%(key)s' is required.", "required")
    deployment = deployment or BatchDeployment(endpoint=endpoint, name=name)
    values, keys = _deployment_values(doc, endpoint.name, name)
    for field_name, value in values.items():
        setattr(deployment, field_name, value)
    keys["name"] = "name"
    try:  # an MLflow deployment: the environment its model's requirements describe (Azure's no-code deployment)
        deployment.use_model_environment()
    except ValidationError as exc:
        raise doc.error("model", "%(problem)s", exc.code, problem=" ".join(exc.messages)) from exc
    keys.setdefault("environment", "model")
    _clean(doc, deployment, keys, exclude=["endpoint"])
    with transaction.atomic():
        deployment.save()
        # The first deployment of an endpoint becomes its default, as in the Studio's create wizard.
        if set_default or endpoint.default_deployment_id is None:
            endpoint.set_default(deployment)
    return deployment
