"""Compute clusters as Azure has them: Azure's own deployment YAML (`compute: azureml:batch-cluster`) runs on one
machine with no extra step; on many machines a cluster nobody serves is said at create, invoke and stream (command
line), in the API's answer and on + Create job; the Compute page registers a cluster (+ New)."""

import json
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.models import BatchJob, Status
from tests.conftest import DISTRIBUTED, QCluster, wait_for
from workspace.compute.models import ComputeCluster

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode

# Azure's heart-classifier batch deployment (azureml-examples, endpoints/batch/deploy-models/heart-classifier-mlflow),
# on the demo model.
HEART_DEPLOYMENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
endpoint_name: {endpoint}
name: classifier-xgboost-mlflow
description: A heart condition classifier based on XGBoost
type: model
model: azureml:{model}@latest
compute: azureml:batch-cluster
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 300
  error_threshold: -1
  logging_level: info
"""
NO_WORKER = "No live workers on compute cluster batch-cluster"


def cli(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _heart_deployment(tmp_path, endpoint, demo_model) -> tuple[str, str]:
    path = tmp_path / "deployment.yml"
    path.write_text(HEART_DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name))
    return cli("batch_deployment", "create", "-f", str(path), "--set-default")


def _finished(job):
    job.refresh_from_db()
    return job.is_finished


@pytest.mark.integration
@pytest.mark.skipif(DISTRIBUTED, reason="one machine: its one pool serves every cluster")
def test_azures_batch_cluster_deployment_runs_on_one_machine_with_no_extra_step(
    transactional_db, tmp_path, endpoint, demo_model, demo_data, signed_in
):
    machine = QCluster()  # what `make run` starts: Q_CLUSTER_NAME unset, so cpu-cluster
    try:
        wait_for(lambda: signed_in.get("/readyz").status_code == 200, timeout=90, message="a live worker")
        shown, warned = _heart_deployment(tmp_path, endpoint, demo_model)
        assert json.loads(shown)["compute"] == "azureml:batch-cluster" and warned == ""
        name, warned = cli(
            "batch_endpoint", "invoke", "-n", endpoint.name, "--input", demo_data, "--query", "name", "-o", "tsv"
        )
        assert warned == ""
        job = BatchJob.objects.get(name=name.strip())
        assert job.compute == "batch-cluster"
        wait_for(lambda: _finished(job), timeout=180, message=lambda: f"the job to end\n{machine.output()[-3000:]}")
        assert job.status == Status.COMPLETED, job.error
        assert job.rows_out == 150
        page = signed_in.get("/compute/").content.decode()
        assert "batch-cluster" in page and "No live workers" not in page
    finally:
        machine.stop()


def _stream(name, err):
    try:
        call_command("job", "stream", "-n", name, "--interval", "0.2", stdout=StringIO(), stderr=err)
    except CommandError:
        pass  # it ends Canceled


def test_a_cluster_no_live_worker_serves_is_said_at_create_invoke_stream_api_and_create_job(
    transactional_db, tmp_path, endpoint, demo_model, demo_data, signed_in, api, settings
):
    settings.COMPUTE_ONE_POOL = False  # many machines: each serves its own cluster
    shown, warned = _heart_deployment(tmp_path, endpoint, demo_model)
    assert NO_WORKER in warned and "Q_CLUSTER_NAME=batch-cluster python manage.py workers" in warned
    name, warned = cli(
        "batch_endpoint", "invoke", "-n", endpoint.name, "--input", demo_data, "--query", "name", "-o", "tsv"
    )
    assert NO_WORKER in warned
    job = BatchJob.objects.get(name=name.strip())
    answer = api.get(f"/api/v1/jobs/{job.name}").json()
    assert answer["compute"] == "batch-cluster" and NO_WORKER in answer["warnings"][0]
    create = signed_in.get(f"/endpoints/{endpoint.name}/jobs/create/").content.decode()
    assert f"Deployment classifier-xgboost-mlflow: {NO_WORKER}" in create
    err = StringIO()
    stream = threading.Thread(target=_stream, args=(job.name, err))
    stream.start()
    try:
        wait_for(lambda: NO_WORKER in err.getvalue(), timeout=30, message="job stream's warning")
    finally:
        BatchJob.objects.filter(pk=job.pk).update(status=Status.CANCELED)
        stream.join(30)


@pytest.mark.django_db
def test_the_compute_page_registers_a_cluster(signed_in):
    response = signed_in.post(
        "/compute/", {"name": "batch-cluster", "min_instances": "0", "max_instances": "4", "description": "CPU"}
    )
    assert response.status_code == 302
    cluster = ComputeCluster.objects.get(name="batch-cluster")
    assert (cluster.min_instances, cluster.max_instances, cluster.created_by.username) == (0, 4, "alice")
    page = signed_in.get("/compute/").content.decode()
    assert "batch-cluster" in page and "0 to 4" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "9-lives", "min_instances": "0", "max_instances": "1"}, "name", "start with a letter"),
        ({"name": "gpu", "min_instances": "3", "max_instances": "2"}, "min_instances", "cannot be above the maximum"),
        ({"name": "gpu", "min_instances": "0", "max_instances": "0"}, "max_instances", "1 or more"),
        ({"name": "taken", "min_instances": "0", "max_instances": "1"}, "name", "already exists"),
    ],
)
def test_the_compute_page_says_what_is_wrong_with_a_new_cluster(signed_in, data, field, message):
    ComputeCluster.objects.create(name="taken")
    response = signed_in.post("/compute/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert ComputeCluster.objects.count() == 1
