"""A job's lifecycle: its mini-batches queued, and its end (Canceled, Failed, Completed) with everything that goes
with it: parts kept for a retry, staging removed, logs written, and the `job_finished` notice for the features
that wait on it (comparisons). The django-q2 entry points in jobs.tasks drive it; pages, the API and the command
line cancel through `cancel`.

Also the one lease helper of the background work (mini-batches, finalize, previews, schedule runs): `lease_end`,
`lapsed`, `take_lapsed` and `Lease`, its renewal every JOBS_HEARTBEAT_SECONDS. (A comparison's report holds no
lease: its task is sent again when it has been Computing for jobs.comparison.RESEND_AFTER.)
"""

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from jobs import bad_records, hosting, kept, logs, queue
from jobs.models import FINISHED, BatchJob, MiniBatch, Status
from jobs.signals import job_finished
from workspace.models import Datastore

log = logging.getLogger(__name__)


def cancel(job) -> bool:
    """Cancel, as the Studio's Cancel button, the API's POST .../cancel and `job cancel` do it: the request, then
    the dispatcher settles the job once nothing of it runs. False if the job has already finished."""
    if not request_cancel(job):
        return False
    queue.dispatch_later(job)
    job.refresh_from_db()
    return True


def request_cancel(job) -> bool:
    """Stop dispatching; the job becomes Canceled at once if nothing of it runs, else when its running
    mini-batches have stopped (their heartbeat sees the request). False if it is too late to cancel."""
    with transaction.atomic():
        if (
            not BatchJob.objects.filter(pk=job.pk)
            .exclude(status__in=(*FINISHED, Status.FINALIZING))
            .update(status=Status.CANCEL_REQUESTED)
        ):
            job.refresh_from_db()  # the refusal names the status the job has now
            return False
        job.mini_batches.filter(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED]).update(status=MiniBatch.CANCELED)
        idle = not job.mini_batches.filter(status=MiniBatch.RUNNING).exists()
    if idle:
        finish_canceled(job.pk)
    job.refresh_from_db()
    return True


# ---- leases ------------------------------------------------------------------------------------------------------
# A worker holds a lease on the row of what it runs; a worker that dies stops renewing it, and once it has passed
# another process takes the work over. Every change is a conditional UPDATE: of two processes only one wins.


def lease_end(seconds: float | None = None, now=None):
    """When a lease taken now (or at `now`) ends: JOBS_LEASE_SECONDS later, or `seconds`."""
    seconds = hosting.lease_seconds() if seconds is None else seconds
    return (now or timezone.now()) + timedelta(seconds=seconds)


def lapsed(rows, now=None):
    """The rows whose lease (lease_until) has passed."""
    return rows.filter(lease_until__lt=now or timezone.now())


def take_lapsed(rows, now=None) -> bool:
    """Take over a lease that passed (its worker died, its task was lost) with a new one; `rows` is the row filtered
    on the state it must still be in. False if it is not lapsed (any more): another process took it first."""
    return bool(lapsed(rows, now).update(lease_until=lease_end()))


_UNTRACKED = object()


class Lease:
    """A lease held on a row, renewed by a conditional UPDATE at most every JOBS_HEARTBEAT_SECONDS: call it as the
    work goes (a scoring host's on_wait, a loop) and it renews when due.

    rows: the row, filtered on what makes it still ours (say Running on this worker). field, stamp(): the column
    renewed and its new value (lease_until, the lease's end, by default). With `held`, the row is ours only while
    the column still holds the value this lease wrote last (a claim stamped with the time it was renewed). also():
    more columns written with each renewal (a mini-batch's rows scored so far)."""

    def __init__(self, rows, field: str = "lease_until", stamp=lease_end, held=_UNTRACKED, also=dict):
        self.rows, self.field, self.stamp, self.held, self.also = rows, field, stamp, held, also
        self.next_beat = time.monotonic() + hosting.heartbeat_seconds()

    def due(self) -> bool:
        """True at most once per heartbeat: time to renew."""
        if time.monotonic() < self.next_beat:
            return False
        self.next_beat = time.monotonic() + hosting.heartbeat_seconds()
        return True

    def _ours(self):
        return self.rows if self.held is _UNTRACKED else self.rows.filter(**{self.field: self.held})

    def renew(self) -> bool:
        """Renew now; False when the row is no longer ours (nothing was updated)."""
        value = self.stamp()
        if not self._ours().update(**{self.field: value}, **self.also()):
            return False
        if self.held is not _UNTRACKED:
            self.held = value
        return True

    def __call__(self) -> bool:
        """Renew if due; False when the lease turned out lost."""
        return not self.due() or self.renew()

    def release(self) -> bool:
        """Give the lease up (the column back to None) if it is still ours."""
        return bool(self._ours().update(**{self.field: None}))


def queue_first(job):
    """At submit, inside its transaction: the job's first mini-batches go straight to the queue (no dispatch task)."""
    send_on_commit(job, mark_queued(job))


def send_on_commit(job, to_run):
    for pk, index in to_run:
        transaction.on_commit(lambda pk=pk, index=index: queue.run_later(job, pk, index))


def mark_queued(job) -> list[tuple[int, int]]:
    """Mark up to instance_count × max_concurrency_per_instance mini-batches in flight; returns the new ones."""
    settings = job.settings
    limit = int(settings["instance_count"]) * int(settings.get("max_concurrency_per_instance", 1))
    batches = job.mini_batches
    free = limit - batches.filter(status__in=[MiniBatch.QUEUED, MiniBatch.RUNNING]).count()
    queued = []
    if free > 0:
        for pk, index in batches.filter(status=MiniBatch.PENDING).order_by("index").values_list("pk", "index")[:free]:
            # A queued mini-batch must be claimed before its lease passes, or reclaim_stale sends its task again
            # (the broker may have lost it: Redis restarted, or the enqueue after commit failed).
            if MiniBatch.objects.filter(pk=pk, status=MiniBatch.PENDING).update(
                status=MiniBatch.QUEUED, lease_until=lease_end()
            ):
                queued.append((pk, index))
    return queued


def finish_canceled(job_id: int):
    """The job's last running mini-batch has stopped: Canceled, no output file, staging removed, logs written."""
    job = BatchJob.objects.filter(pk=job_id, status=Status.CANCEL_REQUESTED).first()
    if job is None:
        return
    keep_for_retry(job)
    if not BatchJob.objects.filter(pk=job_id, status=Status.CANCEL_REQUESTED).update(
        status=Status.CANCELED, finished=timezone.now()
    ):
        return
    job.refresh_from_db()
    drop_staging(job)
    ended(job)


def ended(job, logs_written=False):
    """A job reached its final state: Azure's logs beside the output, and the comparisons waiting on it settle."""
    if not logs_written:
        logs.write_job_logs(job)
    job_finished.send(sender=BatchJob, job=job)


def fail_running(job_id, reason, keep_parts=True, errors_file=False):
    """The job fails while it runs: what waits is canceled (running mini-batches stop at their next heartbeat),
    staging is removed (before the logs are written: it may be what fills the disk), logs written. On its error
    threshold (errors_file), what was set aside so far goes to errors.csv first (it is read from staging)."""
    job = BatchJob.objects.get(pk=job_id)
    if job.status in FINISHED:  # another lane met the same refusal first: only what this one wrote may be left
        drop_staging(job)
        return
    if keep_parts:
        keep_for_retry(job)
    with transaction.atomic():  # a Failed job has nothing waiting
        job.mark_failed(reason, on_threshold=errors_file)
        job.mini_batches.filter(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED]).update(status=MiniBatch.CANCELED)
    if errors_file:
        write_errors_file(job)
    drop_staging(job)
    ended(job)


def write_errors_file(job):
    try:
        bad_records.write_errors_file(job, Datastore.objects.get(name=job.output_datastore).client())
    except Exception:  # the job fails on its threshold all the same; its logs still say what failed
        log.exception("cannot write the errors file of %s", job.name)


def keep_for_retry(job):
    """A job about to end Failed or Canceled keeps what a retry can reuse, before its status says so: a retry
    started the moment the job shows Failed finds them (not when the disk is full: the copies would not fit,
    and would take space the user must free; callers skip it then)."""
    try:
        kept.keep_parts(job, Datastore.objects.get(name=job.output_datastore).client())
    except Exception:  # the retry runs those mini-batches again
        log.exception("cannot keep the parts of %s for a retry", job.name)


def drop_staging(job):
    """Remove the output location's staging."""
    try:
        Datastore.objects.get(name=job.output_datastore).client().delete(f"{job.output_path.rstrip('/')}/.staging")
    except Exception:  # leftovers of staging are harmless; the job's state is what counts
        log.exception("cannot remove the staging folder of %s", job.name)
    kept.release_source(job)


def fail_final(job, reason, keep_parts=True, errors_file=False, on_threshold=None):
    """A finalizing job ends Failed with `reason`; errors_file: write errors.csv (a threshold failure's, and a job
    that scored nothing); on_threshold: it failed on its error threshold (by default, when errors_file)."""
    if keep_parts:
        keep_for_retry(job)
    BatchJob.objects.filter(pk=job.pk, status=Status.FINALIZING).update(
        status=Status.FAILED,
        error=reason,
        finished=timezone.now(),
        lease_until=None,
        failed_on_threshold=errors_file if on_threshold is None else on_threshold,
    )
    job.refresh_from_db()
    if errors_file:
        write_errors_file(job)
    drop_staging(job)  # first: the logs may need the space staging held
    ended(job)
