"""`az ml job` for batch jobs: show|stream|download|cancel|retry."""

import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from api.serializers import job_json
from cli.base import AzCommand
from endpoints.models import BatchDeployment
from jobs import lifecycle, outputs, retries
from jobs.bad_records import plural
from jobs.models import ERRORS_FILE, BatchJob
from workspace import storage
from workspace.compute.live import warn_if_unserved
from workspace.models import Datastore

BAR_WIDTH = 30


def get_job(name) -> BatchJob:
    job = BatchJob.objects.filter(name=name).first()
    if job is None:
        raise CommandError(f"There is no job named '{name}'.")
    return job


def progress_line(job) -> str:
    done = job.mini_batches_done + job.mini_batches_failed
    filled = BAR_WIDTH * job.progress_percent // 100
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {job.progress_percent:3d}%  {job.status:<15} "
        f"mini-batches {done}/{job.mini_batches_total} ({job.mini_batches_failed} failed)  "
        f"files failed {job.files_failed}  rows {job.rows_out}"
    )


class Command(AzCommand):
    help = "Show, follow, download or cancel batch jobs (like `az ml job`)."
    actions = ("show", "stream", "download", "cancel", "retry")

    def add_show_arguments(self, parser):
        parser.add_argument("-n", "--name", required=True)

    add_cancel_arguments = add_show_arguments

    def add_retry_arguments(self, parser):
        parser.add_argument("-n", "--name", required=True)
        parser.add_argument("--error-threshold", type=int, help="The retry's error threshold (default: the job's).")
        parser.add_argument(
            "--error-threshold-unit",
            choices=[unit for unit, _ in BatchDeployment.THRESHOLD_UNITS],
            help="What the retry's error threshold counts (default: the job's).",
        )

    def add_stream_arguments(self, parser):
        parser.add_argument("-n", "--name", required=True)
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between updates.")

    def add_download_arguments(self, parser):
        parser.add_argument("-n", "--name", required=True)
        parser.add_argument(
            "-p", "--download-path", default=".", help="Folder to download into (a <job-name> folder is made there)."
        )

    def handle_show(self, name, **options):
        """Show a job: status, counts, timings, errors."""
        self.print_json(job_json(get_job(name)))

    def handle_stream(self, name, interval, **options):
        """Follow a job until it ends; exit status 0 only when it Completed."""
        job = get_job(name)
        if not job.is_finished:
            warn_if_unserved(job.compute, self.stderr.write)
        tty = self.stdout.isatty()
        last = None
        while True:
            job.refresh_from_db()
            line = progress_line(job)
            if line != last:
                # On a terminal the bar redraws in place; in a CI log each change is its own line.
                self.stdout.write(("\r" + line) if tty else line, ending="" if tty else "\n")
                self.stdout.flush()
                last = line
            if job.is_finished:
                break
            time.sleep(interval)
        if tty:
            self.stdout.write("")
        if job.error:
            self.stdout.write(job.error)
        if not job.succeeded:
            raise CommandError(f"Job {job.name} ended {job.status}.", returncode=1)
        self.stdout.write(f"Job {job.name} {job.get_status_display()}: {job.output_uri}")
        if job.has_errors_file:
            self.stdout.write(
                f"{plural(job.rows_failed, 'row')} and {plural(job.files_failed, 'file')} set aside: "
                f"{job.output_uri}errors.csv"
            )

    def handle_download(self, name, download_path, **options):
        """Download a job's output file, errors.csv, manifest.json and _SUCCESS (when it has them) and logs."""
        job = get_job(name)
        client = Datastore.objects.get(name=job.output_datastore).client()
        folder = job.output_path.rstrip("/")
        names = dict.fromkeys([name for name in job.output_files() if not name.startswith("logs/")] + [ERRORS_FILE])
        wanted = [f"{folder}/{name}" for name in names if client.exists(f"{folder}/{name}")]
        try:
            wanted += list(outputs.walk(client, f"{folder}/logs"))
        except storage.StorageError:
            pass
        if not wanted:
            raise CommandError(f"Job {job.name} has no outputs yet ({job.status}).")
        target = Path(download_path) / job.name
        for path in wanted:
            local = target / path[len(folder) + 1 :]
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(client.read_bytes(path))
            self.stdout.write(str(local))

    def handle_cancel(self, name, **options):
        """Cancel a job."""
        job = get_job(name)
        if not lifecycle.cancel(job):
            raise CommandError(f"Job {job.name} has already finished ({job.status}).")
        self.stdout.write(f"Cancel requested for {job.name}: {job.status}.")

    def handle_retry(self, name, error_threshold=None, error_threshold_unit=None, **options):
        """Retry failed: a new job runs the mini-batches that did not succeed and reuses the others' output."""
        job = get_job(name)
        try:
            retry = retries.retry(
                job, threshold={"error_threshold": error_threshold, "error_threshold_unit": error_threshold_unit}
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.print_json(job_json(retry))
