"""`az ml job` for batch jobs: list|show|stream|download|cancel|retry."""

import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from cli import shapes
from cli.base import AzCommand, add_name_argument, add_web_argument
from endpoints.models import BatchDeployment
from jobs import lifecycle, outputs, retries
from jobs.bad_records import plural
from jobs.models import BatchJob
from workspace import roles, storage
from workspace.compute.live import warn_if_unserved
from workspace.models import Datastore
from workspace.roles import RUN_JOBS, VIEW

BAR_WIDTH = 30
OUTPUT_NAME = "score"  # a batch job's one named output, as Azure names it
STAGING = ".staging"


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


def job_files(job, client) -> list[str]:
    """Every file the job wrote into its output folder (the scoring script's own files too), staging aside."""
    folder = job.output_path.rstrip("/")
    try:
        found = list(outputs.walk(client, folder))
    except storage.StorageError:
        return []
    return sorted(path for path in found if not path[len(folder) + 1 :].startswith(STAGING + "/"))


def download_targets(job, files: list[str], root: Path, output_name: str | None, every: bool):
    """(datastore path, local path) pairs in Azure's layout: `--output-name score` puts the output under
    <root>/named-outputs/score/ (logs aside); `--all` adds the logs under <root>/artifacts/; neither: everything
    under <root>/<job name>/ (this Studio's own layout, kept for its existing scripts)."""
    folder = job.output_path.rstrip("/")
    for path in files:
        relative = path[len(folder) + 1 :]
        is_log = relative.startswith("logs/")
        if output_name or every:
            if not is_log:
                yield path, root / "named-outputs" / OUTPUT_NAME / relative
            elif every:
                yield path, root / "artifacts" / relative
        else:
            yield path, root / job.name / relative


class Command(AzCommand):
    help = "List, show, follow, download or cancel batch jobs (like `az ml job`)."
    actions = ("list", "show", "stream", "download", "cancel", "retry")
    rules = {"list": VIEW, "show": VIEW, "stream": VIEW, "download": VIEW, "cancel": RUN_JOBS, "retry": RUN_JOBS}

    def add_list_arguments(self, parser):
        parser.add_argument("--max-results", "-r", type=int, help="At most this many jobs, newest first.")
        parser.add_argument("--all-results", action="store_true", help="Every job (the default here).")

    def add_show_arguments(self, parser):
        add_name_argument(parser)
        add_web_argument(parser)

    def add_cancel_arguments(self, parser):
        add_name_argument(parser)

    def add_retry_arguments(self, parser):
        add_name_argument(parser)
        parser.add_argument("--error-threshold", type=int, help="The retry's error threshold (default: the job's).")
        parser.add_argument(
            "--error-threshold-unit",
            choices=[unit for unit, _ in BatchDeployment.THRESHOLD_UNITS],
            help="What the retry's error threshold counts (default: the job's).",
        )

    def add_stream_arguments(self, parser):
        add_name_argument(parser)
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between updates.")

    def add_download_arguments(self, parser):
        add_name_argument(parser)
        parser.add_argument("-p", "--download-path", default=".", help="Folder to download into.")
        parser.add_argument(
            "--output-name", choices=[OUTPUT_NAME], help="The named output: files go to <path>/named-outputs/score/."
        )
        parser.add_argument(
            "--all", action="store_true", help="The output (named-outputs/score/) and the logs (artifacts/logs/)."
        )

    def handle_list(self, max_results=None, **options):
        """List jobs, newest first."""
        jobs = BatchJob.objects.order_by("-created")
        self.emit([shapes.job(j, detail=False) for j in (jobs[:max_results] if max_results else jobs)])

    def handle_show(self, name, web=False, **options):
        """Show a job: status, counts, timings, errors."""
        job = get_job(name)
        if web:
            self.web(job.get_absolute_url())
        self.emit(shapes.job(job))

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

    def handle_download(self, name, download_path, output_name=None, all=False, **options):
        """Download every file a job wrote: its output, errors.csv, the scoring script's own files, the logs."""
        job = get_job(name)
        client = Datastore.objects.get(name=job.output_datastore).client()
        targets = list(download_targets(job, job_files(job, client), Path(download_path), output_name, all))
        if not targets:
            raise CommandError(f"Job {job.name} has no outputs yet ({job.status}).")
        for path, local in targets:
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(client.read_bytes(path))
            self.say(str(local))

    def handle_cancel(self, name, **options):
        """Cancel a job."""
        job = get_job(name)
        roles.require(self.user, RUN_JOBS, job)
        if not lifecycle.cancel(job):
            raise CommandError(f"Job {job.name} has already finished ({job.status}).")
        self.say(f"Cancel requested for {job.name}: {job.status}.")

    def handle_retry(self, name, error_threshold=None, error_threshold_unit=None, **options):
        """Retry failed: a new job runs the mini-batches that did not succeed and reuses the others' output."""
        job = get_job(name)
        roles.require(self.user, RUN_JOBS, job)
        try:
            retry = retries.retry(
                job,
                user=self.creator,
                threshold={"error_threshold": error_threshold, "error_threshold_unit": error_threshold_unit},
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.emit(shapes.job(retry))
