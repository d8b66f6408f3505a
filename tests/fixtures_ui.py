"""Fixtures and helpers of the UI tests (the lead owns conftest.py)."""

import os
from pathlib import Path

import pytest

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
# `make screenshots` sets it: an ordinary test run leaves the tracked docs/screenshots/*.png alone.
SCREENSHOTS_ENV = "STUDIO_SCREENSHOTS"


def taking_screenshots() -> bool:
    return os.environ.get(SCREENSHOTS_ENV, "") not in ("", "0")


DEPLOYMENT_DEFAULTS = {
    "name": "blue",
    "description": "",
    "output_action": "append_row",
    "output_file_name": "predictions.csv",
    "mini_batch_size": 10,
    "max_concurrency_per_instance": 1,
    "max_retries": 3,
    "timeout": 30,
    "error_threshold": -1,
    "logging_level": "info",
    "environment_variables": "",
}


def wizard_post(client, step, data, **extra):
    return client.post(f"/endpoints/create/{step}/", {**data, **extra})


def run_wizard(client, start_url, steps):
    """Start a wizard at start_url, post each (step, data) in turn, then Create on the Review step."""
    response = client.get(start_url)
    for step, data in steps:
        response = wizard_post(client, step, data)
        assert response.status_code == 302, response.content.decode()[:3000]
    return client.post("/endpoints/create/review/")


def screenshot(page, name):
    """docs/screenshots/<name>.png, only when `make screenshots` asked for them."""
    if not taking_screenshots():
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def second_deployment(endpoint, demo_model):
    from endpoints.models import BatchDeployment

    return BatchDeployment.objects.create(
        endpoint=endpoint, name="green", model_name=demo_model.name, model_version=demo_model.version
    )


# An Azure-style scoring script for a model that is not an MLflow model: a joblib file in the model's folder.
JOBLIB_SCORE = b"""import os

import joblib
import pandas as pd


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.joblib"))


def run(mini_batch):
    frames = []
    for file_path in mini_batch:
        data = pd.read_csv(file_path)
        frames.append(pd.DataFrame({"file": os.path.basename(file_path), "prediction": model.predict(data)}))
    return pd.concat(frames)
"""


def joblib_model_file(folder: Path) -> Path:
    """A scikit-learn iris classifier saved with joblib: a model file, not an MLflow model."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris(as_frame=True)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.joblib"
    joblib.dump(LogisticRegression(max_iter=500).fit(data.data, data.target), path)
    return path


@pytest.fixture(scope="session")
def custom_model(studio_home, tmp_path_factory):
    """A registered Custom (non-MLflow) model: one joblib file."""
    from workspace import registry

    path = joblib_model_file(tmp_path_factory.mktemp("custom-model"))
    with open(path, "rb") as fh:
        return registry.register_custom("iris-joblib", fh, path.name, "A joblib file, not an MLflow model.")


def code_step(**fields):
    """The Code + environment step's fields, with a scoring script upload unless one is given."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {
        "code": SimpleUploadedFile("score.py", JOBLIB_SCORE),
        "environment_mode": "existing",
        "environment": "studio:1",
        **fields,
    }
