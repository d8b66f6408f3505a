"""Fixtures for Retry failed and bad-record isolation: a model that fails on certain rows, and on one file
while a flag file exists (a failure that goes away), registered in the session's MLflow registry.

Top-level imports stay Django-free: the scoring host unpickles PickyModel by importing this module.
"""

from pathlib import Path

import pandas as pd
import pytest

try:
    import mlflow.pyfunc

    class PickyModel(mlflow.pyfunc.PythonModel):
        """Doubles x. Refuses a batch holding a negative x (bad rows), and, while `flag` exists, a batch holding
        an x in 300..399 (file f03 of write_inputs: a failure that goes away once the flag is removed)."""

        def __init__(self, flag: str):
            self.flag = flag

        def predict(self, context, model_input, params=None):
            x = model_input["x"]
            if (x < 0).any():
                raise ValueError("x must not be negative")
            if Path(self.flag).exists() and x.between(300, 399).any():
                raise RuntimeError("the feature store is not reachable")
            return x * 2

    class SlowModel(mlflow.pyfunc.PythonModel):
        """0 for every row, after `delay` seconds per call: mini-batches that take a while, so that a fault test
        finds one running (iris' scored by the demo model finish faster than a test can look)."""

        def __init__(self, delay: float):
            self.delay = delay

        def predict(self, context, model_input, params=None):
            import time

            time.sleep(self.delay)
            return model_input.iloc[:, 0] * 0
except ImportError:
    PickyModel = SlowModel = None


def write_frames(folder: str, frames: dict) -> str:
    """CSV files named as the keys, holding the frames; returns the datastore URI."""
    from workspace.models import Datastore

    store = Datastore.get_default()
    for name, frame in frames.items():
        store.client().write(f"{folder}/{name}", frame.to_csv(index=False).encode())
    return store.uri(folder)


def input_frames(files: int = 4, rows: int = 6, bad: dict | None = None) -> dict:
    """write_inputs' files (file i holds i*100 + row), with x = -1 in the rows `bad` names per file."""
    bad = bad or {}
    return {
        f"f{i:02d}.csv": pd.DataFrame({"x": [-1 if r in bad.get(i, ()) else i * 100 + r for r in range(rows)]})
        for i in range(files)
    }


def good_rows(frames: dict) -> dict:
    """The same files without their bad rows: what a clean run over the good rows scores."""
    return {name: frame[frame["x"] >= 0].reset_index(drop=True) for name, frame in frames.items()}


@pytest.fixture(scope="session")
def picky_flag(studio_home) -> Path:
    return studio_home / "picky-flag"


@pytest.fixture(scope="session")
def picky_model(studio_home, picky_flag):
    import tempfile

    from mlflow.models import infer_signature

    from workspace import registry

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.pyfunc.save_model(
            str(Path(tmp) / "model"),
            python_model=PickyModel(str(picky_flag)),
            signature=infer_signature(frame, frame["x"] * 2),
        )
        return registry.register_folder("picky-doubler", Path(tmp) / "model")


@pytest.fixture(scope="session")
def slow_model(studio_home):
    """An iris model taking 0.25 s per file."""
    import tempfile

    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris

    from workspace import registry

    frame = load_iris(as_frame=True).data.head(2)
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.pyfunc.save_model(
            str(Path(tmp) / "model"),
            python_model=SlowModel(0.25),
            signature=infer_signature(frame, frame.iloc[:, 0] * 0),
        )
        return registry.register_folder("slow-iris", Path(tmp) / "model")


@pytest.fixture
def picky_endpoint(db, picky_model, picky_flag):
    """One mini-batch at a time, one file each, in input order: what ran before a failure is predictable."""
    from endpoints.models import BatchDeployment, BatchEndpoint

    ep = BatchEndpoint.objects.create(name="picky-endpoint")
    dep = BatchDeployment.objects.create(
        endpoint=ep,
        name="picky",
        model_name=picky_model.name,
        model_version=picky_model.version,
        mini_batch_size=1,
        instance_count=1,
        max_retries=0,
    )
    ep.set_default(dep)
    yield ep
    picky_flag.unlink(missing_ok=True)
