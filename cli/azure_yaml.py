"""Azure Machine Learning's YAML files, read as-is into Batch Studio's objects.

Batch endpoint (`name`, `description`, `auth_mode`, `defaults`), model batch deployment (`endpoint_name`,
`model`, `code_configuration`, `environment`, `compute`, `resources`, `settings` or the older root-level
settings), model and environment. Used by the management commands; no HTTP here.

Every refusal is a coded ValidationError naming the key and the line it is on, because these files are
written by hand and read by CI logs.
"""

import datetime
import difflib
import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from endpoints import code as code_snapshots
from endpoints.models import BatchDeployment, BatchEndpoint
from engine import envbuild
from jobs.inputs import DATASTORE_URI
from workspace import registry
from workspace.environments import Environment, at_line, require_packages, requirements_from_conda
from workspace.forms import DatasetForm
from workspace.models import Dataset, Datastore

# A schema is a dict of key -> expected type; a nested dict is a nested mapping; a tuple is "one of".
ANY_MAPPING = dict
COMMON = {"$schema": str, "description": str, "tags": ANY_MAPPING}

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
MODEL_SCHEMA = {**COMMON, "name": str, "version": (str, int), "type": str, "path": str}
ENVIRONMENT_SCHEMA = {**COMMON, "name": str, "version": (str, int), "image": str, "conda_file": (str, ANY_MAPPING)}
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
MODEL_TYPES = ("mlflow_model", "custom_model")

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


@dataclass
class Document:
    """A YAML file's data, the line of every key (dotted: `settings.retry_settings.timeout`), and its folder."""

    data: dict
    source: str = "<yaml>"
    folder: Path = field(default_factory=Path.cwd)
    lines: dict = field(default_factory=dict)

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        if line == "--set":
            return f"--set {key}"
        return f"{self.source}, line {line}" if line else self.source

    def error(self, key: str, message: str, code: str, **params) -> ValidationError:
        params = {"where": self.where(key), "key": key, **params}
        return ValidationError("%(where)s: " + message, code=code, params=params)

    def get(self, key: str, default=None):
        value = self.data
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    def has(self, key: str) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def set(self, key: str, value):
        """An override from the command line (`--set settings.mini_batch_size=20`, `--name`)."""
        target = self.data
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise self.error(".".join(parts[: i + 1]), "'%(key)s' is not a mapping.", "wrong_type")
        target[parts[-1]] = value
        self.lines[key] = "--set"


_MISSING = object()


def _record_lines(doc: Document, node, prefix: str = ""):
    """The line of every mapping key; a key given twice is refused (PyYAML would silently keep the last)."""
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            doc.lines[key] = key_node.start_mark.line + 1
            if key in seen:
                raise doc.error(key, "'%(key)s' is given twice.", "duplicate_key")
            seen.add(key)
            _record_lines(doc, value_node, key)
    elif isinstance(node, yaml.SequenceNode):  # list items as key[0], key[1]...: a conda file's dependencies
        for index, item in enumerate(node.value):
            doc.lines[f"{prefix}[{index}]"] = item.start_mark.line + 1
            _record_lines(doc, item, f"{prefix}[{index}]")


def loads(text: str, source: str = "<yaml>", folder: Path | None = None, sets=()) -> Document:
    """Parse YAML text; `sets` are `key=value` strings applied on top (values are read as YAML)."""
    doc = Document(data={}, source=source, folder=Path(folder or Path.cwd()))
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        raise ValidationError(
            "%(where)s: this is not valid YAML: %(problem)s",
            code="invalid_yaml",
            params={"where": where, "problem": getattr(exc, "problem", None) or exc},
        ) from exc
    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise ValidationError(
            "%(where)s: the file must be a mapping of keys to values.", code="wrong_type", params={"where": source}
        )
    doc.data = data
    _record_lines(doc, node)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError("--set takes key=value, not '%(item)s'.", code="invalid_set", params={"item": item})
        doc.set(key.strip(), yaml.safe_load(value) if value.strip() else "")
    return doc


def load(path, sets=()) -> Document:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValidationError(
            "Cannot read %(path)s: %(error)s", code="file_unreadable", params={"path": path, "error": exc.strerror}
        ) from exc
    return loads(text, source=path.name, folder=path.resolve().parent, sets=sets)


# --- checking a document against a schema -------------------------------------------------------------


def _type_name(expected) -> str:
    if isinstance(expected, tuple):
        return " or ".join(_type_name(e) for e in expected)
    if isinstance(expected, dict) or expected is ANY_MAPPING:
        return "a mapping"
    return {str: "a string", int: "an integer", list: "a list", bool: "true or false"}[expected]


def _set_hint(doc: Document, path: str, expected) -> str:
    """How to write a list or a mapping in --set (a plain value there is a string)."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if doc.lines.get(path) != "--set":
        return ""
    if list in kinds:
        return " On the command line a list goes in brackets: --set %(key)s=[a,b]."
    if any(isinstance(kind, dict) or kind is ANY_MAPPING for kind in kinds):
        return " On the command line a mapping goes in braces: --set '%(key)s={name: value}'."
    return ""


def _matches(value, expected) -> bool:
    if isinstance(expected, tuple):
        return any(_matches(value, e) for e in expected)
    if isinstance(expected, dict):
        return isinstance(value, dict)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def check(doc: Document, schema: dict, data: dict | None = None, prefix: str = ""):
    """Refuse unknown keys and wrong types, naming the key and its line."""
    data = doc.data if data is None else data
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise doc.error(path, "unknown key '%(key)s'." + hint, "unknown_key")
        expected = schema[key]
        if not _matches(value, expected):
            raise doc.error(
                path,
                "'%(key)s' must be %(type)s." + _set_hint(doc, path, expected),
                "wrong_type",
                type=_type_name(expected),
            )
        nested = next(
            (
                e
                for e in (expected if isinstance(expected, tuple) else (expected,))
                if isinstance(e, dict) and isinstance(value, dict)
            ),
            None,
        )
        if nested is not None:
            check(doc, nested, value, path)


def _required(doc: Document, key: str) -> str:
    value = doc.get(key)
    if value in (None, ""):
        raise doc.error(key, "'%(key)s' is required.", "required")
    return value


def _strip_azureml(value: str) -> str:
    return value[len("azureml:") :] if value.startswith("azureml:") else value


def _clean(doc: Document, obj, keys: dict, exclude=()):
    """Model validation, with each field's error pointed at the YAML key it came from."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field_name, errors = next(iter(exc.error_dict.items()))
        key = keys.get(field_name, field_name)
        raise doc.error(
            key, "'%(key)s': %(problem)s", errors[0].code or "invalid", problem=" ".join(errors[0].messages)
        ) from exc


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


# --- model --------------------------------------------------------------------------------------------


def _model_reference(doc: Document, key: str) -> registry.ModelReference:
    """`azureml:<name>:<version>`, `azureml:<name>@<alias>` (`@latest`: the newest version now), or MLflow's
    `models:/<name>/<version>` and `models:/<name>@<alias>`, checked against the registry (registry.parse_model_uri)."""
    try:
        return registry.resolve_version(registry.parse_model_uri(doc.get(key)))
    except ValidationError as exc:
        raise doc.error(key, "%(problem)s", exc.code, problem=" ".join(exc.messages)) from exc


def _next_version(name: str) -> str:
    try:
        return str(int(registry.get_version(name, "latest").version) + 1)
    except registry.RegistryError:
        return "1"


def _prefixed(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def register_model(doc: Document, prefix: str = "", default_name: str = "") -> registry.ModelVersion:
    """`az ml model create -f model.yml` (or a deployment's inline `model:`): registers the folder or zip at `path`."""
    key = functools.partial(_prefixed, prefix)
    if not prefix:
        check(doc, MODEL_SCHEMA)
    name = doc.get(key("name")) or default_name or _required(doc, key("name"))
    kind = doc.get(key("type"), "mlflow_model")
    if kind not in MODEL_TYPES:
        raise doc.error(
            key("type"), "model type must be one of %(types)s.", "invalid_choice", types=", ".join(MODEL_TYPES)
        )
    path = doc.folder / _required(doc, key("path"))
    if not path.exists():
        raise doc.error(key("path"), "%(path)s does not exist.", "path_not_found", path=path)
    if doc.has(key("version")):
        # The registry numbers versions itself; a file may only name the number it is going to get.
        expected = _next_version(name)
        if str(doc.get(key("version"))) != expected:
            raise doc.error(
                key("version"),
                "model '%(name)s' gets version %(expected)s next, not %(version)s.",
                "version_mismatch",
                name=name,
                expected=expected,
                version=doc.get(key("version")),
            )
    description = doc.get(key("description"), "")
    try:
        tags = registry.check_tags(doc.get(key("tags")))  # the version's MLflow tags
    except ValidationError as exc:
        raise doc.error(key("tags"), "%(problem)s", exc.code, problem=" ".join(exc.messages)) from exc
    if path.is_dir():
        return registry.register_folder(name, path, description, tags)
    with open(path, "rb") as fh:
        return registry.register_zip(name, fh, description, tags)


# --- environment --------------------------------------------------------------------------------------


def _environment_reference(doc: Document, key: str) -> str:
    reference = _strip_azureml(doc.get(key))
    name, _, version = reference.replace("@", ":", 1).partition(":")
    env = Environment.lookup(f"{name}:{version}" if version else name)
    if env is None:
        raise doc.error(key, "there is no environment '%(name)s'.", "unknown_environment", name=reference)
    return env.label


def _conda_requirements(doc: Document, key: str) -> str:
    """The packages of the conda file (a path beside the YAML, or inline): its pip section and its conda
    dependencies mapped to pip, refused by file and line when pip cannot install one; its python pin must hold
    here; a file that lists no package is refused (no_packages)."""
    value = doc.get(key)
    if isinstance(value, dict):  # inline: its lines are the document's own
        text, name = yaml.safe_dump(value, sort_keys=False), ""

        def where(error):
            return doc.where(f"{key}.dependencies[{error.index}]" if error and error.index is not None else key)

    else:
        path = doc.folder / value
        try:
            text, name = path.read_text(), str(value)
        except OSError as exc:
            raise doc.error(
                key, "cannot read %(path)s: %(error)s", "path_not_found", path=path, error=exc.strerror
            ) from exc

        def where(error):
            return at_line(name, error)

    try:
        requirements = requirements_from_conda(text, where)
    except ValidationError as exc:
        if not name:  # inline: the message names the document's line already
            raise
        raise doc.error(key, "%(problem)s", exc.code, problem=" ".join(exc.messages)) from exc
    if problem := envbuild.python_problem(envbuild.conda_python(text), f"The conda file {name}".strip()):
        raise doc.error(key, "%(problem)s", "python_unsatisfiable", problem=problem)
    try:
        require_packages(requirements, f"The conda file {name}".strip())
    except ValidationError as exc:
        raise doc.error(key, "%(problem)s", exc.code, problem=" ".join(exc.messages)) from exc
    return requirements


IMAGE_ONLY = (
    "an image alone gives no packages: Batch Studio has no container runtime and does not run %(image)s; it builds "
    "an environment from a conda file's packages (its pip: list, and name=version dependencies) over the workers' "
    "own Python. Add conda_file: a conda YAML listing the packages the scoring script imports, or leave the "
    "environment out (azureml:studio) to run on the workers' own packages."
)


def register_environment(doc: Document, prefix: str = "", default_name: str = ""):
    """`az ml environment create -f env.yml` (or a deployment's inline `environment:`): a jobs.Environment
    holding the conda file's packages as pip requirements. Same name and requirements: the existing version is
    reused. An image without a conda file is refused (there is no container runtime to run it)."""
    key = functools.partial(_prefixed, prefix)
    if not prefix:
        check(doc, ENVIRONMENT_SCHEMA)
    name = doc.get(key("name")) or default_name or _required(doc, key("name"))
    # `image` names an Azure container image: we run the workers' Python with the conda file's packages on top.
    if not doc.has(key("conda_file")):
        if doc.get(key("image")):
            raise doc.error(key("image"), IMAGE_ONLY, "image_only_environment", image=doc.get(key("image")))
        raise doc.error(
            key("conda_file"),
            "'%(key)s' is required: a conda YAML listing the packages the scoring script imports.",
            "required",
        )
    requirements = _conda_requirements(doc, key("conda_file"))
    versions = Environment.objects.filter(name=name)
    if doc.has(key("version")):
        version = str(doc.get(key("version")))
        existing = versions.filter(version=version).first()
        if existing and existing.requirements.strip() != requirements.strip():
            raise doc.error(
                key("version"),
                "environment %(name)s:%(version)s exists with other requirements; "
                "environments are immutable, give a new version.",
                "environment_exists",
                name=name,
                version=version,
            )
    else:
        existing, version = Environment.next_version(name, requirements)
    if existing:
        return existing
    return Environment.objects.create(
        name=name, version=version, requirements=requirements, description=doc.get(key("description"), "")
    )


# --- deployment ---------------------------------------------------------------------------------------


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


# --- data asset ---------------------------------------------------------------------------------------

DATA_SCHEMA = {**COMMON, "name": str, "version": (str, int), "type": str, "path": str}
DATA_TYPES = ("uri_folder", "uri_file")
DATA_FORM_KEYS = {
    "name": "name",
    "version": "version",
    "description": "description",
    "type": "type",
    "path": "path",
    "files": "path",
    "datastore": "path",
}


def register_dataset(doc: Document, user=None):
    """`az ml data create -f data.yml`: a datastore path (azureml://datastores/...) or a local file or folder,
    uploaded to the default datastore, registered through the Studio's own dataset form."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    if isinstance(doc.get("version"), datetime.date):  # YAML reads an unquoted 2024-01-15 as a date
        doc.data["version"] = doc.get("version").isoformat()
    check(doc, DATA_SCHEMA)
    name = _required(doc, "name")
    kind = doc.get("type", "uri_folder")
    if kind not in DATA_TYPES:
        raise doc.error(
            "type",
            "data type must be one of %(types)s (mltable is not supported).",
            "invalid_choice",
            types=", ".join(DATA_TYPES),
        )
    path = _required(doc, "path")
    # Any version Azure allows ("3", "v1.2", "2024-01-15") that is not taken; none: the next integer.
    version = str(doc.get("version")) if doc.has("version") and doc.get("version") is not None else ""
    fields = {"name": name, "version": version, "description": doc.get("description", ""), "type": kind}
    match = DATASTORE_URI.match(path)
    files = {}
    if match:
        store = Datastore.objects.filter(name=match["name"]).first()
        fields.update(source="datastore", datastore=store.pk if store else "", path=match["path"])
    else:
        local = doc.folder / path
        if not local.exists():
            raise doc.error("path", "%(path)s does not exist.", "path_not_found", path=local)
        chosen = (
            [local]
            if local.is_file()
            else sorted(p for p in local.iterdir() if p.is_file() and not p.name.startswith("."))
        )
        files = {"files": [SimpleUploadedFile(p.name, p.read_bytes()) for p in chosen]}
        fields["source"] = "upload"
    from django.utils.datastructures import MultiValueDict

    form = DatasetForm(fields, MultiValueDict(files))
    if not form.is_valid():
        field_name, errors = next(iter(form.errors.as_data().items()))
        raise doc.error(
            DATA_FORM_KEYS.get(field_name, "path"),
            "%(problem)s",
            errors[0].code or "invalid",
            problem=" ".join(errors[0].messages),
        )
    data = form.cleaned_data
    common = {
        "name": data["name"],
        "version": data["version"],
        "type": data["type"],
        "description": data["description"],
        "user": user,
    }
    if data["source"] == "upload":
        return Dataset.register_upload(uploads=data["files"], **common)
    return Dataset.register(datastore=data["datastore"], path=data["path"], **common)
