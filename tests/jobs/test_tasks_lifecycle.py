"""The job lifecycle in the tasks, called directly: leases, heartbeats, reclaim, cancel, and a finalize that
can run twice and checks the output location again at commit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engine.host import Aborted
from jobs import lifecycle, tasks
from jobs.models import BatchJob, MiniBatch, Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_exists, output_frame, read_output
from workspace.models import Datastore

pytestmark = pytest.mark.django_db


def take(job, worker="elsewhere:1", lease=timedelta(seconds=-1), attempts=1):
    """Pretend a worker holds the job's first mini-batch, its lease ending `lease` from now."""
    mb = job.mini_batches.order_by("index").first()
    MiniBatch.objects.filter(pk=mb.pk).update(
        status=MiniBatch.RUNNING, worker=worker, attempts=attempts, lease_until=timezone.now() + lease
    )
    mb.refresh_from_db()
    return mb


def finalizing_with_parts(endpoint, demo_data, settings):
    """A job whose mini-batches all wrote their parts and that is Finalizing, as a finalize would find it."""
    settings.JOBS_HEARTBEAT_SECONDS = 3600  # the heartbeat would stop mini-batches of a job already Finalizing
    job = submit_job(endpoint, input_uri=demo_data, overrides={"instance_count": 10})
    tasks.dispatch(job.pk)
    BatchJob.objects.filter(pk=job.pk).update(
        status=Status.FINALIZING, lease_until=timezone.now() - timedelta(seconds=1)
    )
    for pk in job.mini_batches.values_list("pk", flat=True):
        tasks.run_minibatch(pk)
    job.refresh_from_db()
    assert set(job.mini_batches.values_list("status", flat=True)) == {MiniBatch.COMPLETED}
    return job


def test_finalize_twice_keeps_a_completed_job_completed(endpoint, demo_data, settings):
    job = finalizing_with_parts(endpoint, demo_data, settings)
    # A first finalize published the output and died before saying so: the next one finds its own file.
    tasks._join_parts(job, Datastore.get_default().client(), with_stats=False)
    tasks.finalize(job.pk)
    job.refresh_from_db()
    assert job.status == Status.COMPLETED, job.error
    tasks.finalize(job.pk)
    job.refresh_from_db()
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150


def test_an_output_that_appeared_after_submit_fails_the_job_at_commit(endpoint, demo_data):
    job = submit_job(endpoint, input_uri=demo_data)
    store = Datastore.get_default().client()
    store.write(f"{job.output_path}/predictions.csv", b"someone else's\n")
    drive(job)
    assert job.status == Status.FAILED
    assert f"'{job.output_path}/predictions.csv' already exists" in job.error and "did not overwrite" in job.error
    assert store.read_bytes(f"{job.output_path}/predictions.csv") == b"someone else's\n"


def test_an_interrupted_finalize_is_run_again_by_the_reclaim_schedule(endpoint, demo_data, settings):
    job = finalizing_with_parts(endpoint, demo_data, settings)
    tasks.reclaim_stale()
    job.refresh_from_db()
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150


def test_a_job_shows_completed_only_once_its_logs_are_written(endpoint, demo_data, monkeypatch):
    """A script that polls the status and then reads logs/job_result.txt finds it, saying Completed."""
    seen = []
    ended = lifecycle.ended

    def look_as_the_status_changes(job, *args, **kwargs):  # called right after the status is saved
        assert BatchJob.objects.get(pk=job.pk).status == Status.COMPLETED
        seen.append(
            read_output(job, "logs/job_result.txt").decode() if output_exists(job, "logs/job_result.txt") else ""
        )
        return ended(job, *args, **kwargs)

    monkeypatch.setattr(lifecycle, "ended", look_as_the_status_changes)
    job = drive(submit_job(endpoint, input_uri=demo_data))
    assert job.status == Status.COMPLETED and seen == [
        f"{job.name}: Completed\noutput: {job.output_uri}predictions.csv\n"
    ]


def test_a_queued_job_is_canceled_at_once_with_no_output(endpoint, demo_data):
    job = submit_job(endpoint, input_uri=demo_data)
    tasks.dispatch(job.pk)
    assert lifecycle.request_cancel(job)
    assert job.status == Status.CANCELED
    assert set(job.mini_batches.values_list("status", flat=True)) == {MiniBatch.CANCELED}
    assert not output_exists(job, "predictions.csv") and output_exists(job, "logs/job_result.txt")
    assert not lifecycle.request_cancel(job)  # too late: already finished


def test_a_cancel_too_late_reads_the_status_the_job_has_now(endpoint, demo_data):
    """The API and `job cancel` refuse with the job's status: the one it reached, not the one read before."""
    job = submit_job(endpoint, input_uri=demo_data)
    BatchJob.objects.filter(pk=job.pk).update(status=Status.COMPLETED)  # it finished meanwhile
    assert not lifecycle.request_cancel(job) and job.status == Status.COMPLETED


def test_a_running_job_waits_for_its_mini_batches_to_stop(endpoint, demo_data, fast_heartbeat):
    job = submit_job(endpoint, input_uri=demo_data)
    mb = take(job, worker="w:1", lease=timedelta(seconds=30))
    assert lifecycle.request_cancel(job) and job.status == Status.CANCEL_REQUESTED
    beat = tasks.Heartbeat(job.pk, mb.pk, "w:1")
    beat.next_beat = 0
    with pytest.raises(Aborted, match="the job is CancelRequested"):
        beat()
    tasks._attempt_stopped(job, mb, "w:1", tasks.logs.Journal())
    tasks.dispatch(job.pk)
    job.refresh_from_db()
    assert job.status == Status.CANCELED and not output_exists(job, "predictions.csv")


def test_the_heartbeat_renews_the_lease_and_notices_a_lost_one(endpoint, demo_data, fast_heartbeat):
    job = submit_job(endpoint, input_uri=demo_data)
    mb = take(job, worker="w:1", lease=timedelta(seconds=1))
    beat = tasks.Heartbeat(job.pk, mb.pk, "w:1")
    beat.next_beat = 0
    beat()
    mb.refresh_from_db()
    assert mb.lease_until > timezone.now() + timedelta(seconds=1)
    MiniBatch.objects.filter(pk=mb.pk).update(worker="w:2")
    beat.next_beat = 0
    with pytest.raises(Aborted, match="no longer this worker's"):
        beat()


def test_a_lost_worker_gives_its_mini_batch_back(endpoint, demo_data):
    job = submit_job(endpoint, input_uri=demo_data)
    mb = take(job, worker="gone:42")
    tasks.reclaim_stale()
    mb.refresh_from_db()
    assert mb.status == MiniBatch.PENDING and "the lease of gone:42 passed" in mb.error
    drive(job)
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150
    assert job.mini_batches.get(pk=mb.pk).attempts == 2


def test_a_lost_worker_on_the_last_attempt_fails_the_files(endpoint, demo_data):
    job = submit_job(endpoint, input_uri=demo_data)
    mb = take(job, worker="gone:42", attempts=4)  # 1 + max_retries (3)
    tasks.dispatch(job.pk)  # dispatch reclaims its own job's stale leases too
    mb.refresh_from_db()
    assert mb.status == MiniBatch.FAILED
    assert {e["type"] for e in mb.file_errors} == {"WorkerLost"}
    drive(job)
    assert job.status == Status.COMPLETED_WITH_ERRORS and job.files_failed == len(mb.files)
    assert "WorkerLost" in read_output(job, "logs/error_summary.csv").decode()


@pytest.mark.parametrize("one_pool, schedule_on", [(False, "gpu-cluster"), (True, "cpu-cluster")])
def test_every_cluster_a_job_runs_on_gets_a_reclaim_schedule(endpoint, demo_data, settings, one_pool, schedule_on):
    """On many machines each cluster's own workers run its schedule; on one (embedded), the local pool runs them."""
    from django_q.models import Schedule

    from endpoints.models import BatchDeployment

    settings.COMPUTE_ONE_POOL, settings.Q_CLUSTER_NAME = one_pool, "cpu-cluster"
    BatchDeployment.objects.filter(pk=endpoint.default_deployment_id).update(compute="gpu-cluster")
    endpoint.default_deployment.refresh_from_db()
    submit_job(endpoint, input_uri=demo_data)
    submit_job(endpoint, input_uri=demo_data)
    assert Schedule.objects.filter(func="jobs.tasks.reclaim_stale", cluster=schedule_on).count() == 1


def _queued_tasks(func):
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    return [
        task["args"] for task in (SignedPackage.loads(q.payload) for q in OrmQ.objects.all()) if task["func"] == func
    ]


def test_a_queued_mini_batch_whose_task_was_lost_is_sent_again(endpoint, demo_data):
    job = submit_job(endpoint, input_uri=demo_data)
    tasks.dispatch(job.pk)  # marks the first mini-batch Queued; here its task never reaches the broker
    mb = job.mini_batches.get(status=MiniBatch.QUEUED)
    tasks.reclaim_stale()
    assert _queued_tasks("jobs.tasks.run_minibatch") == []  # still within its lease: nothing resent
    MiniBatch.objects.filter(pk=mb.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    tasks.reclaim_stale()
    assert _queued_tasks("jobs.tasks.run_minibatch") == [(mb.pk,)]
    drive(job)
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150


def test_an_active_job_whose_dispatch_was_lost_is_dispatched_again(endpoint, demo_data):
    job = submit_job(endpoint, input_uri=demo_data)
    # A task recorded its mini-batch and died before its dispatch: work waiting, nothing in flight.
    job.mini_batches.filter(status=MiniBatch.QUEUED).update(status=MiniBatch.PENDING, lease_until=None)
    tasks.reclaim_stale()
    assert _queued_tasks("jobs.tasks.dispatch") == [(job.pk,)]


def test_a_job_whose_last_dispatch_was_lost_after_every_mini_batch_ended_is_finished(endpoint, demo_data, monkeypatch):
    """The state a dropped database connection left (test_faults_services' pg_terminate_backend): the last task
    recorded its mini-batch, then its dispatch failed, so the job stayed Running with nothing left to run."""
    job = submit_job(endpoint, input_uri=demo_data)
    tasks.dispatch(job.pk)
    with monkeypatch.context() as m:
        m.setattr(tasks, "dispatch", lambda job_id: None)  # every task's closing dispatch fails
        while queued := job.mini_batches.filter(status=MiniBatch.QUEUED).first():
            tasks.run_minibatch(queued.pk)
            tasks.lifecycle.mark_queued(job)
    job.refresh_from_db()
    assert job.status == Status.RUNNING
    assert set(job.mini_batches.values_list("status", flat=True)) == {MiniBatch.COMPLETED}
    tasks.reclaim_stale()
    assert _queued_tasks("jobs.tasks.dispatch") == [(job.pk,)]
    drive(job)
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150


def test_a_job_whose_only_worker_machine_died_mid_job_is_taken_up_again(endpoint, demo_data, settings):
    """The state a SIGKILLed machine leaves (test_faults_sigkill's "stuck" trial): one mini-batch Completed, one
    Running on the dead machine, the rest Pending, none Queued, and no task of the job left in the broker."""
    settings.JOBS_LANE_SECONDS = 0  # the task records its mini-batch and stops (no lane), as the kill left it
    job = submit_job(endpoint, input_uri=demo_data, overrides={"mini_batch_size": 1, "instance_count": 2})
    first, second = job.mini_batches.order_by("index")[:2]
    tasks.run_minibatch(first.pk)
    MiniBatch.objects.filter(pk=second.pk).update(
        status=MiniBatch.RUNNING, worker="killed:7", attempts=1, lease_until=timezone.now() - timedelta(seconds=1)
    )
    job.mini_batches.filter(status=MiniBatch.QUEUED).update(status=MiniBatch.PENDING, lease_until=None)
    from django_q.models import OrmQ

    OrmQ.objects.all().delete()  # what the dead machine had taken from the broker is gone with it
    pending = job.mini_batches.filter(status=MiniBatch.PENDING).count()
    assert pending >= 2 and job.mini_batches.filter(status=MiniBatch.COMPLETED).count() == 1

    tasks.reclaim_stale()
    second.refresh_from_db()
    assert second.status == MiniBatch.PENDING and "the lease of killed:7 passed" in second.error
    assert _queued_tasks("jobs.tasks.dispatch") == [(job.pk,)]
    tasks.dispatch(job.pk)  # the resent task, as the restarted machine runs it
    assert job.mini_batches.filter(status=MiniBatch.QUEUED).count() == 2
    drive(job)
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150
    assert job.mini_batches.get(pk=second.pk).attempts == 2


def test_a_worker_that_cannot_fetch_the_model_fails_that_attempt_and_another_takes_it(
    endpoint, demo_data, settings, monkeypatch, tmp_path
):
    from django.conf import settings as conf

    job = submit_job(endpoint, input_uri=demo_data)
    tasks.dispatch(job.pk)
    mb = job.mini_batches.filter(status=MiniBatch.QUEUED).order_by("index").first()
    # Machine A: a fresh model cache, and a registry it cannot reach (a password in its URI, never to be shown).
    home = conf.STUDIO_HOME
    settings.STUDIO_HOME = tmp_path
    settings.MLFLOW_TRACKING_URI = "http://mlflow:s3cret-pw@127.0.0.1:9"
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setattr(tasks, "worker_id", lambda: "machine-a:1")
    tasks.run_minibatch(mb.pk)
    mb.refresh_from_db()
    # That attempt failed; the mini-batch is back in the queue (run_minibatch dispatched again) for any worker.
    assert mb.status in (MiniBatch.PENDING, MiniBatch.QUEUED) and mb.attempts == 1, (mb.status, mb.error)
    assert (
        f"Model {job.model_uri.removeprefix('models:/').replace('/', ':')} could not be fetched from the registry at "
        "http://127.0.0.1:9" in mb.error
    ), mb.error
    assert "s3cret-pw" not in mb.error
    # Machine B reaches the registry: it takes the mini-batch on its next dispatch and the job completes.
    settings.STUDIO_HOME, settings.MLFLOW_TRACKING_URI = home, ""
    monkeypatch.setattr(tasks, "worker_id", lambda: "machine-b:1")
    drive(job)
    mb.refresh_from_db()
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150
    assert (mb.status, mb.attempts, mb.worker) == (MiniBatch.COMPLETED, 2, "machine-b:1")


def test_a_part_written_after_the_job_failed_does_not_stay_in_the_output_folder(endpoint, demo_data, monkeypatch):
    """Another lane fails the job (error threshold, a full disk) while this one scores: its part, written after the
    job's end removed staging, is removed too; the user's output folder holds only the logs."""
    job = submit_job(endpoint, input_uri=demo_data, overrides={"mini_batch_size": 1})
    score = tasks.hosting.score

    def failing_meanwhile(job_, mb, *args, **kwargs):
        lifecycle.fail_running(job_.pk, "Error threshold exceeded by another lane")
        return score(job_, mb, *args, **kwargs)

    monkeypatch.setattr(tasks.hosting, "score", failing_meanwhile)
    first = job.mini_batches.order_by("index").first()
    tasks.run_minibatch(first.pk)
    job.refresh_from_db()
    first.refresh_from_db()
    assert job.status == Status.FAILED and first.status == MiniBatch.COMPLETED  # it did finish its part
    store = Datastore.objects.get(name=job.output_datastore).client()
    assert not store.exists(f"{job.output_path}/.staging")
    assert store.exists(f"{job.output_path}/logs/job_result.txt")
