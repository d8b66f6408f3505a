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

from jobs.engine import reading
from jobs.models import FINISHED, MiniBatch, Status
from jobs.submit import submit_job
from jobs.schedules.models import Schedule, ScheduleRun, ScoredFile
from studio import storage
from studio.models import Datastore

log = logging.getLogger(__name__)
# A run that has not finished listing and submitting after this long is taken to have died with its worker.
RUN_LEASE = timedelta(hours=1)


def run_schedule(schedule_id: int, run_id: int | None = None):
    """django-q2's schedule calls it with the schedule's id; Run now also passes the run it recorded as queued."""
    schedule = Schedule.objects.select_related("endpoint").filter(pk=schedule_id).first()
    run = schedule.runs.filter(pk=run_id, outcome="").first() if schedule and run_id else None
    if schedule is None or (run_id and run is None) or (run is None and not schedule.enabled):
        return None
    now = timezone.now()
    claimed = Schedule.objects.filter(pk=schedule.pk).exclude(running_since__gt=now - RUN_LEASE).update(running_since=now)
    run = run or ScheduleRun.objects.create(schedule=schedule, trigger=ScheduleRun.SCHEDULED)
    Schedule.objects.filter(pk=schedule.pk).update(last_run=run.started)
    if not claimed:
        return _close(run, ScheduleRun.NOT_STARTED, "Another run of this schedule was still listing its input.")
    try:
        settle(schedule)
        return _run(schedule, run)
    except (ValidationError, storage.StorageError, Datastore.DoesNotExist) as exc:
        reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return _close(run, ScheduleRun.NOT_STARTED, reason)
    except Exception as exc:
        log.exception("run of schedule %s failed", schedule.name)
        return _close(run, ScheduleRun.NOT_STARTED, f"{type(exc).__name__}: {exc}")
    finally:
        Schedule.objects.filter(pk=schedule.pk).update(running_since=None)


def _close(run, outcome, message="", **fields):
    run.outcome, run.message = outcome, message
    for key, value in fields.items():
        setattr(run, key, value)
    run.save()
    return run


def _run(schedule, run):
    scored = {path: (digest, version) for path, digest, version
              in schedule.scored_files.values_list("path", "sha256", "version")}
    found = input_files(schedule, scored)
    run.files_found = len(found)
    known = {path: digest for path, (digest, _) in scored.items()}
    for pending in waiting_runs(schedule):
        known.update(pending.files)  # in a job still running: not new, unless the content changed since
    new = {path: digest for path, (digest, _) in found.items() if known.get(path) != digest}
    if not new:
        return _close(run, ScheduleRun.NO_NEW_FILES, settled=True)
    job = submit_job(schedule.endpoint, input_uri=schedule.input_uri, deployment_name=schedule.deployment_name or None,
                     output_datastore=schedule.output_datastore or None, output_path=_output_path(schedule, run),
                     user=schedule.created_by, only_files=set(new))
    return _close(run, ScheduleRun.SUBMITTED, files=new, file_versions={path: found[path][1] for path in new},
                  job=job, job_name=job.name)


def _output_path(schedule, run):
    """Each run writes to its own folder under the schedule's output path (a job never overwrites an output)."""
    if not schedule.output_path:
        return None
    return f"{schedule.output_path.rstrip('/')}/{run.started:%Y%m%d-%H%M%S}-{run.pk}"


def input_files(schedule, scored: dict | None = None) -> dict[str, tuple[str, str]]:
    """{path: (sha256, version)} of the files a job on the input would score (empty files are skipped: maybe still
    being written). scored: {path: (sha256, version)} of files hashed before; a file whose listing shows the version
    it was hashed at is not read again (a nightly run over thousands of unchanged files only lists them)."""
    scored = scored or {}
    store = Datastore.objects.get(name=schedule.input_datastore).client()
    found = {}
    for e in store.files(storage.clean_path(schedule.input_path)):
        if e.is_dir or e.size <= 0 or reading.extension(e.path) not in reading.SUPPORTED:
            continue
        digest, version = scored.get(e.path, ("", ""))
        found[e.path] = (digest if e.version and e.version == version else _sha256(store, e.path), e.version)
    return found


def _sha256(store, path) -> str:
    with store.open(path) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def last_retry(job):
    """The job that ran a run's files last: its job, or the last Retry failed of it."""
    while job is not None and (retry := job.retries.first()) is not None:
        job = retry
    return job


def waiting_runs(schedule):
    """Runs whose files are in a job still running (the run's job, or a retry of it)."""
    runs = schedule.runs.filter(outcome=ScheduleRun.SUBMITTED, settled=False, job__isnull=False).select_related("job")
    return [run for run in runs if last_retry(run.job).status not in FINISHED]


def reopen(job):
    """Retry failed of a schedule's job (or of a retry of one): its run is settled again once the retry ends."""
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
                    ScoredFile.objects.update_or_create(schedule=schedule, path=path, defaults={
                        "sha256": digest, "version": run.file_versions.get(path, ""), "run": run})
        ScheduleRun.objects.filter(pk=run.pk).update(settled=True)


def failed_files(job) -> set[str]:
    """The files of a job that did not score: those of failed mini-batches and those with a file error."""
    failed = set()
    for mb in job.mini_batches.only("status", "files", "file_errors"):
        if mb.status != MiniBatch.COMPLETED:
            failed.update(mb.files)
        failed.update(e.get("file") for e in mb.file_errors or [] if e.get("file"))
    return failed
