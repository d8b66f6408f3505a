"""The Django side of bad-record isolation (engine/isolate.py): the rows a mini-batch set aside go to
an errors part in staging; finalize joins them, with the files that failed as a whole, into errors.csv next
to the output; the error threshold counts files, rows or a percentage of rows; and a job with anything in
errors.csv ends Completed with errors.
"""

import csv
import io

from jobs.models import ERRORS_FILE, THRESHOLD_SEE, Status

ERRORS_HEADER = ["file", "row", "error_type", "message"]


def _csv(rows, header=True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(ERRORS_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def write_errors_part(store, mb, row_errors: list[dict]):
    """The rows this attempt set aside, beside its output part (an attempt that set none writes nothing)."""
    if row_errors:
        store.write(
            mb.errors_path, _csv([[e["file"], e["row"], e["type"], e["message"]] for e in row_errors], header=False)
        )
    elif mb.attempts > 1 and store.exists(mb.errors_path):  # an earlier attempt's
        store.delete(mb.errors_path)


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def set_aside(mb) -> dict | None:
    """The error summary's line for the rows a mini-batch set aside (they are in errors.csv, one a line),
    naming the file when the mini-batch had one."""
    if not mb.rows_failed:
        return None
    return {
        "file": mb.files[0] if len(mb.files) == 1 else "",
        "type": "RowsSetAside",
        "message": f"{plural(mb.rows_failed, 'row')} set aside: see {ERRORS_FILE}",
    }


def counts(row_errors: list[dict]) -> tuple[int, int]:
    """(rows set aside, files they come from)."""
    return len(row_errors), len({e["file"] for e in row_errors})


def write_errors_file(job, store):
    """errors.csv next to the output, in input order: every row set aside, and every file that failed as a
    whole (row empty). Written only when there is something in it; returns what it wrote (None: nothing)."""
    if not (job.rows_failed or job.files_failed):
        return None
    out = io.BytesIO()
    out.write(_csv([]))
    for mb in job.mini_batches.exclude(rows_failed=0, files_failed=0).select_related("job").order_by("index"):
        if mb.rows_failed and store.exists(mb.errors_path):
            out.write(store.read_bytes(mb.errors_path))
        out.write(_csv([[e["file"], "", e["type"], e["message"]] for e in mb.file_errors], header=False))
    store.write(f"{job.output_path.rstrip('/')}/{ERRORS_FILE}", out.getvalue())
    return out.getvalue()


def nothing_scored(job) -> str:
    """Why a job that scored nothing ends Failed, not "Completed with errors" with an empty output and a full bar
    (a model that cannot load fails every mini-batch); "" when something was scored. A summary_only script writes
    no rows: for it, as for any job, only every mini-batch or every file failing counts."""
    every_batch = job.mini_batches_total and job.mini_batches_failed >= job.mini_batches_total
    every_file = job.files_total and job.files_failed >= job.files_total
    if job.rows_out or not (every_batch or every_file):
        return ""
    first = job.mini_batches.exclude(error="").order_by("index").first()
    if first is None:
        with_files = job.mini_batches.exclude(file_errors=[]).order_by("index").first()
        error = with_files.file_errors[0] if with_files and with_files.file_errors else {}
        detail = f"{error.get('file', '')}: {error.get('type', '')}: {error.get('message', '')}" if error else ""
    else:
        detail = first.error
    what = "mini-batch" if every_batch else "file"
    return f"Nothing was scored: every {what} failed." + (f" The first error: {detail}" if detail else "")


def final_status(job) -> str:
    return Status.COMPLETED_WITH_ERRORS if (job.rows_failed or job.files_failed) else Status.COMPLETED


def threshold_exceeded(job, final: bool = False) -> str:
    """Why the job fails on its error threshold, or "" while it does not. The unit (error_threshold_unit):
    files — files in error (failed, or with rows set aside: each would have failed without isolation), Azure's;
    rows — rows set aside, a file that failed as a whole counting as one;
    percent — rows in error as a percentage of all rows, decided once every mini-batch is done (final)."""
    threshold = int(job.settings.get("error_threshold", -1))
    if threshold < 0:
        return ""
    unit = job.settings.get("error_threshold_unit") or "files"
    if unit == "rows":
        bad = job.rows_failed + job.files_failed
        return (
            f"{plural(bad, 'row')} failed, above the error threshold of {plural(threshold, 'row')}. {THRESHOLD_SEE}"
            if bad > threshold
            else ""
        )
    if unit == "percent":
        bad = job.rows_failed + job.files_failed
        share = 100 * bad / max(job.rows_out + bad, 1)
        if final and share > threshold:
            return (
                f"{share:.2f}% of the rows failed ({bad} of {job.rows_out + bad}), above the error threshold of "
                f"{threshold}%. {THRESHOLD_SEE}"
            )
        return ""
    if job.files_failed + job.files_partial <= threshold:
        return ""
    bad = [f"{plural(job.files_failed, 'file')} failed"] if job.files_failed else []
    bad += [f"{plural(job.files_partial, 'file')} with rows set aside"] if job.files_partial else []
    return f"{' and '.join(bad)}, above the error threshold of {threshold}. {THRESHOLD_SEE}"
