"""/healthz (the web process answers) and /readyz (database, broker, a live worker, queued work being taken):
no sign-in, and a stuck queue reads unready however fresh the workers' heartbeats."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import BatchJob, MiniBatch, Status
from tests.conftest import wait_for


@pytest.mark.django_db
def test_healthz_answers_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_without_a_worker_is_unready_and_says_why(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready"
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    assert body["checks"]["workers"].startswith("no live worker")


def _waiting_job(endpoint, waited_seconds):
    job = BatchJob.objects.create(
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri="x",
        output_datastore="workspaceblobstore",
        output_path="jobs/waiting",
        status=Status.QUEUED,
        compute="cpu-cluster",
        settings={"output_file_name": "predictions.csv"},
    )
    MiniBatch.objects.create(
        job=job,
        index=0,
        status=MiniBatch.QUEUED,
        files=["a.csv"],
        lease_until=timezone.now() - timedelta(seconds=waited_seconds),
    )
    return job


@pytest.mark.integration
def test_readyz_is_ready_with_a_live_worker_and_unready_when_queued_work_is_not_taken(client, endpoint, qcluster):
    ready = wait_for(lambda: (r := client.get("/readyz")).status_code == 200 and r, timeout=60, message="ready")
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok", "workers": "ok", "queue": "ok"},
    }
    # A mini-batch nobody claimed, not even reclaim_stale (which sends a lapsed one again every minute): what a
    # wedged pool leaves, while its workers still beat.
    _waiting_job(endpoint, waited_seconds=600)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "1 mini-batch(es) of cpu-cluster waited more than" in response.json()["checks"]["queue"]
    assert response.json()["checks"]["workers"] == "ok"
