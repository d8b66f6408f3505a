"""Models reachable from every worker machine (docs/DEPLOY.md, section 2, the no-server setup): the MLflow registry
on PostgreSQL, its artifacts on Azure Blob Storage (a real Azurite), and a worker whose data directory has never
seen the model.

The test process is the web machine: it registers the model through the Models page. The qcluster is another
machine: its STUDIO_HOME is a different, empty folder, it knows only MLFLOW_TRACKING_URI and
AZURE_STORAGE_CONNECTION_STRING, and it must fetch the model from the registry to score the job.
"""

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from endpoints.models import BatchDeployment, BatchEndpoint
from jobs.models import MiniBatch, Status
from jobs.submit import submit_job
from tests.conftest import QCluster, wait_for
from tests.fixtures.distributed import postgres_problem
from tests.web.test_models_pages import _zip_model
from workspace import blob, demo, registry
from workspace.models import Datastore

SERVER_URL = os.environ.get("DIST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/studio")


def _admin(sql):
    import psycopg

    parts = urlsplit(SERVER_URL)
    with psycopg.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 5432,
        user=parts.username or None,
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql)


@pytest.fixture
def mlflow_on_postgres():
    """A throw-away PostgreSQL database for the MLflow registry; its SQLAlchemy URI. Dropped afterwards."""
    problem = postgres_problem(SERVER_URL)
    if problem:
        pytest.skip(f"registry on PostgreSQL not tested: {problem}")
    name = f"test_mlflow_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _admin(f'CREATE DATABASE "{name}"')
    parts = urlsplit(SERVER_URL)
    yield f"postgresql+psycopg://{parts.netloc}/{name}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # MLflow's pools in this process still hold connections


@pytest.fixture
def shared_model(transactional_db, signed_in, azurite, mlflow_on_postgres, settings, monkeypatch, tmp_path):
    """The web machine's side: registry on PostgreSQL, a model uploaded through the Models page with its artifacts on
    Blob, an endpoint deploying it, and a blob datastore `lake` holding the 5 demo iris files (150 rows)."""
    # Every machine's environment, as docs/DEPLOY.md sets it.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_on_postgres)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    settings.MLFLOW_TRACKING_URI = mlflow_on_postgres

    # Once: the upload experiment with its artifacts on Blob, with the very command DEPLOY.md gives.
    container = f"models{uuid.uuid4().hex[:8]}"
    azurite.container(container)
    artifact_root = f"wasbs://{container}@{azurite.account}.blob.core.windows.net/mlartifacts"
    created = subprocess.run(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "experiments",
            "create",
            "--experiment-name",
            registry.UPLOAD_EXPERIMENT,
            "--artifact-location",
            artifact_root,
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert created.returncode == 0, created.stdout + created.stderr

    response = signed_in.post("/models/register/", {"name": "shared-iris", "model_zip": _zip_model(tmp_path)})
    assert response.status_code == 302, response.content.decode()[-2000:]
    version = registry.get_version("shared-iris", "latest")
    assert version.version == "1" and version.flavor == "MLflow"  # its MLmodel is read back from Blob
    source = registry.client().get_model_version("shared-iris", "1").source
    assert source.startswith(f"{artifact_root}/"), source
    blobs = [b.name for b in azurite.service().get_container_client(container).list_blobs()]
    assert any(name.endswith("/model/MLmodel") for name in blobs), blobs

    ep = BatchEndpoint.objects.create(name="shared-endpoint")
    ep.set_default(
        BatchDeployment.objects.create(
            endpoint=ep, name="blue", model_name="shared-iris", model_version="1", mini_batch_size=2
        )
    )
    lake = f"lake{uuid.uuid4().hex[:8]}"
    azurite.container(lake)
    demo.write_demo_files(blob.BlobStore(azurite.account_url, lake, "account_key", azurite.key), folder="iris")
    r = signed_in.post(
        "/data/datastores/register/",
        {
            "name": "lake",
            "kind": "azure_blob",
            "account_url": azurite.account_url,
            "container": lake,
            "credential_type": "account_key",
            "secret": azurite.key,
        },
    )
    assert r.status_code == 302
    return ep


def _run_on_another_machine(endpoint, worker_home, settings):
    """Score the lake's iris files on a qcluster whose STUDIO_HOME is worker_home (no registry, artifacts or model
    cache of its own); the finished job and the worker's output."""
    web_home = settings.STUDIO_HOME
    worker_home.mkdir()
    settings.STUDIO_HOME = worker_home  # read by QCluster when it builds the worker's environment
    worker = QCluster()
    settings.STUDIO_HOME = web_home
    try:
        job = submit_job(
            endpoint,
            input_uri=Datastore.objects.get(name="lake").uri("iris"),
            output_datastore="lake",
            output_path="scored/shared",
        )

        def finished():
            job.refresh_from_db()
            return job.is_finished

        wait_for(finished, timeout=240, message=lambda: f"job to finish; the worker said:\n{worker.output()[-3000:]}")
    finally:
        worker.stop()
    return job, worker.output()


@pytest.mark.integration
def test_a_worker_on_another_machine_fetches_the_model_from_postgres_and_blob(shared_model, settings, tmp_path):
    worker_home = tmp_path / "worker-machine"
    job, output = _run_on_another_machine(shared_model, worker_home, settings)
    assert job.status == Status.COMPLETED, f"{job.error}\n{output[-3000:]}"

    out = pd.read_csv(
        io.BytesIO(Datastore.objects.get(name="lake").client().read_bytes("scored/shared/predictions.csv"))
    )
    assert len(out) == 150 and not out.duplicated(["file_name", "row"]).any()
    # The worker scored with its own download of the model; nothing of it lives in the web machine's folder.
    assert (worker_home / "model-cache" / "shared-iris" / "1" / "model" / "MLmodel").is_file()
    assert not (Path(settings.STUDIO_HOME) / "model-cache" / "shared-iris").exists()
    assert not any((worker_home / d).exists() for d in ("mlartifacts", "mlruns", "mlflow.db"))


@pytest.mark.integration
def test_a_worker_without_the_blob_credential_fails_each_attempt_with_the_reason(
    shared_model, settings, monkeypatch, tmp_path
):
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")  # this machine was set up without it
    job, output = _run_on_another_machine(shared_model, tmp_path / "worker-machine", settings)

    retries = shared_model.default_deployment.max_retries
    batches = list(job.mini_batches.all())
    assert len(batches) == 3 and job.files_failed == 5, f"{job.status} {job.error}\n{output[-3000:]}"
    for mb in batches:  # every attempt (1 + max_retries) tried, each failing on the fetch, with why
        assert (mb.status, mb.attempts) == (MiniBatch.FAILED, retries + 1)
        assert mb.error.startswith(
            "HostError: Model shared-iris:1 could not be fetched from the registry at postgresql"
        )
        assert "DefaultAzureCredential" in mb.error  # MLflow's reason: no connection string, no other credential
    assert not (tmp_path / "worker-machine" / "model-cache" / "shared-iris" / "1" / "model").exists()
