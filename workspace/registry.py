"""The MLflow model registry, behind one small module that raises its own exceptions.

Embedded default: a SQLite registry and an artifact folder in the data directory.
MLFLOW_TRACKING_URI points it at any MLflow tracking server instead.
"""

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

    @property
    def uri(self):
        return f"models:/{self.name}/{self.version}"

    @property
    def label(self):
        return f"{self.name}:{self.version}"

    @property
    def is_mlflow(self):
        return "python_function" in self.flavors


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


def _describe(mv) -> ModelVersion:
    from mlflow.models import Model

    out = ModelVersion(name=mv.name, version=str(mv.version), description=mv.description or "", source=mv.source or "")
    from datetime import datetime

    out.created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC) if mv.creation_timestamp else None
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
    return out


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


def register_zip(name: str, fileobj, description: str = "") -> ModelVersion:
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
        return register_folder(name, model_dir, description)


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


def register_folder(name: str, model_dir: Path, description: str = "") -> ModelVersion:
    import mlflow

    check_description(description)
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
        tags={TYPE_TAG: _folder_type(model_dir)},
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
