"""Azure's asset YAML files (`az ml model|environment|data create -f`), registered in the Studio: a model in the
MLflow registry, an environment from a conda file's packages, a data asset through the Studio's dataset form.
A deployment's inline `model:` and `environment:` are registered here too (cli.azure_yaml).
"""

import datetime
import functools

import yaml
from django.core.exceptions import ValidationError

from cli.yaml_document import ANY_MAPPING, COMMON, Document, _required, check
from engine import envbuild
from jobs.inputs import DATASTORE_URI
from workspace import registry
from workspace.environments import Environment, at_line, require_packages, requirements_from_conda
from workspace.forms import DatasetForm
from workspace.models import Datastore

MODEL_SCHEMA = {**COMMON, "name": str, "version": (str, int), "type": str, "path": str}
ENVIRONMENT_SCHEMA = {**COMMON, "name": str, "version": (str, int), "image": str, "conda_file": (str, ANY_MAPPING)}
MODEL_TYPES = ("mlflow_model", "custom_model")


# --- model --------------------------------------------------------------------------------------------


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
    return form.register(user)
