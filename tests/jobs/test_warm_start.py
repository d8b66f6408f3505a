"""Warm starts (beyond Azure, issue 18): a deployment with warm_start on has its scoring host loaded in every worker of
its cluster before any job needs it - when the workers start, and when such a deployment is saved - so even the
first job on a just-started cluster reuses a warm host instead of loading the model."""

import pytest

from endpoints.models import BatchDeployment
from jobs.models import Status
from jobs.submit import submit_job
from tests.conftest import QCluster, wait_for
from tests.fixtures.engine import job_row
from workspace.compute.live import live_workers
from workspace.models import Datastore

DEPLOYMENTS = "/api/v1/endpoints/iris-endpoint/deployments"


def _loaded(label: str) -> list:
    """The live workers that report `label` loaded, or [] while fewer than two do (the fixture runs two)."""
    workers = live_workers()
    return workers if len(workers) == 2 and all(label in w.loaded for w in workers) else []


def _logs(job) -> list[str]:
    client = Datastore.get_default().client()
    return [client.read_bytes(mb.log_path).decode() for mb in job.mini_batches.order_by("index")]


@pytest.mark.integration
def test_the_first_job_on_just_started_workers_finds_its_model_loaded(transactional_db, endpoint, demo_data, api, user):
    blue = endpoint.default_deployment
    blue.warm_start, blue.logging_level = True, "debug"
    blue.save()
    cluster = QCluster()
    try:
        wait_for(
            lambda: _loaded("iris-endpoint/blue"),
            timeout=120,
            message=lambda: (
                f"both workers to load blue: {[w.loaded for w in live_workers()]}\n{cluster.output()[-2000:]}"
            ),
        )
        job = submit_job(endpoint, input_uri=demo_data)
        wait_for(lambda: job.refresh_from_db() or job.is_finished, timeout=120, message="the job to finish")
        assert job.status == Status.COMPLETED and job.rows_out == 150
        logs = _logs(job)
        assert logs and all("reusing the warm scoring host" in log for log in logs), logs
        assert not any("scoring host pid" in log and "started" in log for log in logs), logs

        # The Compute page lists what each worker has loaded.
        api.force_login(user)
        page = api.get("/compute/").content.decode()
        assert "Models loaded" in page and page.count("iris-endpoint/blue") >= 2

        # A deployment saved with warm start on while the workers run: each live worker loads it, with no job.
        body = {
            "name": "green",
            "type": "model",
            "model": f"azureml:{blue.model_name}:{blue.model_version}",
            "settings": {"warm_start": True, "environment_variables": {"COLOUR": "green"}},
        }
        created = api.post(DEPLOYMENTS, body, content_type="application/json")
        assert created.status_code == 201, created.content
        assert created.json()["settings"]["warm_start"] is True
        wait_for(
            lambda: _loaded("iris-endpoint/green"),
            timeout=120,
            message=lambda: (
                f"both workers to load green: {[w.loaded for w in live_workers()]}\n{cluster.output()[-2000:]}"
            ),
        )
    finally:
        cluster.stop()


@pytest.mark.django_db
def test_warm_start_is_off_by_default_and_a_deployment_setting_of_the_api_and_the_studio(
    api, endpoint, demo_model, user
):
    blue = endpoint.default_deployment
    assert blue.warm_start is False  # Azure's behaviour: the first job loads the model
    body = {"name": "red", "type": "model", "model": f"azureml:{demo_model.name}:{demo_model.version}"}
    refused = api.post(DEPLOYMENTS, {**body, "settings": {"warm_start": "yes"}}, content_type="application/json")
    error = refused.json()["error"]
    assert refused.status_code == 400 and error["code"] == "wrong_type" and "warm_start" in error["message"], error
    created = api.post(DEPLOYMENTS, {**body, "settings": {"warm_start": True}}, content_type="application/json")
    assert created.status_code == 201 and BatchDeployment.objects.get(name="red").warm_start is True
    api.force_login(user)
    page = api.get(f"/endpoints/{endpoint.name}/")
    assert page.status_code == 200
    assert "<dt>Warm start</dt><dd>On: every worker of cpu-cluster keeps its model loaded</dd>" in page.content.decode()


@pytest.mark.django_db
def test_a_warm_task_that_found_its_host_loaded_never_holds_a_worker_a_job_waits_for(endpoint, monkeypatch):
    import time

    from jobs import warm
    from jobs.models import MiniBatch

    monkeypatch.setattr(warm, "RESEND_AFTER", 0.5)
    began = time.monotonic()
    assert warm._hold("cpu-cluster") is True  # nothing waits: it holds, so another idle worker takes the next task
    assert time.monotonic() - began >= 0.5
    job = job_row(endpoint, Status.QUEUED)
    MiniBatch.objects.create(job=job, index=0, status=MiniBatch.QUEUED, files=["a.csv"])
    monkeypatch.setattr(warm, "RESEND_AFTER", 30)
    began = time.monotonic()
    assert warm._hold("cpu-cluster") is False  # a job waits: the worker is let go at once
    assert time.monotonic() - began < 5


@pytest.mark.django_db
def test_the_deployments_waiting_on_an_environment_are_warmed_once_it_is_built(endpoint, monkeypatch):
    from jobs import warm

    BatchDeployment.objects.filter(pk=endpoint.default_deployment_id).update(
        environment="mlflow-iris:1", warm_start=True
    )
    sent = []
    monkeypatch.setattr(warm, "live_workers", lambda cluster: ["worker-1", "worker-2"])
    monkeypatch.setattr(warm.queue, "warm_later", lambda deployment, workers: sent.append((deployment.name, workers)))
    warm.environment_ready("other-env:1")
    assert sent == []
    warm.environment_ready("mlflow-iris:1")
    assert sent == [("blue", 2)]  # a warm task for each live worker of its cluster


@pytest.mark.django_db
def test_moving_the_alias_a_warm_start_deployment_is_pinned_to_warms_it_again(
    endpoint, demo_model, monkeypatch, django_capture_on_commit_callbacks, api, signed_in
):
    from jobs import warm
    from workspace import registry

    BatchDeployment.objects.filter(pk=endpoint.default_deployment_id).update(model_alias="warm-pin", warm_start=True)
    sent = []
    monkeypatch.setattr(warm, "live_workers", lambda cluster: ["worker-1"])
    monkeypatch.setattr(warm.queue, "warm_later", lambda deployment, workers: sent.append((deployment.name, workers)))
    try:
        url = f"/api/v1/models/{demo_model.name}/aliases"
        with django_capture_on_commit_callbacks(execute=True):
            body = {"version": demo_model.version}
            assert api.put(f"{url}/warm-other", body, content_type="application/json").status_code == 200
        assert sent == []  # no deployment is pinned to that one
        with django_capture_on_commit_callbacks(execute=True):
            assert api.put(f"{url}/warm-pin", body, content_type="application/json").status_code == 200
        assert sent == [("blue", 1)]
        with django_capture_on_commit_callbacks(execute=True):  # the Models page's Set alias
            page = f"/models/{demo_model.name}/{demo_model.version}/aliases/"
            signed_in.post(page, {"alias": "warm-pin"})
        assert sent == [("blue", 1), ("blue", 1)]
    finally:
        for alias in ("warm-other", "warm-pin"):
            registry.delete_alias(demo_model.name, alias)
