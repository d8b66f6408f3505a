"""A schedule's run (the task django-q2's schedule fires, or Run now queues): list the input folder, hash each
file (not again while its listed version is the one it was hashed at), and submit a job for the files that are
new — never scored by a Completed job of this schedule, nor waiting in a job still running — by path and content
hash. No new files: the run says so and submits nothing.

A file is remembered as scored (ScoredFile) only once its job Completed and it was not among the job's failed
files; a Failed or Canceled job's files are new again for the next run. A run's job retried by hand (Retry failed)
counts as its last retry: files that a completed retry scored are remembered, files a running retry holds wait."""

import hashlib
import logging
import posixpath
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from engine import reading
from jobs import hosting, lifecycle
from jobs.models import FINISHED, MiniBatch, Status
from jobs.schedules.models import Schedule, ScheduleRun, ScoredFile
from jobs.submit import submit_job
from workspace import storage
from workspace.models import Datastore

log = logging.getLogger(__name__)
LOST = (
    "Its worker stopped before it had listed the input and submitted (the worker machine or its qcluster died); "
    "the next run lists the input again."
)
CHUNK = 1 << 20  # bytes hashed between two renewals of the claim


class Claim(lifecycle.Lease):
    """A run's claim on its schedule for listing and submitting: a lease (Schedule.running_since, the time it was last
    renewed) that the run renews while it hashes the input. A run whose worker died stops renewing it; the next run
    takes the claim once it is older than JOBS_LEASE_SECONDS, and closes the runs the dead one left open. Called, it
    renews the claim when due (a claim taken over meanwhile is left to its new run)."""

    def __init__(self, schedule_id: int, since):
        self.schedule_id = schedule_id
        # Renewed (and released) only while running_since still holds the time this claim wrote last.
        super().__init__(Schedule.objects.filter(pk=schedule_id), field="running_since", stamp=timezone.now, held=since)

    @property
    def since(self):
        return self.held

    @since.setter
    def since(self, value):
        self.held = value

    @staticmethod
    def lease() -> timedelta:
        return timedelta(seconds=hosting.lease_seconds())

    @classmethod
    def take(cls, schedule) -> "Claim | None":
        now = timezone.now()
        if (
            not Schedule.objects.filter(pk=schedule.pk)
            .exclude(running_since__gt=now - cls.lease())
            .update(running_since=now)
        ):
            return None
        if schedule.running_since is not None:  # the claim of a run whose worker died
            schedule.runs.filter(outcome="", started__lt=now - cls.lease()).update(
                outcome=ScheduleRun.NOT_STARTED, message=LOST
            )
        return cls(schedule.pk, now)


def run_schedule(schedule_id: int, run_id: int | None = None):
    """django-q2's schedule calls it with the schedule's id; Run now also passes the run it recorded as queued."""
    schedule = Schedule.objects.select_related("endpoint").filter(pk=schedule_id).first()
    run = schedule.runs.filter(pk=run_id, outcome="").first() if schedule and run_id else None
    if schedule is None or (run_id and run is None) or (run is None and not schedule.enabled):
        return None
    claim = Claim.take(schedule)
    run = run or ScheduleRun.objects.create(schedule=schedule, trigger=ScheduleRun.SCHEDULED)
    Schedule.objects.filter(pk=schedule.pk).update(last_run=run.started)
    if claim is None:
        return _close(
            run,
            ScheduleRun.NOT_STARTED,
            "Another run of this schedule was still listing its input (if its "
            f"worker died, the schedule is free again {hosting.lease_seconds():.0f} s after it stopped).",
        )
    try:
        settle(schedule)
        return _run(schedule, run, claim)
    except (ValidationError, storage.StorageError, Datastore.DoesNotExist) as exc:
        reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return _close(run, ScheduleRun.NOT_STARTED, reason)
    except Exception as exc:
        log.exception("run of schedule %s failed", schedule.name)
        return _close(run, ScheduleRun.NOT_STARTED, f"{type(exc).__name__}: {exc}")
    finally:
        claim.release()


def _close(run, outcome, message="", **fields):
    run.outcome, run.message = outcome, message
    for key, value in fields.items():
        setattr(run, key, value)
    run.save()
    return run


def _run(schedule, run, claim):
    scored = {
        path: (digest, version)
        for path, digest, version in schedule.scored_files.values_list("path", "sha256", "version")
    }
    found = input_files(schedule, scored, claim)
    run.files_found = len(found)
    known = {path: digest for path, (digest, _) in scored.items()}
    for pending in waiting_runs(schedule):
        known.update(pending.files)  # in a job still running: not new, unless the content changed since
    new = {path: digest for path, (digest, _) in found.items() if known.get(path) != digest}
    if not new:
        return _close(run, ScheduleRun.NO_NEW_FILES, settled=True)
    claim()
    job = submit_job(
        schedule.endpoint,
        input_uri=schedule.input_uri,
        deployment_name=schedule.deployment_name or None,
        output_datastore=schedule.output_datastore or None,
        output_path=_output_path(schedule, run),
        user=schedule.created_by,
        only_files=set(new),
    )
    return _close(
        run,
        ScheduleRun.SUBMITTED,
        files=new,
        file_versions={path: found[path][1] for path in new},
        job=job,
        job_name=job.name,
    )


def _output_path(schedule, run):
    """Each run writes to its own folder under the schedule's output path (a job never overwrites an output)."""
    if not schedule.output_path:
        return None
    return f"{schedule.output_path.rstrip('/')}/{run.started:%Y%m%d-%H%M%S}-{run.pk}"


def input_files(schedule, scored: dict | None = None, renew=lambda: None) -> dict[str, tuple[str, str]]:
    """{path: (sha256, version)} of the files a job on the input would score (empty files are skipped: maybe still
    being written). scored: {path: (sha256, version)} of files hashed before; a file whose listing shows the version
    it was hashed at is not read again (a nightly run over thousands of unchanged files only lists them).
    renew() is called as the hashing goes (the run's claim)."""
    scored = scored or {}
    store = Datastore.objects.get(name=schedule.input_datastore).client()
    found = {}
    for e in store.files(storage.clean_path(schedule.input_path)):
        if e.is_dir or e.size <= 0 or reading.extension(e.path) not in reading.SUPPORTED:
            continue
        digest, version = scored.get(e.path, ("", ""))
        found[e.path] = (digest if e.version and e.version == version else _sha256(store, e.path, renew), e.version)
    return found


def _sha256(store, path, renew) -> str:
    digest = hashlib.sha256()
    with store.open(path) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            renew()
    return digest.hexdigest()


def last_retry(job):
    """The job that ran a run's files last: its job, or the last Retry failed of it."""
    while job is not None and (retry := job.retries.first()) is not None:
        job = retry
    return job


def waiting_runs(schedule):
    """Runs whose files are in a job still running (the run's job, or a retry of it)."""
    runs = schedule.runs.filter(outcome=ScheduleRun.SUBMITTED, settled=False, job__isnull=False).select_related("job")
    return [run for run in runs if last_retry(run.job).status not in FINISHED]


def reopen(sender=None, job=None, **kwargs):
    """Retry failed of a schedule's job (or of a retry of one): its run is settled again once the retry ends
    (the receiver of jobs.signals.job_retried)."""
    while job.retry_of_id:
        job = job.retry_of
    ScheduleRun.objects.filter(job=job, outcome=ScheduleRun.SUBMITTED).update(settled=False)


def settle(schedule):
    """Runs whose job finished: a Completed job's files are remembered as scored, except those that failed."""
    for run in schedule.runs.filter(outcome=ScheduleRun.SUBMITTED, settled=False).select_related("job"):
        job = last_retry(run.job)
        if job is not None and job.status not in FINISHED:
            continue
        if job is not None and job.status not in (Status.FAILED, Status.CANCELED):  # Completed (or with errors)
            failed = failed_files(job)
            for path, digest in run.files.items():
                if path not in failed and posixpath.basename(path) not in failed:
                    ScoredFile.objects.update_or_create(
                        schedule=schedule,
                        path=path,
                        defaults={"sha256": digest, "version": run.file_versions.get(path, ""), "run": run},
                    )
        ScheduleRun.objects.filter(pk=run.pk).update(settled=True)


def failed_files(job) -> set[str]:
    """The files of a job that did not score: those of failed mini-batches and those with a file error."""
    failed = set()
    for mb in job.mini_batches.only("status", "files", "file_errors"):
        if mb.status != MiniBatch.COMPLETED:
            failed.update(reading.file_path(entry) for entry in mb.files)  # a range failed: its file did
        failed.update(reading.file_path(e["file"]) for e in mb.file_errors or [] if e.get("file"))
    return failed
