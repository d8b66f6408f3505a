"""The logs Azure users know, gathered beside the output: progress, result, error summary, mini-batches."""

import csv
import io
import logging
from datetime import UTC, datetime

from jobs import bad_records
from workspace.models import Datastore

log = logging.getLogger(__name__)
LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class Journal:
    """Lines of one mini-batch attempt, kept at the deployment's logging level."""

    def __init__(self, level: str = "info"):
        self.level = LEVELS.get(level, 20)
        self.lines: list[str] = []

    def write(self, level: str, message: str):
        if LEVELS.get(level, 20) >= self.level:
            stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
            self.lines.append(f"{stamp} {level.upper()} {message}")

    def extend(self, lines):
        """(level, line) pairs from the scoring host: the script's print and logging output."""
        for level, line in lines:
            self.write(level, line)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _csv(rows, header) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def progress_overview(job) -> str:
    return (
        f"job: {job.name}\nstatus: {job.status}\n"
        f"mini-batches created: {job.mini_batches_total}\n"
        f"mini-batches processed: {job.mini_batches_done + job.mini_batches_failed}\n"
        f"mini-batches succeeded: {job.mini_batches_done}\nmini-batches failed: {job.mini_batches_failed}\n"
        f"files: {job.files_total}\nfiles failed: {job.files_failed}\nrows written: {job.rows_out}\n"
        f"rows set aside: {job.rows_failed}\n"
    )


def job_result(job) -> str:
    lines = [f"{job.name}: {job.status}"]
    if job.error:
        lines.append(job.error)
    if job.output_file_path and job.succeeded:
        lines.append(f"output: azureml://datastores/{job.output_datastore}/paths/{job.output_file_path}")
    if job.has_errors_file:
        lines.append(f"rows and files set aside: {job.output_uri}errors.csv")
    if job.input_skipped:
        lines.append(job.input_skipped_note)
    if job.retry_of_id:
        lines.append(f"retry of: {job.retry_of.name}")
    return "\n".join(lines) + "\n"


def error_rows(job):
    """The files that failed, and per mini-batch the rows it set aside (listed one a line in errors.csv)."""
    for mb in job.mini_batches.exclude(file_errors=[], rows_failed=0).order_by("index"):
        for err in mb.file_errors:
            yield [err["file"], mb.index, err.get("attempt", mb.attempts), err["type"], err["message"]]
        if rows := bad_records.set_aside(mb):
            yield [rows["file"], mb.index, mb.attempts, rows["type"], rows["message"]]


def mini_batch_rows(job):
    for mb in job.mini_batches.order_by("index"):
        yield [mb.index, len(mb.files), mb.attempts, mb.status, round(mb.seconds, 3), mb.rows_out, mb.error]


def write_job_logs(job):
    try:
        store = Datastore.objects.get(name=job.output_datastore).client()
        base = f"{job.output_path.rstrip('/')}/logs"
        store.write(f"{base}/job_progress_overview.txt", progress_overview(job).encode())
        store.write(f"{base}/job_result.txt", job_result(job).encode())
        store.write(
            f"{base}/error_summary.csv",
            _csv(error_rows(job), ["file", "mini_batch", "attempt", "error_type", "message"]),
        )
        store.write(
            f"{base}/mini-batches.csv",
            _csv(mini_batch_rows(job), ["index", "files", "attempts", "status", "seconds", "rows", "error"]),
        )
    except Exception:  # logs must never turn a finished job into a failed one
        log.exception("cannot write the logs of %s", job.name)
