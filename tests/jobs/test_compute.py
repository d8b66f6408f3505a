"""Compute page: clusters, their live workers (heartbeat confirmed by django-q2's statistics), and the warning."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from workspace.compute.heartbeat import beat
from workspace.compute.live import live_workers
from workspace.compute.models import Worker


@pytest.mark.django_db
def test_it_warns_when_a_cluster_has_no_live_worker(signed_in):
    response = signed_in.get("/compute/")
    assert response.status_code == 200
    assert b"cpu-cluster" in response.content
    assert b"No live workers on cpu-cluster" in response.content


@pytest.mark.django_db
def test_it_lists_every_cluster_a_deployment_names(signed_in, endpoint):
    dep = endpoint.default_deployment
    dep.compute = "gpu-cluster"
    dep.save()
    response = signed_in.get("/compute/")
    assert b"gpu-cluster" in response.content and b"No live workers on gpu-cluster" in response.content


@pytest.mark.django_db
def test_a_stale_heartbeat_is_not_a_live_worker():
    Worker.objects.create(
        cluster="cpu-cluster",
        host="old-box",
        pid=42,
        started=timezone.now() - timedelta(hours=1),
        last_heartbeat=timezone.now() - timedelta(minutes=5),
    )
    assert live_workers("cpu-cluster") == []


@pytest.mark.django_db
def test_a_heartbeat_without_a_django_q_cluster_behind_it_is_not_live():
    # A fresh row, but no qcluster is running: django-q2's own statistics do not know the process.
    beat("cpu-cluster", "ghost-box", os.getpid(), None)
    assert Worker.objects.filter(host="ghost-box").exists()
    assert live_workers("cpu-cluster") == []


@pytest.mark.django_db
def test_beat_updates_one_row_per_process():
    beat("cpu-cluster", "box", 7, 1)
    beat("cpu-cluster", "box", 7, 1)
    assert Worker.objects.filter(host="box", pid=7).count() == 1
