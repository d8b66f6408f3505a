"""Reading a finished job's output back, row by row, in output order (Compare deployments reads both outputs so).
Writing the formats is engine.formats (a part) and jobs.outputs (the joined file).

Every reader yields Prediction(file, row, value) and keeps memory flat (the file is streamed). Add a format by
adding a reader to READERS, keyed by the output file's extension.
"""

import csv
import io
import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator
from typing import NamedTuple

from django.core.exceptions import ValidationError

from jobs.outputs import has_header
from workspace.models import Datastore


class Prediction(NamedTuple):
    file: str
    row: str
    value: str


def _csv_rows(handle) -> Iterator[Prediction]:
    reader = csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline=""))
    if "prediction" not in (reader.fieldnames or []):
        raise ValidationError(
            "The output has no 'prediction' column (columns: %(columns)s).",
            code="no_prediction_column",
            params={"columns": ", ".join(reader.fieldnames or []) or "none"},
        )
    for number, record in enumerate(reader):
        yield Prediction(record.get("file_name") or "", record.get("row") or str(number), record["prediction"])


def _check_columns(columns):
    if "prediction" not in columns:
        raise ValidationError(
            "The output has no 'prediction' column (columns: %(columns)s).",
            code="no_prediction_column",
            params={"columns": ", ".join(columns) or "none"},
        )


def _records(records) -> Iterator[Prediction]:
    for number, record in enumerate(records):
        yield Prediction(
            str(record.get("file_name") or ""), str(record.get("row", number)), _text(record["prediction"])
        )


def _text(value) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else "" if value is None else str(value)


def _jsonl_rows(handle) -> Iterator[Prediction]:
    lines = (json.loads(line) for line in io.TextIOWrapper(handle, encoding="utf-8", errors="replace") if line.strip())
    first = next(lines, None)
    if first is None:
        return
    _check_columns(list(first))
    yield from _records(itertools.chain([first], lines))


def _parquet_rows(handle) -> Iterator[Prediction]:
    """Row group by row group (the footer needs a seekable file: a stream is copied to a temporary one first)."""
    import pyarrow.parquet as pq

    with tempfile.TemporaryFile() as local:
        if not handle.seekable():
            shutil.copyfileobj(handle, local, 1 << 20)
            local.seek(0)
            handle = local
        parquet = pq.ParquetFile(handle)
        _check_columns(parquet.schema_arrow.names)
        for batch in parquet.iter_batches(batch_size=10_000):
            yield from _records(batch.to_pylist())


READERS = {".csv": _csv_rows, ".jsonl": _jsonl_rows, ".parquet": _parquet_rows}


def read_predictions(job) -> Iterator[Prediction]:
    """The predictions of a completed job's output file, streamed in the order the job wrote them."""
    path = job.output_file_path
    if not path:
        raise ValidationError(
            "Job %(job)s wrote no output file (output action summary_only).",
            code="no_output_file",
            params={"job": job.name},
        )
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    reader = READERS.get(suffix)
    if reader is None:
        raise ValidationError(
            "Cannot read the output %(path)s: known formats are %(known)s.",
            code="unknown_output_format",
            params={"path": path, "known": ", ".join(sorted(READERS))},
        )
    if reader is _csv_rows and not has_header(job.settings):
        raise ValidationError(
            "Job %(job)s wrote %(path)s without its header row (output_header: false): its prediction column "
            "cannot be found. Run it with output_header: true to compare it.",
            code="no_header_row",
            params={"job": job.name, "path": path},
        )
    store = Datastore.objects.get(name=job.output_datastore).client()
    with store.open(path) as handle:
        yield from reader(handle)
