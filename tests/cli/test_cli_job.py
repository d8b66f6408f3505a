"""`manage.py job` mirrors `az ml job`: show, stream (exit status 0 only when Completed), download, cancel."""

import json

import pytest
from django.core.management.base import CommandError

from jobs.models import BatchJob, Status
from jobs.submit import submit_job
from tests.fixtures.api import invoke, run, run_both
from workspace.models import Datastore


@pytest.fixture
def job(endpoint, demo_data):
    return submit_job(endpoint, input_uri=demo_data)


def _finish(job, status, **fields):
    BatchJob.objects.filter(pk=job.pk).update(status=status, mini_batches_done=job.mini_batches_total, **fields)


@pytest.mark.django_db
def test_show_prints_the_job(job):
    shown = json.loads(run("job", "show", "-n", job.name))
    assert shown["status"] == Status.QUEUED and shown["counts"]["files_total"] == 5


@pytest.mark.django_db
def test_stream_ends_with_exit_status_zero_when_completed(job):
    _finish(job, Status.COMPLETED, rows_out=150)
    out = run("job", "stream", "-n", job.name)
    assert "[##############################] 100%  Completed" in out
    assert "mini-batches 3/3 (0 failed)" in out and out.rstrip().endswith(f"/paths/jobs/{job.name}/")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELED])
def test_stream_fails_the_command_unless_completed(job, status):
    _finish(job, status, error="3 files could not be read")
    with pytest.raises(CommandError) as err:
        run("job", "stream", "-n", job.name)
    assert err.value.returncode == 1 and str(err.value) == f"Job {job.name} ended {status}."


@pytest.mark.django_db
def test_download_fetches_the_output_and_logs(job, tmp_path):
    store = Datastore.get_default().client()
    store.write(f"jobs/{job.name}/predictions.csv", b"row,prediction,file_name\n")
    store.write(f"jobs/{job.name}/logs/job_result.txt", b"Completed\n")
    store.write(f"jobs/{job.name}/logs/mini-batches/0.log", b"ok\n")
    run("job", "download", "-n", job.name, "--download-path", str(tmp_path))
    got = sorted(str(p.relative_to(tmp_path / job.name)) for p in (tmp_path / job.name).rglob("*") if p.is_file())
    assert got == ["logs/job_result.txt", "logs/mini-batches/0.log", "predictions.csv"]


@pytest.mark.django_db
def test_download_fetches_the_manifest_and_success_marker_of_a_job_that_writes_them(endpoint, demo_data, tmp_path):
    job = submit_job(endpoint, input_uri=demo_data, overrides={"write_manifest": True})
    store = Datastore.get_default().client()
    for name, data in (
        ("predictions.csv", b"row,prediction,file_name\n"),
        ("manifest.json", b"{}\n"),
        ("_SUCCESS", b""),
    ):
        store.write(f"jobs/{job.name}/{name}", data)
    run("job", "download", "-n", job.name, "-p", str(tmp_path))
    assert sorted(p.name for p in (tmp_path / job.name).iterdir()) == ["_SUCCESS", "manifest.json", "predictions.csv"]


@pytest.mark.django_db
def test_cancel_cancels_once(job):
    assert "Cancel requested" in run_both("job", "cancel", "-n", job.name)[1]
    job.refresh_from_db()
    assert job.status in (Status.CANCEL_REQUESTED, Status.CANCELED)
    BatchJob.objects.filter(pk=job.pk).update(status=Status.CANCELED)
    with pytest.raises(CommandError, match="already finished"):
        run("job", "cancel", "-n", job.name)


@pytest.mark.django_db
def test_an_unknown_job_is_an_error():
    with pytest.raises(CommandError, match="There is no job named 'nope'"):
        run("job", "show", "-n", "nope")


@pytest.mark.integration
def test_a_script_invokes_streams_and_downloads_a_real_job(endpoint, demo_data, qcluster, tmp_path):
    name = invoke("-n", endpoint.name, "--input", demo_data)
    out = run("job", "stream", "-n", name, "--interval", "0.2")
    assert f"Job {name} Completed" in out, qcluster.output()[-3000:]
    assert "100%  Completed" in out and "mini-batches 3/3 (0 failed)" in out
    run("job", "download", "-n", name, "-p", str(tmp_path))
    lines = (tmp_path / name / "predictions.csv").read_text().splitlines()
    assert lines[0] == "row,prediction,file_name" and len(lines) == 151
