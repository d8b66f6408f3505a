"""Retry failed (jobs/retries.py): a Failed or Canceled job's retry runs only what did not succeed, reuses the
parts of what did, and its output equals a clean run's. Also through the API and the command line."""

import json
from datetime import timedelta

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from jobs import kept, lifecycle, retries, tasks
from jobs.models import BatchJob, MiniBatch, Status
from jobs.submit import submit_job
from tests.conftest import wait_for
from tests.fixtures.api import check_response, run
from tests.fixtures.engine import drive, output_exists, output_frame
from tests.fixtures.resume import input_frames, write_frames
from workspace.models import Datastore

FILES = 6  # f03 fails while the flag exists


def store():
    return Datastore.get_default().client()


def failed_job(endpoint, flag, folder="resume/in"):
    """A job that Failed on f03 (error threshold 0) after f00..f02 had succeeded; f04, f05 never ran."""
    flag.touch()
    job = drive(
        submit_job(
            endpoint, input_uri=write_frames(folder, input_frames(files=FILES)), overrides={"error_threshold": 0}
        )
    )
    flag.unlink()
    assert job.status == Status.FAILED, job.error
    return job


def clean_run(endpoint, folder="resume/in"):
    return drive(submit_job(endpoint, input_uri=write_frames(folder, input_frames(files=FILES))))


@pytest.mark.django_db
def test_a_failed_job_keeps_its_succeeded_parts_out_of_the_output_location(picky_endpoint, picky_flag):
    job = failed_job(picky_endpoint, picky_flag)
    assert not output_exists(job, ".staging") and not output_exists(job, "predictions.csv")
    kept = job.mini_batches.exclude(staging="")
    assert sorted(kept.values_list("index", flat=True)) == [0, 1, 2]
    assert all(store().exists(mb.part_path) and mb.part_path.startswith(".batch-studio/kept/") for mb in kept)
    assert job.parts_kept_until > timezone.now() + timedelta(days=6) and job.can_retry


@pytest.mark.django_db
def test_retry_runs_only_what_did_not_succeed_and_its_output_equals_a_clean_run(picky_endpoint, picky_flag):
    job = failed_job(picky_endpoint, picky_flag)
    kept_parts = [mb.part_path for mb in job.mini_batches.exclude(staging="")]
    retry = retries.retry(job)
    assert (retry.retry_of, retry.status, retry.mini_batches_done) == (job, Status.QUEUED, 3)
    assert retry.output_path == f"jobs/{retry.name}" and retry.settings == job.settings
    retry = drive(retry)
    assert retry.status == Status.COMPLETED, retry.error
    ran = {mb.index: mb.attempts for mb in retry.mini_batches.all()}
    assert ran == {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1}  # the succeeded ones were reused, not scored again
    pd.testing.assert_frame_equal(output_frame(retry), output_frame(clean_run(picky_endpoint)))
    assert retry.rows_out == FILES * 6
    job.refresh_from_db()
    assert job.parts_kept_until is None and not any(store().exists(p) for p in kept_parts)
    assert not job.can_retry and not output_exists(retry, ".staging")


@pytest.mark.django_db
def test_a_retry_started_the_moment_the_job_shows_failed_reuses_its_parts(picky_endpoint, picky_flag, monkeypatch):
    """The parts are kept before the status says Failed: a user (or a script polling the API) who retries at once
    does not get a retry that scores everything again."""
    started = []
    mark_failed = BatchJob.mark_failed

    def retry_at_once(job, *args, **kwargs):
        mark_failed(job, *args, **kwargs)
        started.append(retries.retry(BatchJob.objects.get(pk=job.pk)))

    monkeypatch.setattr(BatchJob, "mark_failed", retry_at_once)
    job = failed_job(picky_endpoint, picky_flag)
    monkeypatch.setattr(BatchJob, "mark_failed", mark_failed)
    assert [r.retry_of for r in started] == [job] and started[0].mini_batches_done == 3
    retry = drive(started[0])
    assert [mb.attempts for mb in retry.mini_batches.order_by("index")] == [0, 0, 0, 1, 1, 1]
    pd.testing.assert_frame_equal(output_frame(retry), output_frame(clean_run(picky_endpoint)))


@pytest.mark.django_db
def test_a_canceled_job_is_retried_too(picky_endpoint, settings):
    settings.JOBS_LANE_SECONDS = 0  # one mini-batch per task: the job is still running after it
    job = submit_job(picky_endpoint, input_uri=write_frames("resume/cancel", input_frames(files=FILES)))
    tasks.dispatch(job.pk)
    tasks.run_minibatch(job.mini_batches.get(index=0).pk)
    job.refresh_from_db()
    assert lifecycle.request_cancel(job) and job.status == Status.CANCELED
    retry = drive(retries.retry(job))
    assert retry.status == Status.COMPLETED and retry.mini_batches.get(index=0).attempts == 0
    pd.testing.assert_frame_equal(output_frame(retry), output_frame(clean_run(picky_endpoint, "resume/cancel")))


@pytest.mark.django_db
def test_a_retry_that_fails_again_keeps_what_it_reused_for_the_next_retry(picky_endpoint, picky_flag):
    job = failed_job(picky_endpoint, picky_flag)
    picky_flag.touch()
    second = drive(retries.retry(job))
    picky_flag.unlink()
    assert second.status == Status.FAILED
    assert sorted(second.mini_batches.exclude(staging="").values_list("index", flat=True)) == [0, 1, 2]
    third = drive(retries.retry(second))
    assert third.status == Status.COMPLETED and third.retry_of == second
    assert [mb.attempts for mb in third.mini_batches.order_by("index")] == [0, 0, 0, 1, 1, 1]
    pd.testing.assert_frame_equal(output_frame(third), output_frame(clean_run(picky_endpoint)))


@pytest.mark.django_db
def test_kept_parts_expire_and_a_later_retry_runs_everything_again(picky_endpoint, picky_flag):
    job = failed_job(picky_endpoint, picky_flag)
    BatchJob.objects.filter(pk=job.pk).update(parts_kept_until=timezone.now() - timedelta(seconds=1))
    tasks.reclaim_stale()
    assert not store().exists(kept.kept_folder(job))
    retry = drive(retries.retry(job))
    assert retry.status == Status.COMPLETED and all(mb.attempts == 1 for mb in retry.mini_batches.all())


@pytest.mark.django_db
def test_only_failed_or_canceled_jobs_are_retried_and_only_once(picky_endpoint, picky_flag):
    done = clean_run(picky_endpoint)
    with pytest.raises(ValidationError, match="is Completed: only a Failed or Canceled job can be retried") as exc:
        retries.retry(done)
    assert exc.value.code == "not_retryable"
    job = failed_job(picky_endpoint, picky_flag, "resume/once")
    first = retries.retry(job)
    with pytest.raises(ValidationError, match=f"already retried by {first.name}"):
        retries.retry(job)


@pytest.mark.django_db
def test_a_job_whose_deployment_was_deleted_is_not_retried(picky_endpoint, picky_flag):
    """A deleted deployment takes no new work: no Retry failed button, and the engine refuses with what to do."""
    job = failed_job(picky_endpoint, picky_flag, "resume/deleted")
    job.deployment.delete()
    job.refresh_from_db()
    assert not job.can_retry
    with pytest.raises(ValidationError, match="was deleted: a retry cannot run on it") as exc:
        retries.retry(job)
    assert exc.value.code == "deployment_deleted" and not job.retries.exists()


@pytest.mark.django_db
def test_a_retry_writes_to_the_folder_the_user_chose(picky_endpoint, picky_flag):
    picky_flag.touch()
    job = drive(
        submit_job(
            picky_endpoint,
            input_uri=write_frames("resume/mine", input_frames(files=FILES)),
            overrides={"error_threshold": 0},
            output_path="results/mine",
        )
    )
    picky_flag.unlink()
    retry = drive(retries.retry(job))
    assert retry.output_path == "results/mine" and retry.status == Status.COMPLETED
    assert len(output_frame(retry)) == FILES * 6


@pytest.mark.django_db
def test_the_api_retries_a_job_and_refuses_a_second_retry(api, picky_endpoint, picky_flag):
    job = failed_job(picky_endpoint, picky_flag)
    response = check_response(api.post(f"/api/v1/jobs/{job.name}/retry"))
    assert response.status_code == 201
    data = response.json()
    assert data["retry_of"] == job.name and data["status"] == Status.QUEUED
    assert data["counts"]["mini_batches_done"] == 3
    shown = check_response(api.get(f"/api/v1/jobs/{job.name}")).json()
    assert shown["retried_by"] == [data["name"]]
    again = check_response(api.post(f"/api/v1/jobs/{job.name}/retry"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_retried"


@pytest.mark.django_db
def test_the_command_line_retries_a_job(picky_endpoint, picky_flag):
    job = failed_job(picky_endpoint, picky_flag)
    shown = json.loads(run("job", "retry", "-n", job.name))
    assert shown["retry_of"] == job.name and BatchJob.objects.get(name=shown["name"]).retry_of == job
    with pytest.raises(CommandError, match="already retried"):
        run("job", "retry", "-n", job.name)


@pytest.mark.integration
def test_a_real_cluster_retries_a_failed_job_into_the_output_of_a_clean_run(picky_endpoint, picky_flag, qcluster):
    def finished(job):
        wait_for(
            lambda: BatchJob.objects.get(pk=job.pk).is_finished, timeout=180, message=lambda: qcluster.output()[-3000:]
        )
        job.refresh_from_db()
        return job

    picky_flag.touch()
    uri = write_frames("resume/cluster", input_frames(files=FILES))
    job = finished(submit_job(picky_endpoint, input_uri=uri, overrides={"error_threshold": 0}))
    picky_flag.unlink()
    assert job.status == Status.FAILED, job.error
    retry = finished(retries.retry(job))
    clean = finished(submit_job(picky_endpoint, input_uri=uri))
    assert retry.status == Status.COMPLETED, retry.error
    assert retry.mini_batches.filter(attempts=0, status=MiniBatch.COMPLETED).count() == 3
    pd.testing.assert_frame_equal(output_frame(retry), output_frame(clean))


def threshold_failed_job(endpoint):
    """A job that Failed on its error threshold of 0 rows: f01 has 1 bad row, f02 has 2 (good_rows drops them)."""
    frames = input_frames(files=4, bad={1: [2], 2: [0, 5]})
    job = drive(
        submit_job(
            endpoint,
            input_uri=write_frames("resume/dirty", frames),
            overrides={"error_threshold": 0, "error_threshold_unit": "rows"},
        )
    )
    assert job.status == Status.FAILED and job.failed_on_threshold, job.error
    return job, frames


@pytest.mark.django_db
def test_a_job_failed_on_its_threshold_is_retried_with_another_threshold(picky_endpoint, signed_in):
    """With the same threshold the retry would fail the same way; with 3 rows allowed it ends Completed with errors
    and its output is that of a clean run over the good rows."""
    from tests.fixtures.resume import good_rows

    job, frames = threshold_failed_job(picky_endpoint)
    page = signed_in.get(job.get_absolute_url()).content.decode()
    assert '<details class="retry-threshold" open><summary>Retry with another error threshold</summary>' in page
    response = signed_in.post(f"/jobs/{job.name}/retry/", {"error_threshold": "3", "error_threshold_unit": "rows"})
    retry = BatchJob.objects.get(retry_of=job)
    assert response["Location"] == retry.get_absolute_url()
    assert (retry.settings["error_threshold"], retry.settings["error_threshold_unit"]) == (3, "rows")
    assert retry.overrides["error_threshold"] == 3
    assert {k: v for k, v in retry.settings.items() if k != "error_threshold"} == {
        k: v for k, v in job.settings.items() if k != "error_threshold"
    }
    retry = drive(retry)
    assert retry.status == Status.COMPLETED_WITH_ERRORS, retry.error
    assert retry.rows_failed == 3
    clean = drive(submit_job(picky_endpoint, input_uri=write_frames("resume/clean", good_rows(frames))))
    pd.testing.assert_frame_equal(
        output_frame(retry)[["prediction", "file_name"]], output_frame(clean)[["prediction", "file_name"]]
    )


@pytest.mark.django_db
def test_a_retry_changes_nothing_but_the_error_threshold(picky_endpoint, picky_flag, signed_in, api):
    job = failed_job(picky_endpoint, picky_flag)
    with pytest.raises(ValidationError) as refused:
        retries.retry(job, threshold={"mini_batch_size": 2})
    assert refused.value.code == "not_overridable_on_retry"
    with pytest.raises(ValidationError, match="at most 100"):
        retries.retry(job, threshold={"error_threshold": 150, "error_threshold_unit": "percent"})
    with pytest.raises(ValidationError, match="-1 \\(never fail\\) to 2,000,000,000, not -3"):
        retries.retry(job, threshold={"error_threshold": -3})
    response = check_response(
        api.post(f"/api/v1/jobs/{job.name}/retry", {"settings": {"timeout": 5}}, content_type="application/json")
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_overridable_on_retry"
    page = signed_in.post(f"/jobs/{job.name}/retry/", {"error_threshold": "-5"}, follow=True).content.decode()
    assert "Error threshold: Ensure this value is greater than or equal to -1." in page
    assert not BatchJob.objects.filter(retry_of=job).exists()
    response = check_response(
        api.post(
            f"/api/v1/jobs/{job.name}/retry", {"settings": {"error_threshold": 2}}, content_type="application/json"
        )
    )
    assert response.status_code == 201 and response.json()["settings"]["error_threshold"] == 2


@pytest.mark.django_db
def test_the_command_line_retries_with_another_error_threshold(picky_endpoint):
    job, _ = threshold_failed_job(picky_endpoint)
    shown = json.loads(
        run("job", "retry", "-n", job.name, "--error-threshold", "5", "--error-threshold-unit", "percent")
    )
    assert (shown["settings"]["error_threshold"], shown["settings"]["error_threshold_unit"]) == (5, "percent")
