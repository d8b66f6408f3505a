"""The MLflow model registry, behind one small module that raises its own exceptions.

Embedded default: a SQLite registry and an artifact folder in the data directory.
MLFLOW_TRACKING_URI points it at any MLflow tracking server instead.
"""

import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from engine.host import HostError
from workspace.limits import check_description
from workspace.redact import redact
from workspace.storage import first_line

UPLOAD_EXPERIMENT = "batch-studio-model-uploads"


class RegistryError(Exception):
    """The registry could not answer; the message says why."""


@dataclass
class ModelVersion:
    name: str
    version: str
    flavor: str = ""
    flavors: list = field(default_factory=list)
    signature_inputs: list = field(default_factory=list)
    signature_outputs: list = field(default_factory=list)
    description: str = ""
    created: object = None
    source: str = ""
    requirements: list = field(default_factory=list)
    # The alias this version was reached through (models:/name@champion), if any.
    alias: str = ""
    # Every alias of the model that points at this version, its tags (the Studio's own left out), the run that
    # logged it (lineage) and, when the tracking server has a UI, that run's page; the input example, as JSON text.
    aliases: list = field(default_factory=list)
    tags: dict = field(default_factory=dict)
    run_id: str = ""
    run_url: str = ""
    input_example: str = ""

    @property
    def uri(self):
        return f"models:/{self.name}/{self.version}"

    @property
    def label(self):
        return f"{self.name}:{self.version}"

    @property
    def is_mlflow(self):
        return "python_function" in self.flavors


# --- model references: one parser for every way a deployment names a model ----------------------------------

MODEL_URI_FORMS = (
    "models:/<name>/<version>, models:/<name>@<alias>, azureml:<name>:<version>, azureml:<name>@<alias> "
    "(or <name>:<version>, <name>@<alias>; the version may be 'latest')"
)
ALIAS_PATTERN = re.compile(r"^[\w-]{1,255}$")
VERSION_PATTERN = re.compile(r"^(\d{1,20}|latest)$")


@dataclass(frozen=True)
class ModelReference:
    """A model as a deployment names it: a version (a number, or 'latest') or an alias. Once resolved
    (resolve_version), version is the number the alias or 'latest' points at now, and alias is kept."""

    name: str
    version: str = ""
    alias: str = ""

    @property
    def label(self) -> str:
        """name:version, or name@alias (name:version@alias once resolved)."""
        if self.alias:
            return f"{self.name}@{self.alias}"
        return f"{self.name}:{self.version}"

    @property
    def uri(self) -> str:
        return f"models:/{self.name}@{self.alias}" if self.alias else f"models:/{self.name}/{self.version}"


def _invalid_uri(text: str, why: str = "") -> ValidationError:
    return ValidationError(
        "'%(uri)s' is not a model reference%(why)s. Write one of: %(forms)s.",
        code="invalid_model_uri",
        params={"uri": text, "why": f" ({why})" if why else "", "forms": MODEL_URI_FORMS},
    )


def check_alias(alias: str) -> str:
    """An alias MLflow accepts: letters, digits, '_' and '-'; 'latest' and v<number> are reserved."""
    alias = (alias or "").strip()
    if not ALIAS_PATTERN.match(alias):
        raise ValidationError(
            "'%(alias)s' is not an alias: use 1 to 255 letters, digits, '_' or '-'.",
            code="invalid_alias",
            params={"alias": alias},
        )
    if alias.lower() == "latest" or re.match(r"^[vV]\d+$", alias):
        raise ValidationError(
            "'%(alias)s' is reserved by MLflow (latest, v<number>); choose another alias.",
            code="reserved_alias",
            params={"alias": alias},
        )
    return alias


def parse_model_uri(text) -> ModelReference:
    """models:/name/1, models:/name@alias, azureml:name:2, azureml:name@alias, name:2, name@alias ('@latest' and
    '/latest' are the newest version, as in Azure and MLflow). No registry call: resolve_version checks it there."""
    text = str(text or "").strip()
    if text.startswith("models:/"):
        rest = text[len("models:/") :]
        if "@" in rest and "/" not in rest:
            name, _, pointer = rest.partition("@")
            version, alias = ("latest", "") if pointer == "latest" else ("", pointer)
        else:
            name, sep, version = rest.partition("/")
            alias = ""
            if not sep:
                raise _invalid_uri(text, "no version or alias after the name")
    elif text.startswith("azureml://"):
        raise _invalid_uri(text, "registry and workspace asset ids are not read here")
    else:
        rest = text.removeprefix("azureml:")
        if "@" in rest:
            name, _, pointer = rest.rpartition("@")
            version, alias = ("latest", "") if pointer == "latest" else ("", pointer)
        else:
            name, sep, version = rest.rpartition(":")
            alias = ""
            if not sep:
                raise _invalid_uri(text, "no version or alias after the name")
    if not name or any(c in name for c in "/:@") or name != name.strip():
        raise _invalid_uri(text, "no model name" if not name else f"'{name}' is not a model name")
    if alias:
        try:
            check_alias(alias)
        except ValidationError as exc:
            raise _invalid_uri(text, " ".join(exc.messages).rstrip(".")) from exc
        return ModelReference(name=name, alias=alias)
    if not VERSION_PATTERN.match(version):
        raise _invalid_uri(text, f"'{version}' is not a version number" if version else "no version")
    return ModelReference(name=name, version=version)


def _not_found(exc) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(exc).lower()


def _unreachable(exc) -> ValidationError:
    return ValidationError(
        "The model registry at %(uri)s cannot be read: %(error)s",
        code="registry_unavailable",
        params={"uri": tracking_uri(), "error": redact(first_line(exc))},
    )


def resolve_version(ref: ModelReference | str) -> ModelReference:
    """The reference with the version its alias (or 'latest') points at now, checked against the registry:
    coded ValidationErrors for a model, alias or version that is not there."""
    if isinstance(ref, str):
        ref = parse_model_uri(ref)
    c = client()
    try:
        model = c.get_registered_model(ref.name)
    except Exception as exc:
        if _not_found(exc):
            raise ValidationError(
                "There is no model '%(name)s' in the registry.", code="unknown_model", params={"name": ref.name}
            ) from exc
        raise _unreachable(exc) from exc
    if ref.alias:
        aliases = dict(getattr(model, "aliases", None) or {})
        if ref.alias not in aliases:
            raise ValidationError(
                "Model '%(name)s' has no alias '%(alias)s'. %(known)s",
                code="unknown_alias",
                params={
                    "name": ref.name,
                    "alias": ref.alias,
                    "known": f"Its aliases: {', '.join(sorted(aliases))}." if aliases else "It has no aliases.",
                },
            )
        return ModelReference(name=ref.name, version=str(aliases[ref.alias]), alias=ref.alias)
    try:
        versions = sorted((int(v.version) for v in c.search_model_versions(f"name='{ref.name}'")), reverse=True)
    except Exception as exc:
        raise _unreachable(exc) from exc
    if not versions:
        raise ValidationError("Model '%(name)s' has no versions.", code="no_versions", params={"name": ref.name})
    version = str(versions[0]) if ref.version == "latest" else str(ref.version)
    if not version.isdigit() or int(version) not in versions:
        raise ValidationError(
            "Model '%(name)s' has no version %(version)s. Its versions: %(known)s.",
            code="unknown_version",
            params={"name": ref.name, "version": version, "known": ", ".join(map(str, sorted(versions)))},
        )
    return ModelReference(name=ref.name, version=version)


def find(ref: ModelReference | str) -> ModelVersion:
    """The version a reference names now, described (flavors, signature, aliases...), its alias kept."""
    resolved = resolve_version(ref)
    try:
        mv = client().get_model_version(resolved.name, resolved.version)
    except Exception as exc:
        raise _unreachable(exc) from exc
    found = _describe(mv, example=True)
    found.alias = resolved.alias
    return found


def set_alias(name: str, alias: str, version: str) -> ModelReference:
    """Point `alias` of model `name` at `version` (moving it if it pointed elsewhere). Deployments pinned to it use
    that version from their next job on."""
    alias = check_alias(alias)
    resolved = resolve_version(ModelReference(name=name, version=str(version).strip()))
    try:
        client().set_registered_model_alias(name, alias, resolved.version)
    except Exception as exc:
        raise _unreachable(exc) from exc
    return ModelReference(name=name, version=resolved.version, alias=alias)


def delete_alias(name: str, alias: str):
    resolve_version(ModelReference(name=name, alias=alias))  # unknown_alias when it is not there
    try:
        client().delete_registered_model_alias(name, alias)
    except Exception as exc:
        raise _unreachable(exc) from exc


def model_aliases(name: str) -> dict[str, str]:
    """alias -> version of a registered model ({} when it has none)."""
    try:
        return {a: str(v) for a, v in (client().get_registered_model(name).aliases or {}).items()}
    except Exception as exc:
        raise RegistryError(redact(f"Model '{name}' cannot be read from the registry: {first_line(exc)}")) from exc


def tracking_uri() -> str:
    if settings.MLFLOW_TRACKING_URI:
        return settings.MLFLOW_TRACKING_URI
    return f"sqlite:///{Path(settings.STUDIO_HOME) / 'mlflow.db'}"


def registry_uri() -> str:
    return settings.MLFLOW_REGISTRY_URI or tracking_uri()


def artifact_location() -> str:
    return (Path(settings.STUDIO_HOME) / "mlartifacts").as_uri()


def configure():
    """Point this process's MLflow at the Studio's registry."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_registry_uri(registry_uri())


def client():
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri(), registry_uri=registry_uri())


def _experiment_id(name=UPLOAD_EXPERIMENT):
    c = client()
    exp = c.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    kwargs = {} if settings.MLFLOW_TRACKING_URI else {"artifact_location": artifact_location()}
    return c.create_experiment(name, **kwargs)


def _describe(mv, example: bool = False) -> ModelVersion:
    """A version as pages show it; example: read its input example too (one more download: a version's own page)."""
    from mlflow.models import Model

    out = ModelVersion(name=mv.name, version=str(mv.version), description=mv.description or "", source=mv.source or "")
    from datetime import datetime

    out.created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC) if mv.creation_timestamp else None
    out.aliases = sorted(getattr(mv, "aliases", None) or [])
    out.tags = {k: v for k, v in (mv.tags or {}).items() if k != TYPE_TAG and not k.startswith("mlflow.")}
    out.run_id = mv.run_id or ""
    try:
        import mlflow

        configure()
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{mv.name}/{mv.version}/MLmodel")
        meta = Model.load(local)
        out.flavors = sorted(meta.flavors)
        out.flavor = "MLflow" if "python_function" in meta.flavors else "Custom"
        if meta.signature is not None:
            out.signature_inputs = [_col(c) for c in meta.signature.inputs.inputs] if meta.signature.inputs else []
            out.signature_outputs = [_col(c) for c in meta.signature.outputs.inputs] if meta.signature.outputs else []
    except Exception:  # a version whose MLmodel cannot be read is still listed
        out.flavor = "Custom"
        meta = None
    if example and meta is not None and meta.saved_input_example_info:
        out.input_example = _input_example(mv, meta.saved_input_example_info.get("artifact_path", ""))
    return out


INPUT_EXAMPLE_SHOWN = 4000  # characters of the input example a page shows


def _input_example(mv, artifact_path: str) -> str:
    """The model's input example (input_example.json), pretty-printed and cut to what a page shows; '' when it
    cannot be read."""
    import mlflow

    if not artifact_path or "/" in artifact_path or ".." in artifact_path:
        return ""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{mv.name}/{mv.version}/{artifact_path}", dst_path=tmp
            )
            text = Path(local).read_text(errors="replace")[: INPUT_EXAMPLE_SHOWN * 4]
        try:
            text = json.dumps(json.loads(text), indent=2)
        except ValueError:
            pass
    except Exception:
        return ""
    return text if len(text) <= INPUT_EXAMPLE_SHOWN else text[:INPUT_EXAMPLE_SHOWN] + "\n…"


def run_url(run_id: str) -> str:
    """The run's page on the tracking server's UI, when it has one (an http(s) MLFLOW_TRACKING_URI); else ''."""
    uri = tracking_uri()
    if not run_id or not uri.startswith(("http://", "https://")):
        return ""
    try:
        experiment_id = client().get_run(run_id).info.experiment_id
    except Exception:
        return ""
    return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def _col(spec):
    kind = getattr(spec, "type", None)
    kind = getattr(kind, "name", None) or str(kind)
    if hasattr(spec, "shape") and getattr(spec, "shape", None) is not None:
        kind = f"tensor {spec.type} {list(spec.shape)}"
    return {"name": getattr(spec, "name", None) or "", "type": kind}


# The type recorded on each version at registration (Azure's names), so that a list needs no MLmodel download.
TYPE_TAG = "model_type"
MLFLOW_TYPE, CUSTOM_TYPE = "mlflow_model", "custom_model"
TYPE_LABELS = {MLFLOW_TYPE: "MLflow", CUSTOM_TYPE: "Custom"}


def list_models() -> list[dict]:
    """Registered models with their versions, newest version first, and the latest version's type (MLflow or
    Custom; read from the MLmodel for a version registered before the type was recorded)."""
    c = client()
    try:
        models = c.search_registered_models(max_results=1000)
    except Exception as exc:
        raise RegistryError(redact(f"The model registry at {tracking_uri()} cannot be read: {exc}")) from exc
    rows = []
    for rm in sorted(models, key=lambda m: m.name.lower()):
        versions = sorted(c.search_model_versions(f"name='{rm.name}'"), key=lambda v: int(v.version), reverse=True)
        rows.append(
            {
                "name": rm.name,
                "description": rm.description or "",
                "versions": [str(v.version) for v in versions],
                "latest": str(versions[0].version) if versions else None,
                "type": _type_label(versions[0]) if versions else "",
                "aliases": {a: str(v) for a, v in sorted((getattr(rm, "aliases", None) or {}).items())},
                "updated": rm.last_updated_timestamp,
            }
        )
    return rows


def _type_label(mv) -> str:
    recorded = (mv.tags or {}).get(TYPE_TAG)
    return TYPE_LABELS[recorded] if recorded in TYPE_LABELS else _describe(mv).flavor


def get_version(name: str, version: str) -> ModelVersion:
    c = client()
    try:
        if version in ("latest", "", None):
            versions = c.search_model_versions(f"name='{name}'")
            if not versions:
                raise RegistryError(f"Model '{name}' has no versions.")
            version = str(max(int(v.version) for v in versions))
        mv = c.get_model_version(name, str(version))
    except RegistryError:
        raise
    except Exception as exc:
        raise RegistryError(f"Model '{name}' version {version} was not found in the registry.") from exc
    return _describe(mv)


def list_versions(name: str) -> list[ModelVersion]:
    c = client()
    return [_describe(v) for v in sorted(c.search_model_versions(f"name='{name}'"), key=lambda v: -int(v.version))]


def _safe_extract(archive: zipfile.ZipFile, dest: Path):
    total = 0
    for info in archive.infolist():
        name = info.filename
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:
            raise ValidationError(
                "The zip holds a symbolic link (%(name)s); upload plain files only.",
                code="zip_symlink",
                params={"name": name},
            )
        target = (dest / name).resolve()
        if dest.resolve() not in target.parents and target != dest.resolve():
            raise ValidationError(
                "The zip entry '%(name)s' points outside the model folder.", code="zip_slip", params={"name": name}
            )
        total += info.file_size
        if total > settings.MODEL_UPLOAD_MAX_BYTES:
            raise ValidationError(
                "The unpacked model is larger than the %(mb)d MB limit.",
                code="too_large",
                params={"mb": settings.MODEL_UPLOAD_MAX_BYTES // (1024 * 1024)},
            )
    archive.extractall(dest)


def _find_model_dir(root: Path) -> Path:
    candidates = [p.parent for p in root.rglob("MLmodel")]
    if not candidates:
        raise ValidationError(
            "The zip has no MLmodel file: zip the folder that mlflow.save_model wrote.", code="no_mlmodel"
        )
    return min(candidates, key=lambda p: len(p.parts))


def register_zip(name: str, fileobj, description: str = "", tags: dict | None = None) -> ModelVersion:
    """Register a zipped MLflow model folder as a new version of `name`."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            with zipfile.ZipFile(fileobj) as archive:
                _safe_extract(archive, tmp / "unzipped")
        except zipfile.BadZipFile as exc:
            raise ValidationError("The file is not a zip archive.", code="bad_zip") from exc
        model_dir = _find_model_dir(tmp / "unzipped")
        try:
            from mlflow.models import Model

            Model.load(model_dir / "MLmodel")
        except Exception as exc:
            raise ValidationError(
                "The MLmodel file cannot be read: %(error)s", code="bad_mlmodel", params={"error": exc}
            ) from exc
        return register_folder(name, model_dir, description, tags)


def register_custom(name: str, fileobj, filename: str, description: str = "") -> ModelVersion:
    """Register a model that is not an MLflow model (Azure's "Custom" type): a .zip of its folder, unpacked,
    or a single file (model.pkl, ...). Scoring it needs a scoring script."""
    filename = Path(filename).name
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        if filename.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(fileobj) as archive:
                    _safe_extract(archive, folder)
            except zipfile.BadZipFile as exc:
                raise ValidationError("The file is not a zip archive.", code="bad_zip") from exc
        else:
            with open(folder / filename, "wb") as out:
                shutil.copyfileobj(fileobj, out)
        if not any(folder.iterdir()):
            raise ValidationError("The upload holds no files.", code="empty_model")
        return register_folder(name, folder, description)


def check_tags(tags) -> dict[str, str]:
    """A model's tags as MLflow stores them: string keys (at most 250 characters) and string values."""
    if tags in (None, ""):
        return {}
    if not isinstance(tags, dict):
        raise ValidationError("tags must be a mapping of names to values.", code="invalid_tags")
    out = {}
    for key, value in tags.items():
        key = str(key).strip()
        if not key or len(key) > 250 or key == TYPE_TAG or key.startswith("mlflow."):
            raise ValidationError(
                "'%(key)s' cannot be a tag name: 1 to 250 characters, not '%(type)s' nor mlflow.*.",
                code="invalid_tag",
                params={"key": key, "type": TYPE_TAG},
            )
        out[key] = "" if value is None else str(value)
    return out


def register_folder(name: str, model_dir: Path, description: str = "", tags: dict | None = None) -> ModelVersion:
    """A new version of `name` from an MLflow model folder; tags become the version's MLflow tags."""
    import mlflow

    check_description(description)
    tags = check_tags(tags)
    configure()
    c = client()
    with mlflow.start_run(experiment_id=_experiment_id(), run_name=f"upload-{name}") as run:
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
        source = f"{run.info.artifact_uri}/model"
    try:
        c.get_registered_model(name)
    except Exception:
        c.create_registered_model(name, description=description or None)
    mv = c.create_model_version(
        name,
        source=source,
        run_id=run.info.run_id,
        description=description or None,
        tags={**tags, TYPE_TAG: _folder_type(model_dir)},
    )
    return _describe(mv)


def _folder_type(model_dir: Path) -> str:
    """Azure's model type of a folder: mlflow_model when it holds an MLmodel with a python_function flavor."""
    from mlflow.models import Model

    try:
        return MLFLOW_TYPE if "python_function" in Model.load(Path(model_dir) / "MLmodel").flavors else CUSTOM_TYPE
    except Exception:
        return CUSTOM_TYPE


def download(name: str, version: str, dest: Path | None = None) -> Path:
    """A local copy of the model folder (MLflow caches nothing; callers cache)."""
    import mlflow

    configure()
    path = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{version}", dst_path=str(dest) if dest else None
    )
    return Path(path)


def model_dir(name: str, version: str) -> Path:
    """The model's folder, downloaded once per machine: <cache>/<name>/<version>/model (AZUREML_MODEL_DIR's layout)."""
    target = Path(settings.STUDIO_HOME) / "model-cache" / name / str(version) / "model"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".download-"))
        try:
            try:
                download(name, version, tmp)
            except Exception as exc:  # this attempt fails with the reason; the retry may run on a machine that can
                raise HostError(
                    redact(
                        f"Model {name}:{version} could not be fetched from the registry at "
                        f"{registry_uri()}: {type(exc).__name__}: {first_line(exc)}"
                    )
                ) from exc
            tmp.rename(target)
        except OSError:
            if not target.exists():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target
