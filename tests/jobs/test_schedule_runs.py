"""A schedule's runs score only the files that are new since they were last scored, by path and content hash:
through django-q2's schedule and a real qcluster, and (for changed and failed files) with the job driven here."""

from datetime import timedelta

import pytest
from django.utils import timezone
from sklearn.datasets import load_iris

from endpoints.models import BatchDeployment
from jobs.models import BatchJob, Status
from jobs.schedules import runs
from jobs.schedules.models import Schedule, ScheduleRun
from tests.conftest import age, wait_for
from tests.fixtures.engine import drive, output_frame
from workspace.models import Datastore

NEVER = "0 0 1 1 *"  # 1 January: a schedule that cron does not fire while the test runs
IRIS = load_iris(as_frame=True).data


def write_iris(folder, name, start, rows=10):
    Datastore.get_default().client().write(
        f"{folder}/{name}", IRIS.iloc[start : start + rows].to_csv(index=False).encode()
    )


def make_schedule(endpoint, folder, **fields):
    schedule = Schedule.objects.create(
        name=fields.pop("name", "nightly"),
        endpoint=endpoint,
        input_datastore=Datastore.get_default().name,
        input_path=folder,
        cron=fields.pop("cron", NEVER),
        **fields,
    )
    schedule.sync()
    return schedule


def scored_names(job):
    return set(output_frame(job)["file_name"])


def _finished(job):
    job.refresh_from_db()
    return job.is_finished


@pytest.mark.integration
def test_the_second_scheduled_run_scores_only_the_added_files(endpoint, qcluster):
    folder = "scheduled/added"
    write_iris(folder, "day-1.csv", 0)
    write_iris(folder, "day-2.csv", 10)
    schedule = make_schedule(
        endpoint, folder, output_datastore=Datastore.get_default().name, output_path="scored/nightly"
    )
    assert schedule.q_schedule.func == "jobs.schedules.runs.run_schedule" and schedule.next_run.month == 1

    # django-q2's scheduler fires it once its next run has passed.
    schedule.q_schedule.next_run = timezone.now() - timedelta(minutes=1)
    schedule.q_schedule.save()
    first = wait_for(
        lambda: ScheduleRun.objects.filter(schedule=schedule, outcome=ScheduleRun.SUBMITTED).first(),
        timeout=150,
        message=lambda: f"the scheduler to fire the run; qcluster said:\n{qcluster.output()[-3000:]}",
    )
    assert first.trigger == ScheduleRun.SCHEDULED and first.files_found == 2 and first.files_new == 2
    wait_for(
        lambda: _finished(first.job), message=lambda: f"the first job; qcluster said:\n{qcluster.output()[-3000:]}"
    )
    assert first.job.status == Status.COMPLETED, first.job.error
    assert scored_names(first.job) == {"day-1.csv", "day-2.csv"}
    assert first.job.output_path.startswith("scored/nightly/")

    write_iris(folder, "day-3.csv", 20)
    second = runs.run_schedule(schedule.pk)
    assert (second.outcome, second.files_found, second.files_new) == (ScheduleRun.SUBMITTED, 3, 1)
    wait_for(
        lambda: _finished(second.job), message=lambda: f"the second job; qcluster said:\n{qcluster.output()[-3000:]}"
    )
    assert second.job.status == Status.COMPLETED, second.job.error
    assert scored_names(second.job) == {"day-3.csv"}
    assert len(output_frame(second.job)) == 10
    assert second.job.output_path != first.job.output_path

    third = runs.run_schedule(schedule.pk)
    assert (third.outcome, third.files_found, third.files_new, third.job) == (ScheduleRun.NO_NEW_FILES, 3, 0, None)
    assert BatchJob.objects.count() == 2
    schedule.refresh_from_db()
    assert schedule.scored_files.count() == 3 and schedule.last_run == third.started


@pytest.mark.django_db
def test_a_file_whose_content_changed_is_scored_again(endpoint):
    folder = "scheduled/changed"
    for i in range(3):
        write_iris(folder, f"part-{i}.csv", i * 10)
    schedule = make_schedule(endpoint, folder)
    first = runs.run_schedule(schedule.pk)
    assert drive(first.job).status == Status.COMPLETED

    write_iris(folder, "part-1.csv", 100, rows=5)  # same name, new content
    second = runs.run_schedule(schedule.pk)
    assert list(second.files) == [f"{folder}/part-1.csv"]
    job = drive(second.job)
    assert scored_names(job) == {"part-1.csv"} and len(output_frame(job)) == 5


@pytest.mark.django_db
def test_a_run_reads_only_the_files_whose_version_changed_since_they_were_hashed(endpoint, monkeypatch):
    """A nightly run over thousands of unchanged files lists them; it does not read them all again to hash them."""
    folder, root = "scheduled/versions", Datastore.get_default().local_root()

    def write(name, start):
        write_iris(folder, name, start)
        age(root / folder / name, 3600)  # settled: its version is known (see workspace.storage.SETTLED_NS)

    for i in range(3):
        write(f"part-{i}.csv", i * 10)
    schedule = make_schedule(endpoint, folder)
    hashed, sha256 = [], runs._sha256
    monkeypatch.setattr(runs, "_sha256", lambda store, path, renew: hashed.append(path) or sha256(store, path, renew))
    assert drive(runs.run_schedule(schedule.pk).job).status == Status.COMPLETED
    assert len(hashed) == 3

    hashed.clear()
    write("part-3.csv", 30)
    second = runs.run_schedule(schedule.pk)
    assert hashed == [f"{folder}/part-3.csv"] and list(second.files) == hashed and second.files_found == 4
    assert drive(second.job).status == Status.COMPLETED

    hashed.clear()
    write("part-1.csv", 100)  # same size, new content, another modification time
    third = runs.run_schedule(schedule.pk)
    assert hashed == [f"{folder}/part-1.csv"] and list(third.files) == hashed
    assert scored_names(drive(third.job)) == {"part-1.csv"}


@pytest.mark.django_db
def test_a_failed_runs_files_are_tried_again_and_remembered_once_completed(endpoint, demo_model):
    strict = BatchDeployment.objects.create(
        endpoint=endpoint,
        name="strict",
        model_name=demo_model.name,
        model_version=demo_model.version,
        error_threshold=0,
    )
    folder = "scheduled/failing"
    write_iris(folder, "good.csv", 0)
    Datastore.get_default().client().write(f"{folder}/bad.csv", b"colour,size\nred,large\n")
    schedule = make_schedule(endpoint, folder, deployment_name=strict.name)

    first = runs.run_schedule(schedule.pk)
    assert drive(first.job).status == Status.FAILED
    again = runs.run_schedule(schedule.pk)
    assert sorted(again.files) == [f"{folder}/bad.csv", f"{folder}/good.csv"]  # nothing of the failed run was kept
    assert drive(again.job).status == Status.FAILED

    Datastore.get_default().client().delete(f"{folder}/bad.csv")
    fixed = runs.run_schedule(schedule.pk)
    assert list(fixed.files) == [f"{folder}/good.csv"]
    assert drive(fixed.job).status == Status.COMPLETED
    assert runs.run_schedule(schedule.pk).outcome == ScheduleRun.NO_NEW_FILES


@pytest.mark.django_db
def test_files_of_a_job_still_running_are_not_submitted_twice(endpoint):
    folder = "scheduled/busy"
    write_iris(folder, "a.csv", 0)
    schedule = make_schedule(endpoint, folder)
    first = runs.run_schedule(schedule.pk)
    assert first.job.status == Status.QUEUED
    write_iris(folder, "b.csv", 10)
    second = runs.run_schedule(schedule.pk)
    assert list(second.files) == [f"{folder}/b.csv"]


@pytest.mark.django_db
def test_a_run_that_cannot_start_says_why(endpoint):
    schedule = make_schedule(endpoint, "scheduled/nowhere")
    run = runs.run_schedule(schedule.pk)
    assert run.outcome == ScheduleRun.NOT_STARTED and "does not exist" in run.message
    schedule.refresh_from_db()
    assert schedule.running_since is None and BatchJob.objects.count() == 0


@pytest.mark.django_db
def test_a_disabled_schedule_has_no_django_q_schedule_and_does_not_run(endpoint):
    write_iris("scheduled/off", "a.csv", 0)
    schedule = make_schedule(endpoint, "scheduled/off", cron="0 2 * * *")
    q_id = schedule.q_schedule_id
    assert schedule.q_schedule.cron == "0 2 * * *" and schedule.q_schedule.next_run.hour == 2
    schedule.enabled = False
    schedule.save()
    schedule.sync()
    schedule.refresh_from_db()
    from django_q.models import Schedule as QSchedule

    assert not QSchedule.objects.filter(pk=q_id).exists() and schedule.next_run is None
    assert runs.run_schedule(schedule.pk) is None
    schedule.enabled = True
    schedule.save()
    schedule.sync()
    assert (
        schedule.next_run is not None
        and schedule.delete()
        and not QSchedule.objects.filter(func=runs.__name__ + ".run_schedule").exists()
    )


@pytest.mark.django_db
def test_a_run_while_another_lists_the_input_does_not_start_and_a_dead_ones_claim_expires(endpoint):
    write_iris("scheduled/claimed", "a.csv", 0)
    schedule = make_schedule(endpoint, "scheduled/claimed")
    Schedule.objects.filter(pk=schedule.pk).update(running_since=timezone.now())
    blocked = runs.run_schedule(schedule.pk)
    assert blocked.outcome == ScheduleRun.NOT_STARTED and "still listing its input" in blocked.message
    assert BatchJob.objects.count() == 0
    Schedule.objects.filter(pk=schedule.pk).update(
        running_since=timezone.now() - runs.Claim.lease() - timedelta(seconds=1)
    )
    assert runs.run_schedule(schedule.pk).outcome == ScheduleRun.SUBMITTED
    schedule.refresh_from_db()
    assert schedule.running_since is None


@pytest.mark.django_db
def test_a_run_whose_worker_died_while_listing_blocks_the_schedule_only_for_its_lease(endpoint):
    """kill -9 of the qcluster hashing a schedule's input: its Run now stayed 'Queued' for ever and every run for an
    hour after (cron and Run now) ended 'Not started: Another run of this schedule was still listing its input.'.
    The claim is a lease the run renews while it hashes: past it, the next run lists the input and closes the dead one."""
    from jobs import hosting

    write_iris("scheduled/dead", "a.csv", 0)
    schedule = make_schedule(endpoint, "scheduled/dead")
    died = timezone.now() - timedelta(seconds=hosting.lease_seconds() + 1)
    dead = ScheduleRun.objects.create(schedule=schedule, trigger=ScheduleRun.RUN_NOW)
    ScheduleRun.objects.filter(pk=dead.pk).update(started=died)
    Schedule.objects.filter(pk=schedule.pk).update(running_since=died)
    now = ScheduleRun.objects.create(schedule=schedule, trigger=ScheduleRun.RUN_NOW)
    assert runs.run_schedule(schedule.pk, now.pk).outcome == ScheduleRun.SUBMITTED
    dead.refresh_from_db()
    assert (
        dead.outcome == ScheduleRun.NOT_STARTED and "Its worker stopped before it had listed the input" in dead.message
    )


@pytest.mark.django_db
def test_a_run_renews_its_claim_while_it_hashes_a_big_input(endpoint, monkeypatch):
    """Hashing a big folder may take longer than the lease: the run renews its claim as it goes, so a second run
    meanwhile still finds the input being listed."""
    from jobs import hosting

    Datastore.get_default().client().write("scheduled/big/a.csv", b"x,y\n" + b"1,2\n" * (3 * runs.CHUNK // 4))
    schedule = make_schedule(endpoint, "scheduled/big")
    monkeypatch.setattr(hosting, "heartbeat_seconds", lambda: 0)
    claim = runs.Claim.take(schedule)
    Schedule.objects.filter(pk=schedule.pk).update(running_since=timezone.now() - runs.Claim.lease())  # an old claim
    claim.since = Schedule.objects.get(pk=schedule.pk).running_since
    assert runs.input_files(schedule, renew=claim.renew)
    assert Schedule.objects.get(pk=schedule.pk).running_since > timezone.now() - timedelta(seconds=5)
    assert runs.run_schedule(schedule.pk).outcome == ScheduleRun.NOT_STARTED
    claim.release()
    assert Schedule.objects.get(pk=schedule.pk).running_since is None


@pytest.mark.django_db
def test_a_run_whose_job_was_retried_by_hand_counts_what_the_retry_scored(picky_endpoint, picky_flag):
    """Retry failed of a scheduled job: while the retry runs its files are not new, and once it Completed they are
    remembered as scored (the schedule used to submit them again, a second scoring of the same files)."""
    from jobs import retries
    from tests.fixtures.resume import input_frames, write_frames

    BatchDeployment.objects.filter(pk=picky_endpoint.default_deployment_id).update(error_threshold=0)
    folder = "scheduled/retried"
    write_frames(folder, input_frames(files=4))
    schedule = make_schedule(picky_endpoint, folder)
    picky_flag.touch()  # f03 fails: the job fails on its threshold of 0
    first = runs.run_schedule(schedule.pk)
    assert drive(first.job).status == Status.FAILED
    picky_flag.unlink()
    retry = retries.retry(first.job)
    assert runs.run_schedule(schedule.pk).outcome == ScheduleRun.NO_NEW_FILES  # the retry holds them
    assert drive(retry).status == Status.COMPLETED
    assert runs.run_schedule(schedule.pk).outcome == ScheduleRun.NO_NEW_FILES
    assert sorted(schedule.scored_files.values_list("path", flat=True)) == [f"{folder}/f0{i}.csv" for i in range(4)]
