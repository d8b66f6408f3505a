"""The first rows of an input file, read without reading all of it: for checking passthrough columns at submit
and for the Preview (dry run) of + Create job.

csv and jsonl: the first lines; Parquet: the first batch (from the footer, exact row count); .json arrays and
images are read whole (a .json bigger than MAX_WHOLE_BYTES is refused).
"""

import io
import posixpath
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.core.exceptions import ValidationError

from engine import reading
from engine.errors import FileError
from jobs.outputs import local_file
from workspace import storage
from workspace.models import source_client

MAX_WHOLE_BYTES = 50 << 20


@dataclass
class Sample:
    """The first rows of one input file: as a frame (None for an image) and as a file of its own format."""

    name: str
    data: bytes
    frame: pd.DataFrame | None
    rows: int  # rows in the whole file: exact when known, else estimated from its size
    exact: bool


def size_of(client, path: str) -> int:
    """Bytes of an input file, -1 when unknown."""
    if isinstance(client, storage.LocalStore):
        return client.local_path(path).stat().st_size
    if isinstance(client, storage.PublicSource):
        return client.size(path)
    entry = next((e for e in client.files(path) if e.path == path), None)
    return entry.size if entry else -1


def _lines(handle, count: int) -> tuple[bytes, bool]:
    """The first count lines; True when they are the whole file."""
    out = io.BytesIO()
    for _ in range(count):
        line = handle.readline()
        if not line:
            return out.getvalue(), True
        out.write(line)
    return out.getvalue(), not handle.read(1)


def _estimate(client, path: str, data: bytes, rows: int) -> int:
    """The file's rows from its size and the sample's bytes per row (a csv header not counted as a row)."""
    size = size_of(client, path)
    header = len(data.split(b"\n", 1)[0]) + 1 if reading.extension(path) == ".csv" else 0
    if size <= 0 or not rows:
        return rows
    return max(rows, round((size - header) / ((len(data) - header) / rows)))


def _parquet(client, path: str, rows: int) -> Sample:
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="head-") as tmp:
        parquet = pq.ParquetFile(local_file(client, path, Path(tmp)))
        batch = next(parquet.iter_batches(batch_size=rows), None)
        frame = batch.to_pandas() if batch is not None else parquet.schema_arrow.empty_table().to_pandas()
        total = parquet.metadata.num_rows
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return Sample(path, buffer.getvalue(), frame, total, True)


def read_head(client, path: str, rows: int) -> Sample:
    """Raises FileError (file and reason) when the file cannot be read."""
    ext = reading.extension(path)
    if ext not in reading.SUPPORTED:
        raise FileError(path, f"unsupported file type '{ext or path}'.", "UnsupportedFileType")
    try:
        if ext in (".parquet", ".pqt"):
            return _parquet(client, path, rows)
        with client.open(path) as handle:
            if ext in (".csv", ".jsonl"):
                data, whole = _lines(handle, rows + (ext == ".csv"))
            else:
                data = handle.read(MAX_WHOLE_BYTES + 1)
                whole = len(data) <= MAX_WHOLE_BYTES
                if not whole:
                    raise FileError(path, f"is bigger than {MAX_WHOLE_BYTES >> 20} MB: too big to preview.", "TooBig")
    except storage.StorageError as exc:
        raise FileError(path, str(exc), "StorageError") from exc
    except (OSError, ValueError) as exc:  # pyarrow's errors on a file that is not Parquet
        raise FileError(path, f"cannot be read: {exc}", type(exc).__name__) from exc
    if ext in reading.IMAGES:
        return Sample(path, data, None, 1, True)
    frame, _ = reading.read_frame_isolating(path, data)  # the rows it sets aside: the preview's scoring says them
    if ext == ".json":
        return Sample(path, data, frame, len(frame), True)
    return Sample(path, data, frame, len(frame) if whole else _estimate(client, path, data, len(frame)), whole)


def check_passthrough(resolved, columns) -> None:
    """Refuse passthrough columns that the input's first tabular file does not have, naming them and the file."""
    if not columns:
        return
    tabular = [f for f in resolved.files if reading.extension(f) in reading.TABULAR]
    if not tabular:
        raise ValidationError(
            "Passthrough columns need tabular input files (csv, parquet, json, jsonl).", code="passthrough_needs_tables"
        )
    try:
        frame = read_head(source_client(resolved.datastore, resolved.sas), tabular[0], 1).frame
    except FileError:
        return  # an unreadable file is the job's to report, per file
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            "Passthrough column %(missing)s is not in the input: %(file)s has the columns %(columns)s.",
            code="passthrough_column_missing",
            params={
                "missing": ", ".join(repr(m) for m in missing),
                "file": posixpath.basename(tabular[0]),
                "columns": ", ".join(map(str, frame.columns)),
            },
        )
