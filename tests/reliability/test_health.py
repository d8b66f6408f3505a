"""/healthz (the web process answers) and /readyz (database, broker, a live worker, queued work being taken):
no sign-in, and a stuck queue reads unready however fresh the workers' heartbeats."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import BatchJob, MiniBatch, Status
from tests.conftest import wait_for
from tests.fixtures.engine import job_row

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode


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
    job = job_row(endpoint, Status.QUEUED)
    MiniBatch.objects.create(
        job=job,
        index=0,
        status=MiniBatch.QUEUED,
        files=["a.csv"],
        lease_until=timezone.now() - timedelta(seconds=waited_seconds),
    )
    return job


@pytest.mark.integration
def test_readyz_is_ready_with_a_live_worker_and_unready_when_queued_work_is_not_taken(client, user, endpoint, qcluster):
    ready = wait_for(lambda: (r := client.get("/readyz")).status_code == 200 and r, timeout=60, message="ready")
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok", "workers": "ok", "queue": "ok"},
    }
    # A mini-batch nobody claimed, not even reclaim_stale (which sends a lapsed one again every minute): what a
    # wedged pool leaves, while its workers still beat.
    for _ in range(
        3
    ):  # the supervisor's reclaim (every COMPUTE_RECLAIM_SECONDS) may send it again just before the look
        job = _waiting_job(endpoint, waited_seconds=600)
        response = client.get("/readyz")
        if response.status_code == 503:
            break
    assert response.status_code == 503
    assert "1 mini-batch(es) of cpu-cluster waited more than" in response.json()["checks"]["queue"]
    assert response.json()["checks"]["workers"] == "ok"
    # The Compute page says so from the same reading.
    client.force_login(user)
    assert "cpu-cluster is stuck: 1 mini-batch waited unclaimed" in client.get("/compute/").content.decode()
    # With no restart by hand: `manage.py workers` gives the mini-batch back to its pool itself (reclaim_stale in
    # the supervisor, or a restart of the pool it sees stalled), the pool takes it, and /readyz is ready again. While
    # the supervisor restarts the pool, /readyz may say "no live worker" for a moment: ready again is what counts.
    wait_for(lambda: job.mini_batches.get().attempts >= 1, timeout=120, message="the pool to take the mini-batch")
    last = {}

    def ready_again():
        last["body"] = (response := client.get("/readyz")).json()
        return response.status_code == 200

    wait_for(ready_again, timeout=90, interval=1, message=lambda: f"/readyz to be ready again: {last.get('body')}")


@pytest.mark.django_db
def test_metrics_in_prometheus_format_for_a_signed_in_user_or_the_scrapers_token(client, signed_in, endpoint, settings):
    from django.test import Client

    _waiting_job(endpoint, waited_seconds=5)
    done = BatchJob.objects.create(
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri="x",
        output_datastore="workspaceblobstore",
        output_path="jobs/done",
        status=Status.COMPLETED,
        settings={"output_file_name": "predictions.csv"},
    )
    MiniBatch.objects.create(job=done, index=0, status=MiniBatch.COMPLETED, rows_out=150, seconds=0.4)
    MiniBatch.objects.create(job=done, index=1, status=MiniBatch.COMPLETED, rows_out=50, seconds=7)
    page = signed_in.get("/metrics")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/plain; version=")
    text = page.content.decode()
    for line in (
        'batchstudio_jobs{status="Completed"} 1.0',
        'batchstudio_jobs{status="Queued"} 1.0',
        'batchstudio_jobs{status="Failed"} 0.0',
        "batchstudio_rows_scored_total 200.0",
        'batchstudio_minibatch_duration_seconds_bucket{le="0.5"} 1.0',
        'batchstudio_minibatch_duration_seconds_bucket{le="10.0"} 2.0',
        'batchstudio_minibatch_duration_seconds_bucket{le="+Inf"} 2.0',
        "batchstudio_minibatch_duration_seconds_sum 7.4",
        'batchstudio_queue_depth{compute="cpu-cluster"} 1.0',
    ):
        assert line in text, line
    assert 'batchstudio_oldest_queued_seconds{compute="cpu-cluster"}' in text

    scraper = Client()
    refused = scraper.get("/metrics")
    assert refused.status_code == 401 and b"METRICS_TOKEN" in refused.content
    settings.METRICS_TOKEN = "scrape-secret"
    assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert scraper.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
