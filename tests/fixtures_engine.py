"""Fixtures for the scoring engine's tests: scoring scripts in code snapshots, a slow MLflow model, and a
driver that runs a job's tasks in the test process (what a worker would do, minus the queue).

Top-level imports stay Django-free: the scoring host unpickles SlowModel by importing this module.
"""

import io
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

try:
    import mlflow.pyfunc

    class SlowModel(mlflow.pyfunc.PythonModel):
        """Doubles x, slowly: long enough to kill or cancel a worker in the middle of a mini-batch."""

        def __init__(self, seconds: float):
            self.seconds = seconds

        def predict(self, context, model_input, params=None):
            time.sleep(self.seconds)
            return model_input["x"] * 2
except ImportError:  # an environment without mlflow only ever runs scripts
    SlowModel = None


def write_script(folder: Path, body: str, name: str = "score.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(body))
    return folder


def script_deployment(endpoint, tmp_path, body: str, name: str = "script", **fields):
    """A deployment of the endpoint's model whose scoring script is `body`."""
    from endpoints import code
    from endpoints.models import BatchDeployment

    default = endpoint.default_deployment
    folder = write_script(tmp_path / f"code-{name}", body)
    return BatchDeployment.objects.create(
        endpoint=endpoint,
        name=name,
        model_name=default.model_name,
        model_version=default.model_version,
        code_path=code.store_code(folder, "score.py"),
        scoring_script="score.py",
        **fields,
    )


def write_inputs(folder: str, files: int = 3, rows: int = 4) -> str:
    """CSV files with one column x, file i holding i*100 + row; returns the datastore URI."""
    from workspace.models import Datastore

    store = Datastore.get_default()
    for i in range(files):
        frame = pd.DataFrame({"x": [i * 100 + r for r in range(rows)]})
        store.client().write(f"{folder}/f{i:02d}.csv", frame.to_csv(index=False).encode())
    return store.uri(folder)


def drive(job, rounds: int = 200):
    """Run the job's tasks here until it finishes, as the workers would (queued mini-batches one by one)."""
    from jobs import tasks
    from jobs.models import MiniBatch

    tasks.dispatch(job.pk)
    for _ in range(rounds):
        job.refresh_from_db()
        queued = list(job.mini_batches.filter(status=MiniBatch.QUEUED).order_by("index").values_list("pk", flat=True))
        if job.is_finished or not queued:
            break
        for pk in queued:
            tasks.run_minibatch(pk)
    job.refresh_from_db()
    return job


def output_frame(job, name=None) -> pd.DataFrame:
    from workspace.models import Datastore

    store = Datastore.objects.get(name=job.output_datastore).client()
    return pd.read_csv(io.BytesIO(store.read_bytes(f"{job.output_path}/{name or job.settings['output_file_name']}")))


def read_output(job, relative: str) -> bytes:
    from workspace.models import Datastore

    return Datastore.objects.get(name=job.output_datastore).client().read_bytes(f"{job.output_path}/{relative}")


def output_exists(job, relative: str) -> bool:
    from workspace.models import Datastore

    return Datastore.objects.get(name=job.output_datastore).client().exists(f"{job.output_path}/{relative}")


def settled(job) -> bool:
    """The job has ended and written its logs, the last thing a Failed or Canceled job does (its status changes
    first: it is what stops the other lanes); reloads the job."""
    job.refresh_from_db()
    return job.is_finished and output_exists(job, "logs/job_result.txt")


@pytest.fixture
def fast_heartbeat(settings):
    """Short leases and heartbeats, so that stops and reclaims happen within a test."""
    settings.JOBS_HEARTBEAT_SECONDS = 0.2
    settings.JOBS_LEASE_SECONDS = 2
    return settings


@pytest.fixture(scope="session")
def slow_model(studio_home):
    """An MLflow pyfunc model (x -> 2x) that takes 1.5 s per file, registered as 'slow-doubler'."""
    import tempfile

    from mlflow.models import infer_signature

    from workspace import registry

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.pyfunc.save_model(
            str(Path(tmp) / "model"), python_model=SlowModel(1.5), signature=infer_signature(frame, frame["x"] * 2)
        )
        return registry.register_folder("slow-doubler", Path(tmp) / "model")


@pytest.fixture
def slow_endpoint(db, slow_model):
    from endpoints.models import BatchDeployment, BatchEndpoint

    ep = BatchEndpoint.objects.create(name="slow-endpoint")
    dep = BatchDeployment.objects.create(
        endpoint=ep,
        name="slow",
        model_name=slow_model.name,
        model_version=slow_model.version,
        mini_batch_size=1,
        instance_count=2,
    )
    ep.set_default(dep)
    return ep
