"""Retry failed: a new job, linked to a Failed or Canceled one, that runs only the mini-batches which did not
succeed and reuses the output parts of those that did (kept by jobs.kept when the job ended), into one complete
output."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from endpoints.models import validate_threshold
from jobs import queue
from jobs.models import RETRYABLE, BatchJob, MiniBatch, Status, new_job_name
from jobs.queue import ensure_reclaim
from jobs.signals import job_retried
from jobs.submit import check_output_free, output_location

log = logging.getLogger(__name__)
# What a retry runs exactly as its first job did, whatever became of the deployment since.
SNAPSHOT = (
    "endpoint",
    "deployment",
    "endpoint_name",
    "deployment_name",
    "model_uri",
    "model_alias",
    "code_path",
    "scoring_script",
    "environment",
    "compute",
    "input_uri",
    "input_datastore",
    "input_sas_encrypted",
    "input_skipped",
    "settings",
    "overrides",
    "output_datastore",
    "files_total",
    "mini_batches_total",
)


THRESHOLD = ("error_threshold", "error_threshold_unit")


def _with_threshold(job, changes: dict | None) -> dict:
    """The first job's snapshot, with the error threshold the retry may change (a job failed on its threshold
    fails the same way on a retry that keeps it); nothing else changes."""
    changes = {key: value for key, value in (changes or {}).items() if value not in (None, "")}
    if other := sorted(set(changes) - set(THRESHOLD)):
        raise ValidationError(
            "A retry runs with its job's settings; only the error threshold (error_threshold, "
            "error_threshold_unit) can change, not %(keys)s.",
            code="not_overridable_on_retry",
            params={"keys": ", ".join(other)},
        )
    snapshot = {field: getattr(job, field) for field in SNAPSHOT}
    if changes:
        snapshot["settings"] = {**job.settings, **changes}
        snapshot["overrides"] = {**job.overrides, **changes}
        settings = snapshot["settings"]
        validate_threshold(settings.get("error_threshold", -1), settings.get("error_threshold_unit") or "files")
    return snapshot


def retry(job, user=None, threshold: dict | None = None) -> BatchJob:
    """Start the retry of a Failed or Canceled job. Refused (coded ValidationError) for any other job, and for a
    job already retried: retry its retry instead. threshold: error_threshold and/or error_threshold_unit for
    the retry, else the first job's."""
    if job.status not in RETRYABLE:
        raise ValidationError(
            "Job %(job)s is %(status)s: only a Failed or Canceled job can be retried.",
            code="not_retryable",
            params={"job": job.name, "status": job.get_status_display()},
        )
    if job.deployment_id is None:
        raise ValidationError(
            "The deployment %(endpoint)s/%(deployment)s that ran job %(job)s was deleted: a retry cannot "
            "run on it. Submit a new job on one of the endpoint's deployments instead.",
            code="deployment_deleted",
            params={"job": job.name, "endpoint": job.endpoint_name, "deployment": job.deployment_name},
        )
    earlier = job.retries.first()
    if earlier:
        raise ValidationError(
            "Job %(job)s was already retried by %(retry)s; retry that job instead.",
            code="already_retried",
            params={"job": job.name, "retry": earlier.name},
        )
    snapshot = _with_threshold(job, threshold)
    name = new_job_name()
    # A job's default folder is named after it: the retry gets its own. A folder the user chose is kept.
    folder = f"jobs/{name}" if job.output_path == f"jobs/{job.name}" else job.output_path
    store, folder = output_location(name, job.output_datastore, folder)
    check_output_free(store, folder, job.settings.get("output_file_name", ""))
    with transaction.atomic():
        new = BatchJob.objects.create(
            name=name, retry_of=job, output_path=folder, status=Status.QUEUED, created_by=user, **snapshot
        )
        MiniBatch.objects.bulk_create(_mini_batches(job, new))
        reused = new.mini_batches.filter(status=MiniBatch.COMPLETED)
        BatchJob.objects.filter(pk=new.pk).update(
            mini_batches_done=reused.count(), rows_out=reused.aggregate(n=Sum("rows_out"))["n"] or 0
        )
        ensure_reclaim(new.compute)
        job_retried.send(sender=BatchJob, job=job, retry=new)
        transaction.on_commit(lambda: queue.dispatch_later(new))
    new.refresh_from_db()
    return new


def _mini_batches(job, new):
    for mb in job.mini_batches.order_by("index"):
        if mb.reusable and mb.staging:
            yield MiniBatch(
                job=new,
                index=mb.index,
                files=mb.files,
                status=MiniBatch.COMPLETED,
                staging=mb.staging,
                rows_out=mb.rows_out,
                seconds=mb.seconds,
                started=mb.started,
                finished=mb.finished,
            )
        else:
            yield MiniBatch(job=new, index=mb.index, files=mb.files)
