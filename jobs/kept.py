"""Parts kept for a retry: when a job ends Failed or Canceled its staging folder is removed from the output
location as always, but first the parts of its reusable mini-batches (Completed, no file or row in error) are
copied to the Studio's own folder of the same datastore, `.batch-studio/kept/<job name>/`, and each such
mini-batch points there (MiniBatch.staging). They stay JOBS_KEEP_PARTS_DAYS (7) days: `reclaim_stale` removes
expired ones. A retry's mini-batches point at the same files; once the retry has ended (and kept what it
reuses, if it too failed) the first job's folder is removed.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from jobs.models import BatchJob, MiniBatch
from workspace.models import Datastore

log = logging.getLogger(__name__)
KEPT = ".batch-studio/kept"


def keep_days() -> float:
    return float(settings.JOBS_KEEP_PARTS_DAYS)


def kept_folder(job) -> str:
    return f"{KEPT}/{job.name}"


def _copy(store, source: str, target: str):
    with store.open(source) as fh:
        store.write(target, fh.read())


def keep_parts(job, store):
    """A job about to end Failed or Canceled: copy its reusable parts out of the output location's staging, which
    is about to be removed, into its kept folder. A part that cannot be copied is run again."""
    folder, kept = kept_folder(job), 0
    appends = job.settings.get("output_action", "append_row") == "append_row"
    for mb in job.mini_batches.filter(status=MiniBatch.COMPLETED, files_failed=0, rows_failed=0).select_related("job"):
        try:
            if appends:
                _copy(store, mb.part_path, f"{folder}/{mb.part_path.rsplit('/', 1)[-1]}")
        except Exception:  # the part is gone or unreadable: the retry scores these files again
            log.warning("cannot keep the part of %s for a retry", mb, exc_info=True)
            continue
        MiniBatch.objects.filter(pk=mb.pk).update(staging=folder)
        kept += 1
    if kept:
        BatchJob.objects.filter(pk=job.pk).update(parts_kept_until=timezone.now() + timedelta(days=keep_days()))


def _drop_kept(job_id: int):
    job = BatchJob.objects.filter(pk=job_id, parts_kept_until__isnull=False).first()
    if job is None:
        return
    try:
        Datastore.objects.get(name=job.output_datastore).client().delete(kept_folder(job))
    except Exception:  # leftovers are harmless; the next expiry pass tries nothing more
        log.exception("cannot remove the kept parts of %s", job.name)
    job.mini_batches.exclude(staging="").update(staging="")
    BatchJob.objects.filter(pk=job.pk).update(parts_kept_until=None)


def release_source(job):
    """The retry has ended: the job it retried no longer needs its kept parts."""
    if job.retry_of_id and job.is_finished:
        _drop_kept(job.retry_of_id)


def expire_kept(now=None):
    """Kept parts older than JOBS_KEEP_PARTS_DAYS go (a later retry then runs those mini-batches again)."""
    for job_id in BatchJob.objects.filter(parts_kept_until__lt=now or timezone.now()).values_list("pk", flat=True):
        _drop_kept(job_id)
