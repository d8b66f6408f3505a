"""The demo a newcomer sees: an iris classifier in the registry and CSV files to score."""

import tempfile
from pathlib import Path

from django.conf import settings

from workspace import registry
from workspace.models import Datastore
from workspace.redact import redact

DEMO_MODEL = "iris-classifier"
DEMO_FOLDER = "demo/iris"


def train_iris(model_dir: Path, kind: str = "logistic"):
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    data = load_iris(as_frame=True)
    X, y = data.data, data.target
    model = (
        LogisticRegression(max_iter=500)
        if kind == "logistic"
        else RandomForestClassifier(n_estimators=50, random_state=0)
    )
    model.fit(X, y)
    mlflow.sklearn.save_model(
        model, str(model_dir), signature=infer_signature(X, model.predict(X)), serialization_format="cloudpickle"
    )
    return model_dir


def write_demo_files(store, folder=DEMO_FOLDER, files=5):
    from sklearn.datasets import load_iris

    X = load_iris(as_frame=True).data
    for i in range(files):
        part = X.iloc[i * 30 : (i + 1) * 30]
        store.write(f"{folder}/iris-{i + 1}.csv", part.to_csv(index=False).encode())


def data_ready() -> bool:
    """The demo's data is in the default datastore (make run wrote it and nobody removed it)."""
    return Datastore.get_default().client().exists(DEMO_FOLDER)


def available():
    """What `make run` seeded and is still there: (the demo model's latest version or None, the demo data's URI or
    None). The home page offers them to a newcomer."""
    try:
        version = registry.get_version(DEMO_MODEL, "latest")
    except registry.RegistryError:
        version = None
    return version, (Datastore.get_default().uri(DEMO_FOLDER) if data_ready() else None)


def external_registry() -> str:
    """The tracking server the Studio's registry is on when it is not the embedded one (MLFLOW_TRACKING_URI or
    MLFLOW_REGISTRY_URI set), redacted for printing; '' for the embedded registry."""
    uri = settings.MLFLOW_REGISTRY_URI or settings.MLFLOW_TRACKING_URI
    return redact(uri) if uri else ""


def seed(stdout=None, into_tracking_server: bool = False):
    """The demo model and data. The model (and the experiment its upload run is logged in) goes into the embedded
    registry only: a team's own tracking server gets none of it unless asked (into_tracking_server)."""
    say = stdout.write if stdout else print
    external = external_registry()
    if external and not into_tracking_server:
        say(
            f"Skipped the demo model {DEMO_MODEL} and its experiment {registry.UPLOAD_EXPERIMENT}: the registry is "
            f"the tracking server at {external}, and the demo writes nothing there unless asked. To seed it there "
            "too: manage.py seed_demo --into-tracking-server (or STUDIO_SEED_EXTERNAL=1 make run)."
        )
    else:
        _seed_model(say)
    store = Datastore.get_default().client()
    if not store.exists(DEMO_FOLDER):
        write_demo_files(store)
        say(f"Wrote demo data to azureml://datastores/{Datastore.get_default().name}/paths/{DEMO_FOLDER}")


def _seed_model(say):
    try:
        registry.get_version(DEMO_MODEL, "latest")
        say(f"Demo model {DEMO_MODEL} already registered.")
    except registry.RegistryError:
        with tempfile.TemporaryDirectory() as tmp:
            train_iris(Path(tmp) / "model")
            version = registry.register_folder(
                DEMO_MODEL, Path(tmp) / "model", "Logistic regression on scikit-learn's iris data."
            )
        say(f"Registered demo model {version.label}.")
