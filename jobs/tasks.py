"""django-q2 tasks: each takes ids, loads rows, calls the engine, records the outcome in our own models.

A task may run twice (redelivery, a reclaimed lease): every state change is a conditional update, and a
mini-batch's output part is keyed by its index, so a second run overwrites its own part and never adds rows.
"""

import logging
import os
import socket
import tempfile
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import logs, queue
from jobs.engine import loader, scoring
from jobs.models import FINISHED, BatchJob, MiniBatch, Status
from studio import registry, storage
from studio.models import Datastore

log = logging.getLogger(__name__)
LEASE_MARGIN = 120


def worker_id():
    return f"{socket.gethostname()}:{os.getpid()}"


def dispatch(job_id: int):
    """Queue as many mini-batches as the job may have in flight; finish the job when none are left."""
    finalize_now = False
    to_run = []
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in FINISHED or job.status == Status.FINALIZING:
            return
        batches = job.mini_batches
        if job.status == Status.CANCEL_REQUESTED:
            batches.filter(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED]).update(status=MiniBatch.CANCELED)
            if not batches.filter(status=MiniBatch.RUNNING).exists():
                BatchJob.objects.filter(pk=job.pk).update(status=Status.CANCELED, finished=timezone.now())
            return
        settings = job.settings
        limit = int(settings["instance_count"]) * int(settings.get("max_concurrency_per_instance", 1))
        in_flight = batches.filter(status__in=[MiniBatch.QUEUED, MiniBatch.RUNNING]).count()
        free = limit - in_flight
        if free > 0:
            ids = list(batches.filter(status=MiniBatch.PENDING).order_by("index").values_list("pk", "index")[:free])
            for pk, index in ids:
                if MiniBatch.objects.filter(pk=pk, status=MiniBatch.PENDING).update(status=MiniBatch.QUEUED):
                    to_run.append((pk, index))
        if not to_run and in_flight == 0 and not batches.filter(status=MiniBatch.PENDING).exists():
            finalize_now = bool(BatchJob.objects.filter(pk=job.pk, status__in=[Status.QUEUED, Status.RUNNING]).update(
                status=Status.FINALIZING))
        for pk, index in to_run:
            transaction.on_commit(lambda pk=pk, index=index: queue.run_later(job, pk, index))
    if finalize_now:
        finalize(job_id)


def run_minibatch(mini_batch_id: int):
    mb = MiniBatch.objects.select_related("job").filter(pk=mini_batch_id).first()
    if mb is None:
        return
    job = mb.job
    if job.status in FINISHED or job.status == Status.CANCEL_REQUESTED:
        MiniBatch.objects.filter(pk=mb.pk, status__in=[MiniBatch.QUEUED, MiniBatch.PENDING]).update(status=MiniBatch.CANCELED)
        dispatch(job.pk)
        return
    me = worker_id()
    if not mb.claim(me, int(job.settings["timeout"]) + LEASE_MARGIN):
        return
    mb.refresh_from_db()
    BatchJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(status=Status.RUNNING, started=timezone.now())
    journal = logs.Journal(job.settings.get("logging_level", "info"))
    journal.write("info", f"mini-batch {mb.index} attempt {mb.attempts} on {me}: {len(mb.files)} files")
    try:
        result = _score(job, mb, journal)
        out_store = Datastore.objects.get(name=job.output_datastore).client()
        if job.settings.get("output_action") == "append_row":
            out_store.write(mb.part_path, scoring.to_csv_bytes(result.frame, header=True))
    except Exception as exc:  # the attempt failed as a whole: retry it, or give up on its files
        journal.write("error", f"attempt {mb.attempts} failed: {type(exc).__name__}: {exc}")
        _attempt_failed(job, mb, me, f"{type(exc).__name__}: {exc}", journal)
    else:
        _attempt_succeeded(job, mb, me, result, journal)
    dispatch(job.pk)


def _score(job, mb, journal):
    registry.configure()
    model = loader.load(job.model_uri)
    source = Datastore.objects.get(name=job.input_datastore).client()
    files = [(path, lambda path=path: source.read_bytes(path)) for path in mb.files]
    result = scoring.score_batch(files, model.predict, model.inputs, model.output_names, log=journal.write)
    journal.write("info", f"{result.rows_out} rows scored, {len(result.failed)} files failed, {result.seconds:.2f} s")
    return result


def _save_log(job, mb, journal):
    try:
        Datastore.objects.get(name=job.output_datastore).client().write(mb.log_path, journal.text().encode())
    except Exception:  # a log that cannot be written must not fail the mini-batch
        log.exception("cannot write the log of %s", mb)


def _attempt_succeeded(job, mb, me, result, journal):
    file_errors = [{"file": f.name, "type": f.error.kind, "message": f.error.message, "attempt": mb.attempts} for f in result.failed]
    _save_log(job, mb, journal)
    with transaction.atomic():
        done = MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=me).update(
            status=MiniBatch.COMPLETED, rows_out=result.rows_out, files_failed=len(file_errors), file_errors=file_errors,
            seconds=result.seconds, finished=timezone.now(), lease_until=None, error="")
        if done:
            BatchJob.objects.filter(pk=job.pk).update(
                mini_batches_done=F("mini_batches_done") + 1, files_failed=F("files_failed") + len(file_errors),
                rows_out=F("rows_out") + result.rows_out)
    if done:
        _check_threshold(job.pk)


def _attempt_failed(job, mb, me, reason, journal):
    max_attempts = int(job.settings["max_retries"]) + 1
    _save_log(job, mb, journal)
    with transaction.atomic():
        if mb.attempts < max_attempts:
            MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=me).update(
                status=MiniBatch.PENDING, error=reason, lease_until=None)
            return
        file_errors = [{"file": f, "type": "MiniBatchFailed", "message": reason, "attempt": mb.attempts} for f in mb.files]
        done = MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=me).update(
            status=MiniBatch.FAILED, error=reason, file_errors=file_errors, files_failed=len(mb.files),
            finished=timezone.now(), lease_until=None)
        if done:
            BatchJob.objects.filter(pk=job.pk).update(
                mini_batches_failed=F("mini_batches_failed") + 1, files_failed=F("files_failed") + len(mb.files))
    if done:
        _check_threshold(job.pk)


def _check_threshold(job_id):
    job = BatchJob.objects.get(pk=job_id)
    threshold = int(job.settings.get("error_threshold", -1))
    if threshold >= 0 and job.files_failed > threshold:
        job.mark_failed(f"{job.files_failed} files failed, above the error threshold of {threshold}. See error_summary.csv.")
        job.mini_batches.filter(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED]).update(status=MiniBatch.CANCELED)
        logs.write_job_logs(job)


def finalize(job_id: int):
    """Join the parts in input order into the output file, created atomically, never over an existing file."""
    job = BatchJob.objects.get(pk=job_id)
    store = Datastore.objects.get(name=job.output_datastore).client()
    try:
        if job.settings.get("output_action") == "append_row":
            _join_parts(job, store)
    except storage.OutputExists as exc:
        _fail_final(job, f"{exc} The job did not overwrite it.")
        return
    except Exception as exc:
        _fail_final(job, f"The output could not be written: {type(exc).__name__}: {exc}")
        return
    BatchJob.objects.filter(pk=job.pk, status=Status.FINALIZING).update(status=Status.COMPLETED, finished=timezone.now())
    job.refresh_from_db()
    logs.write_job_logs(job)
    store.delete(f"{job.output_path}/.staging")


def _fail_final(job, reason):
    BatchJob.objects.filter(pk=job.pk).update(status=Status.FAILED, error=reason, finished=timezone.now())
    job.refresh_from_db()
    logs.write_job_logs(job)


def _join_parts(job, store):
    indexes = job.mini_batches.filter(status=MiniBatch.COMPLETED).order_by("index").values_list("pk", flat=True)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "output"
        header_written = False
        with open(target, "wb") as out:
            for mb in MiniBatch.objects.filter(pk__in=list(indexes)).select_related("job").order_by("index"):
                if not store.exists(mb.part_path):
                    continue
                with store.open(mb.part_path) as part:
                    header = part.readline()
                    if not header:
                        continue
                    if not header_written:
                        out.write(header)
                        header_written = True
                    while chunk := part.read(1 << 20):
                        out.write(chunk)
            if not header_written:
                out.write(b"row,prediction,file_name\n")
        store.create_from_file(job.output_file_path, target)


def reclaim_stale():
    """Mini-batches whose worker vanished (lease expired) go back to the queue; stuck jobs move on."""
    now = timezone.now()
    jobs = set()
    for mb in MiniBatch.objects.filter(status=MiniBatch.RUNNING, lease_until__lt=now).select_related("job"):
        max_attempts = int(mb.job.settings["max_retries"]) + 1
        reason = f"lease expired on {mb.worker} (worker lost)"
        if mb.attempts < max_attempts:
            MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=mb.worker).update(
                status=MiniBatch.PENDING, error=reason, lease_until=None)
        else:
            with transaction.atomic():
                if MiniBatch.objects.filter(pk=mb.pk, status=MiniBatch.RUNNING, worker=mb.worker).update(
                        status=MiniBatch.FAILED, error=reason, files_failed=len(mb.files), finished=now,
                        file_errors=[{"file": f, "type": "WorkerLost", "message": reason, "attempt": mb.attempts} for f in mb.files]):
                    BatchJob.objects.filter(pk=mb.job_id).update(
                        mini_batches_failed=F("mini_batches_failed") + 1, files_failed=F("files_failed") + len(mb.files))
        jobs.add(mb.job_id)
    for job in BatchJob.objects.filter(pk__in=jobs):
        queue.dispatch_later(job)
