"""django-q2 tasks: each takes ids, loads rows, calls the engine, records the outcome in our own models.

A task may run twice (redelivery, a reclaimed lease): every state change is a conditional update, and a
mini-batch's output part is keyed by its index, so a second run overwrites its own part and never adds rows.
A running mini-batch holds a lease that its heartbeat renews; a worker that dies stops renewing it, and the
mini-batch goes back to the queue once the lease has passed (see reclaim_stale, and dispatch for its job).
"""

import logging
import os
import socket
import tempfile
import time
from pathlib import Path

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from engine import formats, reading
from engine.host import Aborted
from jobs import bad_records, hosting, kept, lifecycle, logs, outputs, queue, warm
from jobs.models import ERRORS_FILE, FINISHED, BatchJob, MiniBatch, Status
from workspace import storage
from workspace.environments import Environment
from workspace.models import Datastore

log = logging.getLogger(__name__)
STOP_DISPATCH = (*FINISHED, Status.FINALIZING)


def worker_id():
    return f"{socket.gethostname()}:{os.getpid()}"


def warm_deployment(deployment_id: int, resends: int = 0):
    """Start a warm-start deployment's scoring host in this worker process (jobs.warm), before any job needs it."""
    warm.warm_by_id(deployment_id, resends)


def build_environment(env_id: int):
    """Build a deployment's environment (queued when the deployment is created); its state and log record how."""
    env = Environment.objects.filter(pk=env_id).first()
    if env is None or env.state in (Environment.READY, Environment.FAILED):
        return
    env.build()
    log.info("environment %s: %s", env.label, env.state)
    if env.state == Environment.READY:
        warm.environment_ready(env.label)  # warm-start deployments waiting on it load their hosts now


def dispatch(job_id: int):
    """Queue as many mini-batches as the job may have in flight; finish the job when none are left."""
    finalize_now = cancel_now = False
    to_run = []
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in STOP_DISPATCH:
            return
        batches = job.mini_batches
        _reclaim(lifecycle.lapsed(batches.filter(status=MiniBatch.RUNNING)))
        if job.status == Status.CANCEL_REQUESTED:
            batches.filter(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED]).update(status=MiniBatch.CANCELED)
            cancel_now = not batches.filter(status=MiniBatch.RUNNING).exists()
        else:
            to_run = lifecycle.mark_queued(job)
            in_flight = batches.filter(status__in=[MiniBatch.QUEUED, MiniBatch.RUNNING]).exists()
            if not in_flight and not batches.filter(status=MiniBatch.PENDING).exists():
                finalize_now = bool(
                    BatchJob.objects.filter(pk=job.pk, status__in=[Status.QUEUED, Status.RUNNING]).update(
                        status=Status.FINALIZING, lease_until=lifecycle.lease_end()
                    )
                )
        lifecycle.send_on_commit(job, to_run)
    if cancel_now:
        lifecycle.finish_canceled(job_id)
    if finalize_now:
        finalize(job_id)


class Heartbeat(lifecycle.Lease):
    """Called while a mini-batch waits on its host: renews the lease, stops if the job no longer wants it."""

    def __init__(self, job_id: int, mini_batch_id: int, worker: str):
        self.job_id, self.mini_batch_id, self.worker = job_id, mini_batch_id, worker
        self.scored = 0
        super().__init__(
            MiniBatch.objects.filter(pk=mini_batch_id, status=MiniBatch.RUNNING, worker=worker),
            also=lambda: {"rows_so_far": self.scored},
        )

    def progress(self, rows: int):
        """The host's rows scored so far: written with the next renewal (the job page and the API show them)."""
        self.scored = rows
        self()

    def __call__(self):
        if not self.due():
            return
        if not self.renew():
            raise Aborted("the mini-batch is no longer this worker's (its lease passed and it was given to another)")
        status = BatchJob.objects.filter(pk=self.job_id).values_list("status", flat=True).first()
        if status is None or status in STOP_DISPATCH or status == Status.CANCEL_REQUESTED:
            raise Aborted(f"the job is {status or 'deleted'}")


def run_minibatch(mini_batch_id: int):
    """Run a queued mini-batch, then, as a Lane, the job's next Pending ones while no other job waits."""
    mb = MiniBatch.objects.select_related("job").filter(pk=mini_batch_id).first()
    if mb is None:
        return
    job = mb.job
    if job.status in FINISHED or job.status == Status.CANCEL_REQUESTED:
        MiniBatch.objects.filter(pk=mb.pk, status__in=[MiniBatch.QUEUED, MiniBatch.PENDING]).update(
            status=MiniBatch.CANCELED
        )
        dispatch(job.pk)
        return
    me = worker_id()
    if not mb.claim(me, int(hosting.lease_seconds())):
        return
    BatchJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(status=Status.RUNNING, started=timezone.now())
    mb.refresh_from_db()
    lane = Lane(job, me)
    while mb is not None:
        mb = lane.run(mb)
    dispatch(job.pk)
    _tidy_if_ended(job.pk)


def _tidy_if_ended(job_id: int):
    """The job failed or was canceled while this task scored (another lane crossed the error threshold, say): the
    part it wrote landed in a staging folder the job's end had already removed. Remove it again, unless a retry
    now runs in the same output folder."""
    job = BatchJob.objects.filter(pk=job_id, status__in=[Status.FAILED, Status.CANCELED]).first()
    if job is not None and not job.retries.exists():
        lifecycle.drop_staging(job)


class Lane:
    """One worker's slot of a job. After a mini-batch succeeds, the lane claims the job's next Pending one in the
    same transaction that records the finished one (the job's in-flight count never dips, so a concurrent
    dispatch cannot queue more than the job may run) and runs it in the same task: no queue round trip.

    It stops — and the task ends with a dispatch, as before — when the job has nothing Pending, the job is no
    longer Queued/Running (cancel, error threshold: the claim is conditional on it), another job on the same
    compute cluster has work waiting (fairness: jobs then take turns mini-batch by mini-batch, as through the
    queue), or JOBS_LANE_SECONDS (10) have passed (so scheduled tasks wait at most that long)."""

    def __init__(self, job, worker: str):
        self.job, self.worker = job, worker
        self.until = time.monotonic() + hosting.lane_seconds()
        self.next_look = 0.0  # when to look again whether another job waits
        self._clients = {}

    def client(self, datastore: str):
        """A datastore's client, looked up once per task."""
        if datastore not in self._clients:
            self._clients[datastore] = Datastore.objects.get(name=datastore).client()
        return self._clients[datastore]

    def run(self, mb) -> MiniBatch | None:
        """Score one mini-batch this lane has claimed; returns the next one it claimed, if any."""
        job, me = self.job, self.worker
        mb.job = job
        journal = logs.Journal(job.settings.get("logging_level", "info"))
        journal.write("info", f"mini-batch {mb.index} attempt {mb.attempts} on {me}: {_what(mb.files)}")
        journal.write("debug", "files: " + ", ".join(reading.describe_entry(entry) for entry in mb.files))
        try:
            beat = Heartbeat(job.pk, mb.pk, me)
            outcome = hosting.score(job, mb, journal, beat, self.client, on_progress=beat.progress)
            _write_staging(self.client(job.output_datastore), job, mb, outcome)
        except Aborted as exc:
            journal.write("warning", f"attempt {mb.attempts} stopped: {exc}")
            _attempt_stopped(job, mb, me, journal, self.client)
        except storage.OutputNotWritable as exc:  # the output location's fault, not the input's: no retry
            journal.write("error", f"attempt {mb.attempts} failed: {exc}")
            _output_refused(job, mb, me, exc, journal, self.client)
        except Exception as exc:  # the attempt failed as a whole: retry it, or give up on its files
            journal.extend(getattr(exc, "log", []))
            journal.write("error", f"attempt {mb.attempts} failed: {type(exc).__name__}: {exc}")
            _attempt_failed(job, mb, me, f"{type(exc).__name__}: {exc}", journal, self.client)
        else:
            journal.write(
                "info",
                f"{bad_records.plural(outcome.rows_out, 'row')} scored, "
                f"{bad_records.plural(len(outcome.file_errors), 'file')} failed, {outcome.seconds:.2f} s",
            )
            return _attempt_succeeded(job, mb, me, outcome, journal, self)
        return None

    def claim_next(self) -> MiniBatch | None:
        """Inside the transaction that recorded the last mini-batch: the job's next Pending one, or None to stop."""
        if time.monotonic() > self.until or self.others_waiting():
            return None
        pending = self.job.mini_batches.filter(status=MiniBatch.PENDING).order_by("index")
        for pk, index, files, attempts in pending.values_list("pk", "index", "files", "attempts")[:3]:
            now = timezone.now()
            # Conditional on what we read: another lane of the job may have taken it (or had it and given it back),
            # and on the job still Running: the transaction has updated the job's row, so a cancel or a failure
            # cannot change its status until we commit.
            if MiniBatch.objects.filter(
                pk=pk, status=MiniBatch.PENDING, attempts=attempts, job__status=Status.RUNNING
            ).update(
                status=MiniBatch.RUNNING,
                attempts=attempts + 1,
                worker=self.worker,
                started=now,
                lease_until=lifecycle.lease_end(now=now),
                rows_so_far=0,
            ):
                return MiniBatch(
                    pk=pk,
                    job=self.job,
                    index=index,
                    files=files,
                    attempts=attempts + 1,
                    status=MiniBatch.RUNNING,
                    worker=self.worker,
                    started=now,
                )
        return None

    def others_waiting(self) -> bool:
        """Another job on this cluster has work waiting for a worker: one not started yet, or a queued mini-batch.
        Looked at most every 0.5 s (a query per tiny mini-batch would be a good part of its cost)."""
        if time.monotonic() < self.next_look:
            return False
        self.next_look = time.monotonic() + 0.5
        return (
            BatchJob.objects.filter(compute=self.job.compute)
            .exclude(pk=self.job.pk)
            .filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, mini_batches__status=MiniBatch.QUEUED))
            .exists()
        )


def _what(entries: list[str]) -> str:
    """'3 files', or the range of a split file a mini-batch scores: 'in/big.parquet rows 2000–3999'."""
    if len(entries) == 1 and reading.split_entry(entries[0])[1] is not None:
        return reading.describe_entry(entries[0])
    return f"{len(entries)} files"


def _write_staging(store, job, mb, outcome):
    """The attempt's output part, and the rows it set aside (see jobs/bad_records.py)."""
    if job.settings.get("output_action") == "append_row":
        store.write(mb.part_path, outcome.part)
    bad_records.write_errors_part(store, mb, outcome.row_errors)


def _save_log(job, mb, journal, client=hosting.datastore_client):
    try:
        client(job.output_datastore).write(mb.log_path, journal.text().encode())
    except Exception:  # a log that cannot be written must not fail the mini-batch
        log.exception("cannot write the log of %s", mb)


def _attempt_succeeded(job, mb, me, outcome, journal, lane) -> MiniBatch | None:
    """Record the mini-batch; returns the next one the lane claimed in the same transaction, if any."""
    file_errors = [{**err, "attempt": mb.attempts} for err in outcome.file_errors]
    rows_failed, files_partial = bad_records.counts(outcome.row_errors)
    in_error = bool(file_errors or rows_failed)
    _save_log(job, mb, journal, lane.client)
    # New failed files or rows may cross the error threshold: the lane stops so _check_threshold decides first.
    may_chain = not (in_error and int(job.settings.get("error_threshold", -1)) >= 0)
    next_mb = None
    with transaction.atomic():
        done = MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=me).update(
            status=MiniBatch.COMPLETED,
            rows_out=outcome.rows_out,
            files_failed=len(file_errors),
            file_errors=file_errors,
            rows_failed=rows_failed,
            seconds=outcome.seconds,
            finished=timezone.now(),
            lease_until=None,
            error="",
        )
        if done:
            BatchJob.objects.filter(pk=job.pk).update(
                mini_batches_done=F("mini_batches_done") + 1,
                files_failed=F("files_failed") + len(file_errors),
                rows_out=F("rows_out") + outcome.rows_out,
                rows_failed=F("rows_failed") + rows_failed,
                files_partial=F("files_partial") + files_partial,
            )
            if may_chain:
                next_mb = lane.claim_next()
    if done and in_error:
        _check_threshold(job.pk)
    return next_mb


def _attempt_stopped(job, mb, me, journal, client=hosting.datastore_client):
    """Canceled (or the job failed meanwhile): the mini-batch ends Canceled; a lost lease leaves it to its new owner."""
    _save_log(job, mb, journal, client)
    MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=me).update(
        status=MiniBatch.CANCELED, finished=timezone.now(), lease_until=None
    )


def _attempt_failed(job, mb, me, reason, journal, client=hosting.datastore_client):
    _save_log(job, mb, journal, client)
    if _give_up_or_retry(mb, me, reason, "MiniBatchFailed"):
        _check_threshold(job.pk)


def _output_refused(job, mb, me, exc, journal, client):
    """The output location refused the mini-batch's part (disk full, permission denied, read-only): every other
    mini-batch would meet the same refusal and a retry too, and the input files are not at fault (they do not count
    against the error threshold). The mini-batch fails, and the job with it, saying why."""
    with transaction.atomic():
        if MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=me).update(
            status=MiniBatch.FAILED, error=str(exc), finished=timezone.now(), lease_until=None
        ):
            BatchJob.objects.filter(pk=job.pk).update(mini_batches_failed=F("mini_batches_failed") + 1)
    lifecycle.fail_running(job.pk, _refused(job, exc), keep_parts=not exc.disk_full)
    _save_log(job, mb, journal, client)  # after staging is gone: it may fit now


def _refused(job, exc) -> str:
    return f"The output location {job.output_uri} does not take writes: {exc}"


def _give_up_or_retry(mb, worker, reason, error_type) -> bool:
    """Back to Pending while attempts remain (1 + max_retries in all), else Failed with all its files.
    True when the mini-batch failed for good (its files now count against the error threshold)."""
    running = MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=worker)
    if mb.attempts < int(mb.job.settings["max_retries"]) + 1:
        running.update(status=MiniBatch.PENDING, error=reason, lease_until=None)
        return False
    file_errors = [{"file": f, "type": error_type, "message": reason, "attempt": mb.attempts} for f in mb.files]
    with transaction.atomic():
        failed = running.update(
            status=MiniBatch.FAILED,
            error=reason,
            file_errors=file_errors,
            files_failed=len(mb.files),
            finished=timezone.now(),
            lease_until=None,
        )
        if failed:
            BatchJob.objects.filter(pk=mb.job_id).update(
                mini_batches_failed=F("mini_batches_failed") + 1, files_failed=F("files_failed") + len(mb.files)
            )
    return bool(failed)


def _check_threshold(job_id):
    job = BatchJob.objects.get(pk=job_id)
    reason = bad_records.threshold_exceeded(job)
    if reason and job.status not in FINISHED:
        lifecycle.fail_running(job_id, reason, errors_file=True)


def _reclaim(stale, why="the lease of {worker} passed (worker lost)") -> set[int]:
    """Mini-batches whose worker vanished (lease passed): back to Pending, or Failed once out of attempts."""
    jobs = set()
    for mb in stale.select_related("job"):
        reason = why.format(worker=mb.worker)
        if _give_up_or_retry(mb, mb.worker, reason, "WorkerLost"):
            _check_threshold(mb.job_id)
        jobs.add(mb.job_id)
    return jobs


def reclaim_stale():
    """The schedule's task: stale mini-batches go back to the queue, lost tasks are sent again,
    and an interrupted finalize runs again."""
    now = timezone.now()
    jobs = _reclaim(lifecycle.lapsed(MiniBatch.objects.filter(status=MiniBatch.RUNNING), now))
    # Active jobs with work waiting and nothing in flight lost their dispatch task.
    jobs |= set(
        BatchJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING], mini_batches__status=MiniBatch.PENDING)
        .exclude(mini_batches__status__in=[MiniBatch.QUEUED, MiniBatch.RUNNING])
        .values_list("pk", flat=True)
    )
    # Active jobs with nothing left to run lost the dispatch that ends them (the last task's failed: the database
    # dropped its connection, say): it finalizes them, or settles a requested cancel.
    jobs |= set(
        BatchJob.objects.filter(
            status__in=[Status.QUEUED, Status.RUNNING, Status.CANCEL_REQUESTED], mini_batches__isnull=False
        )
        .exclude(mini_batches__status__in=[MiniBatch.PENDING, MiniBatch.QUEUED, MiniBatch.RUNNING])
        .values_list("pk", flat=True)
    )
    for job in BatchJob.objects.filter(pk__in=jobs):
        queue.dispatch_later(job)
    _resend_lost_tasks(now)
    kept.expire_kept(now)
    finalizing = BatchJob.objects.filter(status=Status.FINALIZING)
    for job_id in lifecycle.lapsed(finalizing, now).values_list("pk", flat=True):
        if lifecycle.take_lapsed(finalizing.filter(pk=job_id), now):
            finalize(job_id)


def _resend_lost_tasks(now):
    """A queued mini-batch not claimed within its lease: send its task again. A duplicate is harmless,
    since claiming is conditional and the second task finds the mini-batch taken or done."""
    queued = MiniBatch.objects.filter(status=MiniBatch.QUEUED)
    for mb in lifecycle.lapsed(queued, now).select_related("job"):
        if lifecycle.take_lapsed(queued.filter(pk=mb.pk), now):
            queue.run_later(mb.job, mb.pk, mb.index)


def reclaim_dead(worker_ids: list[str]):
    """Worker processes ("host:pid") seen to die (their supervisor watched them go): the mini-batches they ran go
    back to the queue now, not once their lease has passed."""
    jobs = _reclaim(
        MiniBatch.objects.filter(status=MiniBatch.RUNNING, worker__in=worker_ids), "worker {worker} died (SIGKILL?)"
    )
    for job in BatchJob.objects.filter(pk__in=jobs):
        queue.dispatch_later(job)


def resend_queued(clusters: list[str] | None):
    """The pool serving these clusters (None: every one) was restarted: the tasks it had taken died with it (the ORM
    broker would hand them out again only after Q_RETRY). Send every queued mini-batch's task again now."""
    queued = MiniBatch.objects.filter(status=MiniBatch.QUEUED)
    if clusters is not None:
        queued = queued.filter(job__compute__in=clusters)
    for mb in queued.select_related("job"):
        if queued.filter(pk=mb.pk, lease_until=mb.lease_until).update(lease_until=lifecycle.lease_end()):
            queue.run_later(mb.job, mb.pk, mb.index)
    reclaim_stale()


def finalize(job_id: int):
    """Join the parts in input order into the output file, created atomically, never over an existing file.

    Safe to run twice: a finished job is left alone, and an output identical to the one this job would write
    is the job's own (a previous finalize published it and died before saying so)."""
    job = BatchJob.objects.get(pk=job_id)
    if job.status != Status.FINALIZING:
        return
    store = Datastore.objects.get(name=job.output_datastore).client()
    if reason := bad_records.threshold_exceeded(job, final=True):
        lifecycle.fail_final(job, reason, errors_file=True)
        return
    if reason := bad_records.nothing_scored(job):
        lifecycle.fail_final(job, reason, errors_file=True, on_threshold=False)
        return
    try:
        manifest = bool(job.settings.get("write_manifest"))
        published = [_join_parts(job, store, manifest)] if job.settings.get("output_action") == "append_row" else []
        errors = bad_records.write_errors_file(job, store)
        if job.scoring_script:  # what the script wrote itself (summary_only's whole output): listed, downloadable
            ours = {job.settings.get("output_file_name") or "", ERRORS_FILE if errors is not None else ""}
            job.script_outputs = outputs.script_file_names(job, store, ours - {""})
        if manifest:
            if errors is not None:
                published.append(outputs.stats_of_bytes(errors, ERRORS_FILE, formats.CSV))
            published += outputs.script_files(job, store, job.script_outputs)
            outputs.write_manifest(job, store, published, bad_records.final_status(job))
    except storage.OutputExists as exc:
        lifecycle.fail_final(job, f"{exc} The job did not overwrite it: choose another output location.")
        return
    except storage.OutputNotWritable as exc:
        lifecycle.fail_final(job, _refused(job, exc), keep_parts=not exc.disk_full)
        return
    except Exception as exc:
        lifecycle.fail_final(job, f"The output could not be written: {type(exc).__name__}: {exc}")
        return
    job.status, job.finished = bad_records.final_status(job), timezone.now()
    logs.write_job_logs(job)  # before the status says Completed: whoever sees it finds the logs there too
    BatchJob.objects.filter(pk=job.pk, status=Status.FINALIZING).update(
        status=job.status, finished=job.finished, lease_until=None, script_outputs=job.script_outputs
    )
    job.refresh_from_db()
    lifecycle.ended(job, logs_written=True)
    lifecycle.drop_staging(job)


def _join_parts(job, store, with_stats: bool) -> outputs.FileStats | None:
    """The output file, joined locally in the job's format and published; what the manifest says of it, when
    there is a manifest (its row count and checksum read the whole file again: a second or more for millions of rows)."""
    fmt, header = outputs.output_format(job.settings), outputs.has_header(job.settings)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "output"
        with open(target, "wb") as out:
            outputs.write_joined(fmt, store, _part_paths(job, store), out, header)
        outputs.publish(store, job.output_file_path, target)
        return outputs.stats(target, job.settings["output_file_name"], fmt, header) if with_stats else None


def _part_paths(job, store):
    """The parts to join, in input order: those of the completed mini-batches."""
    for mb in job.mini_batches.filter(status=MiniBatch.COMPLETED).select_related("job").order_by("index"):
        if store.exists(mb.part_path):
            yield mb.part_path
