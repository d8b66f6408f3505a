"""Preview (dry run) of + Create job: score the first rows of the first files with the chosen deployment.

request() runs in the web process: it resolves the input (the listing submit does too), keeps what the job would
run with in a Preview row and queues run() on the deployment's cluster. run() runs on a worker: it reads the first
rows of each sampled file (heads.read_head), checks them against the model signature, scores them in the
deployment's scoring host (the same host a job uses) and estimates the job's duration. Nothing is written to any
datastore: the samples live in a temporary folder and the result in the Preview row.
"""

import csv
import io
import posixpath
import tempfile
import time
from pathlib import Path

from django.utils import timezone

from engine import formats, loader, schema
from engine.errors import FileError
from jobs import heads, hosting, inputs, lifecycle, queue
from jobs.models import Preview
from workspace import registry

FILES = 3  # the first files of the input
ROWS = 20  # the first rows of each
SHOWN = 50  # predictions shown
MIN_SECONDS_PER_ROW = 1e-7  # a rate measured at above 10 M rows/s is timing noise
TIMING_ROWS = 2000  # the first file's rows timed, once with one row and once with these: per-file and per-row costs
LOST = (
    "The worker scoring this preview stopped before it finished (its lease passed: the worker machine or its "
    "qcluster died). Nothing was written: click Preview to run it again."
)


def request(
    endpoint, *, input_uri: str, deployment_name: str | None = None, overrides: dict | None = None, user=None
) -> Preview:
    """Validate like submit (deployment, settings, input) and queue the preview. Raises ValidationError."""
    deployment = endpoint.resolve_deployment(deployment_name)
    effective = deployment.effective_settings(overrides)
    resolved = inputs.resolve(input_uri)
    heads.check_passthrough(resolved, effective.get("passthrough_columns"))
    preview = Preview.objects.create(
        endpoint=endpoint,
        deployment_name=deployment.name,
        **Preview.of(deployment, effective, resolved),
        files=resolved.files[:FILES],
        files_total=len(resolved.files),
        created_by=user,
        progress="Waiting for a worker",
        lease_until=lifecycle.lease_end(),
    )
    queue.preview_later(preview)
    return preview


class Heartbeat(lifecycle.Lease):
    """Called while the preview waits on its scoring host: renews the preview's lease while it is Running
    (nothing stops when it no longer is: run() records the preview's end either way)."""

    def __init__(self, preview_id: int):
        self.preview_id = preview_id
        super().__init__(Preview.objects.filter(pk=preview_id, status=Preview.RUNNING))


def settle_if_lost(preview: Preview) -> Preview:
    """A preview past its lease was lost: Running, its worker died (it fails and says so); Queued, its task was
    (a worker took it and died): the task is sent again, which is harmless since run() claims the preview."""
    now = timezone.now()
    if preview.is_finished or preview.lease_until is None or preview.lease_until >= now:
        return preview
    same = Preview.objects.filter(pk=preview.pk, status=preview.status)
    if preview.status == Preview.RUNNING:
        lifecycle.lapsed(same, now).update(
            status=Preview.FAILED, error=LOST, progress="", finished=now, lease_until=None
        )
    elif lifecycle.take_lapsed(same, now):
        queue.preview_later(preview)
    preview.refresh_from_db()
    return preview


def _progress(preview, text: str, **fields):
    Preview.objects.filter(pk=preview.pk).update(progress=text, **fields)


def run(preview_id: int):
    if not Preview.objects.filter(pk=preview_id, status=Preview.QUEUED).update(
        status=Preview.RUNNING, lease_until=lifecycle.lease_end()
    ):
        return  # finished, or taken by another copy of this task
    preview = Preview.objects.get(pk=preview_id)
    _progress(preview, f"Reading the first {ROWS} rows of {len(preview.files)} file(s)")
    try:
        result = _run(preview, Heartbeat(preview.pk))
    except Exception as exc:  # any refusal ends the preview with what to fix
        Preview.objects.filter(pk=preview.pk).update(
            status=Preview.FAILED, error=_reason(exc), progress="", finished=timezone.now(), lease_until=None
        )
        return
    Preview.objects.filter(pk=preview.pk).update(
        status=Preview.COMPLETED, result=result, progress="", finished=timezone.now(), lease_until=None
    )


def _reason(exc) -> str:
    if isinstance(exc, hosting.HostError):
        return f"The deployment's scoring host failed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _run(preview, on_wait) -> dict:
    source = preview.input_source()
    samples, file_errors = [], []
    for path in preview.files:
        try:
            samples.append(heads.read_head(source, path, ROWS))
        except FileError as exc:
            file_errors.append({"file": posixpath.basename(path), "type": exc.kind, "message": exc.message})
    inputs_spec = signature_inputs(preview)
    checks = [
        {
            "file": posixpath.basename(s.name),
            "columns": schema.check_columns(s.name, s.frame, inputs_spec),
            "file_columns": [str(c) for c in s.frame.columns],  # what the file has, beside what the model expects
        }
        for s in samples
        if s.frame is not None
    ]
    result = {"schema": checks, "signature": inputs_spec is not None, "file_errors": file_errors}
    if samples:
        _progress(preview, f"Scoring {sum(_rows(s) for s in samples)} rows in the deployment's scoring host")
        result.update(_score(preview, samples, on_wait))
        result["file_errors"] += result.pop("host_errors")
        costs = _costs(preview, source, samples, on_wait) if result["rows_scored"] else None
        result["estimate"] = estimate(samples, result["rows_scored"], result["seconds"], preview, costs)
    return result


def _costs(preview, source, samples, on_wait) -> tuple[float, float] | None:
    """(seconds per file, seconds per row), measured in the warm host: a tabular file's first rows scored as one
    file of one row, then of up to TIMING_ROWS rows; the first file that scores cleanly. None without one."""
    for sample in samples:
        if sample.frame is None or len(sample.frame) < 2:
            continue
        try:
            more = sample.rows > len(sample.frame)
            frame = heads.read_head(source, sample.name, TIMING_ROWS).frame if more else sample.frame
        except FileError:
            continue
        one, many = (
            _timed(preview, frame.head(rows).to_csv(index=False).encode(), on_wait) for rows in (1, len(frame))
        )
        if one is not None and many is not None:
            return one, max(many - one, 0.0) / (len(frame) - 1)
    return None


def _timed(preview, data: bytes, on_wait) -> float | None:
    """Seconds the deployment's host takes to score one csv file (None if it fails); nothing is kept."""
    reply, seconds = _host_run(preview, [("timing.csv", data)], on_wait, level="warning")
    return None if reply["file_errors"] or reply.get("row_errors") else seconds


def signature_inputs(preview) -> list[dict] | None:
    """The model signature's columns ([{name, type, optional}]), read from its MLmodel file; None without."""
    folder = registry.model_dir(preview.model_name, preview.model_version)
    if not (folder / "MLmodel").exists():
        return None
    from mlflow.models import Model

    return loader._inputs(Model.load(str(folder / "MLmodel")).signature)


def _rows(sample) -> int:
    return 1 if sample.frame is None else len(sample.frame)


def _host_run(preview, files: list[tuple[str, bytes]], on_wait, level: str | None = None) -> tuple[dict, float]:
    """(name, content) files through the deployment's scoring host, as a mini-batch of a job, but written nowhere:
    the host's reply and the seconds it took."""
    settings = preview.settings
    level = level or settings.get("logging_level", "info")
    host, _ = hosting.pool().get(hosting.spec_for(preview), on_wait, settings.get("logging_level", "info"))
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        local_files = []
        for i, (name, data) in enumerate(files):
            local = Path(tmp) / str(i) / posixpath.basename(name)
            local.parent.mkdir()
            local.write_bytes(data)
            local_files.append((name, str(local)))
        started = time.perf_counter()
        reply = host.run(
            local_files,
            output_action="append_row",
            level=level,
            timeout=float(settings["timeout"]),
            on_wait=on_wait,
            output_format=formats.CSV,
            passthrough=settings.get("passthrough_columns") or (),
        )
        seconds = reply.get("seconds") or time.perf_counter() - started
    host.clear_outputs()
    return reply, seconds


def _score(preview, samples, on_wait) -> dict:
    """The samples through the deployment's scoring host."""
    reply, seconds = _host_run(preview, [(sample.name, sample.data) for sample in samples], on_wait)
    rows = list(csv.reader(io.StringIO(reply["part"].decode("utf-8", errors="replace")))) if reply["part"] else []
    errors = [
        {"file": posixpath.basename(e["file"]), "type": e["type"], "message": e["message"]}
        for e in reply["file_errors"]
    ]
    set_aside = [
        {"file": posixpath.basename(e["file"]), "row": e["row"], "type": e["type"], "message": e["message"]}
        for e in reply.get("row_errors", [])
    ]
    return {
        "predictions": {"header": rows[0] if rows else [], "rows": rows[1 : SHOWN + 1]},
        "rows_scored": reply["rows_out"],
        "seconds": seconds,
        "host_errors": errors,
        "rows_set_aside": set_aside,
    }


def estimate(
    samples, rows_scored: int, seconds: float, preview, costs: tuple[float, float] | None = None
) -> dict | None:
    """The job's duration: the input's rows (sampled files' rows × files) at the measured cost per row, plus the
    measured cost per file (`costs`: seconds per file and per row; without them, the sample's rows ÷ its time),
    shared by instance_count × max_concurrency_per_instance mini-batches at a time. Host start not included.
    Scoring 20 rows of a fast model is all overhead: rows/s from it alone made a 1 s job 'About 17 min'."""
    if not rows_scored or seconds <= 0:
        return None
    per_file, per_row = costs or (0.0, seconds / rows_scored)
    per_row = max(per_row, MIN_SECONDS_PER_ROW)  # (a rate of 10 M rows/s was shown: the noise floor, not a rate)
    rows_per_file = sum(s.rows for s in samples) / len(samples)
    total_rows = round(rows_per_file * preview.files_total)
    parallel = int(preview.settings.get("instance_count", 1)) * int(
        preview.settings.get("max_concurrency_per_instance", 1)
    )
    seconds = (preview.files_total * per_file + total_rows * per_row) / parallel
    return {
        "rate": 1 / per_row,
        "rate_measured": per_row > MIN_SECONDS_PER_ROW,  # else below timing noise: no rows/s is claimed
        "per_file_ms": per_file * 1000,
        "total_rows": total_rows,
        "files": preview.files_total,
        "parallel": parallel,
        "exact": all(s.exact for s in samples) and len(samples) == preview.files_total,
        "seconds": seconds,
        "text": duration_text(seconds),
    }


def duration_text(seconds: float) -> str:
    if seconds < 1:
        return "1 s"  # "About 1 s": an estimate never finer than a second
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
