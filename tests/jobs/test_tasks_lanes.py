"""A task keeps its slot: after a mini-batch it runs the job's next Pending one itself (a lane), every row
exactly once, taking turns with other jobs on the cluster and stopping at once on cancel or a failed job."""

import pytest

from jobs import hosting, lifecycle, tasks
from jobs.models import BatchJob, MiniBatch, Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_frame
from workspace.models import Datastore

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def long_lanes(settings):
    """Lanes bounded only by the job and the other jobs (a slow machine must not end them by the clock)."""
    settings.JOBS_LANE_SECONDS = 3600


def write_inputs(folder: str, files: int, rows: int = 5, bad: tuple = ()) -> str:
    """Iris files of `rows` rows each (f00.csv, f01.csv, ...); the indexes in `bad` hold a file the model refuses."""
    from sklearn.datasets import load_iris

    iris, store = load_iris(as_frame=True).data, Datastore.get_default().client()
    for i in range(files):
        data = (
            b"colour,size\nred,3\n" if i in bad else iris.iloc[i * rows : (i + 1) * rows].to_csv(index=False).encode()
        )
        store.write(f"{folder}/f{i:02d}.csv", data)
    return Datastore.get_default().uri(folder)


def statuses(job):
    return list(job.mini_batches.order_by("index").values_list("status", flat=True))


def first_queued(job):
    return job.mini_batches.filter(status=MiniBatch.QUEUED).order_by("index").first()


def test_one_task_runs_the_whole_job_and_every_row_once(endpoint):
    job = submit_job(endpoint, input_uri=write_inputs("lane", files=12, rows=5), overrides={"mini_batch_size": 1})
    assert statuses(job).count(MiniBatch.QUEUED) == 1  # queued at submit: no dispatch task before it runs
    tasks.run_minibatch(first_queued(job).pk)  # one task
    job.refresh_from_db()
    assert job.status == Status.COMPLETED, job.error
    assert job.mini_batches_done == 12 and set(job.mini_batches.values_list("attempts", flat=True)) == {1}
    assert len(set(job.mini_batches.values_list("worker", flat=True))) == 1
    out = output_frame(job)
    assert sorted(zip(out["file_name"], out["row"])) == [(f"f{i:02d}.csv", r) for i in range(12) for r in range(5)]


def test_jobs_on_the_same_cluster_take_turns(endpoint):
    first = submit_job(endpoint, input_uri=write_inputs("turns-a", files=4), overrides={"mini_batch_size": 1})
    second = submit_job(endpoint, input_uri=write_inputs("turns-b", files=4), overrides={"mini_batch_size": 1})
    tasks.run_minibatch(first_queued(first).pk)  # the second job waits: the task hands its slot back
    assert statuses(first) == [MiniBatch.COMPLETED, MiniBatch.QUEUED, MiniBatch.PENDING, MiniBatch.PENDING]
    tasks.run_minibatch(first_queued(second).pk)  # and the first job has a queued mini-batch waiting now
    assert statuses(second) == [MiniBatch.COMPLETED, MiniBatch.QUEUED, MiniBatch.PENDING, MiniBatch.PENDING]
    for job in (first, second):
        drive(job)
        assert job.status == Status.COMPLETED and len(output_frame(job)) == 20


def test_a_job_on_another_cluster_does_not_stop_the_lane(endpoint):
    other = submit_job(endpoint, input_uri=write_inputs("elsewhere", files=2), overrides={"mini_batch_size": 1})
    BatchJob.objects.filter(pk=other.pk).update(compute="gpu-cluster")
    job = submit_job(endpoint, input_uri=write_inputs("alone", files=4), overrides={"mini_batch_size": 1})
    tasks.run_minibatch(first_queued(job).pk)
    job.refresh_from_db()
    assert job.status == Status.COMPLETED and job.mini_batches_done == 4


def test_lane_seconds_zero_runs_one_mini_batch_per_task(endpoint, settings):
    settings.JOBS_LANE_SECONDS = 0
    job = submit_job(endpoint, input_uri=write_inputs("single", files=3), overrides={"mini_batch_size": 1})
    tasks.run_minibatch(first_queued(job).pk)
    assert statuses(job) == [MiniBatch.COMPLETED, MiniBatch.QUEUED, MiniBatch.PENDING]


@pytest.fixture
def cancel_after(monkeypatch):
    """The user cancels the job while its n-th mini-batch is being scored (the real scoring runs)."""

    def arm(job, n):
        real, calls = hosting.score, []

        def score(job_, mb, *args, **kwargs):
            calls.append(mb.index)
            if len(calls) == n:
                assert lifecycle.request_cancel(BatchJob.objects.get(pk=job.pk))
            return real(job_, mb, *args, **kwargs)

        monkeypatch.setattr(hosting, "score", score)
        return calls

    return arm


def test_cancel_mid_lane_stops_it(endpoint, cancel_after):
    job = submit_job(endpoint, input_uri=write_inputs("cancel-lane", files=8), overrides={"mini_batch_size": 1})
    calls = cancel_after(job, 3)
    tasks.run_minibatch(first_queued(job).pk)
    job.refresh_from_db()
    assert calls == [0, 1, 2]  # nothing scored after the cancel
    assert job.status == Status.CANCELED
    assert statuses(job)[3:] == [MiniBatch.CANCELED] * 5
    assert MiniBatch.objects.filter(job=job, status=MiniBatch.RUNNING).count() == 0


def test_a_failed_job_stops_its_lane(endpoint):
    job = submit_job(
        endpoint,
        input_uri=write_inputs("threshold-lane", files=6, bad=(1,)),
        overrides={"mini_batch_size": 1, "error_threshold": 0},
    )
    tasks.run_minibatch(first_queued(job).pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "above the error threshold of 0" in job.error
    assert statuses(job) == [MiniBatch.COMPLETED] * 2 + [MiniBatch.CANCELED] * 4  # the second one's file failed
