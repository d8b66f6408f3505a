"""Turning one input file into a DataFrame, by its extension."""

import csv
import io
import json
import posixpath
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from . import schema
from .errors import FileError

TABULAR = {".csv", ".parquet", ".pqt", ".json", ".jsonl"}
IMAGES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tiff"}
SUPPORTED = TABULAR | IMAGES
PARQUET = {".parquet", ".pqt"}
# Rows per record batch when a Parquet file is streamed: a scoring host holds one batch of the columns it needs.
BATCH_ROWS = 65_536
# A CSV or JSON lines file larger than this is read in batches of BATCH_ROWS rows (a smaller one whole, as always).
STREAM_BYTES = 64 << 20
STREAMED = {".csv", ".jsonl"}
READS = f"the engine reads {', '.join(sorted(TABULAR))} and images ({', '.join(sorted(IMAGES))})"


def skipped(paths: list[str], kept: int = 10) -> dict:
    """The input files left out for their type, as a job keeps them: how many, their types, the first names."""
    return {
        "count": len(paths),
        "types": sorted({extension(p) or "no extension" for p in paths}),
        "names": [posixpath.basename(p) for p in paths[:kept]],
    }


def describe_skipped(summary: dict) -> str:
    """'2 files of an unsupported type (.txt)', as the refusal of an input and the job page say it."""
    count, types = summary["count"], summary["types"]
    return (
        f"{count} file{'s' if count != 1 else ''} of {'an unsupported type' if len(types) == 1 else 'unsupported types'}"
        f" ({', '.join(types)})"
    )


def extension(name: str) -> str:
    return posixpath.splitext(name.lower())[1]


def read_frame(name: str, data: bytes) -> pd.DataFrame:
    ext = extension(name)
    if ext not in TABULAR:
        raise FileError(
            name, f"unsupported file type '{ext or name}'; use {', '.join(sorted(TABULAR))}.", "UnsupportedFileType"
        )
    if not data:
        raise FileError(name, "the file is empty (0 bytes).", "EmptyFile")
    try:
        if ext == ".csv":
            return _read_csv(data)
        if ext in PARQUET:
            return pd.read_parquet(io.BytesIO(data))
        if ext == ".jsonl":
            return pd.read_json(io.BytesIO(data), lines=True)
        text = data.lstrip()[:1]
        return pd.read_json(io.BytesIO(data), lines=not text.startswith(b"["), orient="records")
    except FileError:
        raise
    except Exception as exc:  # the parsers raise many kinds; the user needs the file and the reason
        where = _bad_json_line(data) if ext in (".jsonl", ".json") else None
        raise FileError(name, f"cannot be read as {ext[1:]}: {where or exc}", type(exc).__name__) from exc


def parquet_batches(
    name: str, path: Path, columns: list[str] | None, passthrough=(), rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """A Parquet file as frames of up to `rows` rows, indexed by their row in the file, holding only `columns` (the
    signature's, in the file's order; None: all) and the passthrough columns: memory is bounded by one batch of
    them, not by the file. A passthrough column the file lacks fails it, naming the file's columns."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # not Parquet, truncated, unreadable: as read_frame says it
        raise FileError(name, f"cannot be read as parquet: {exc}", type(exc).__name__) from exc
    with parquet:
        names = parquet.schema_arrow.names
        if passthrough:
            schema.passthrough(name, pd.DataFrame(columns=names), passthrough)
        if columns is None:  # every column, as pandas reads it: an index pandas stored stays out
            index = (parquet.schema_arrow.pandas_metadata or {}).get("index_columns", [])
            projection = [column for column in names if column not in index]
        else:
            projection = [column for column in names if column in {*columns, *passthrough}]
        if parquet.metadata.num_rows == 0:  # no batch: the checks still see the file's columns
            yield parquet.schema_arrow.empty_table().select(projection).to_pandas()
            return
        start = 0
        try:
            for batch in parquet.iter_batches(batch_size=rows or BATCH_ROWS, columns=projection):
                frame = batch.to_pandas()
                frame.index = pd.RangeIndex(start, start + len(frame))
                start += len(frame)
                yield frame
        except Exception as exc:  # a corrupt page found while reading: the file fails as a whole
            raise FileError(name, f"cannot be read as parquet: {exc}", type(exc).__name__) from exc


class NotStreamable(Exception):
    """A file that batches cannot read exactly as the whole file is read: read it whole."""


def text_batches(path: Path, rows: int | None = None) -> Iterator[pd.DataFrame]:
    """A CSV or JSON lines file as frames of up to `rows` rows, indexed by their row in the file, parsed as the whole
    file is (the same parser and options). Raises NotStreamable, before or after some batches, where a batch would
    differ from the whole file's rows: a CSV record that does not fit the header, a column whose type changes from
    one batch to the next (the whole file would hold one type for both), anything the parser refuses."""
    try:
        if extension(path.name) == ".csv":
            reader = pd.read_csv(path, index_col=False, chunksize=rows or BATCH_ROWS)
        else:
            reader = pd.read_json(path, lines=True, chunksize=rows or BATCH_ROWS)
    except Exception as exc:
        raise NotStreamable(str(exc)) from exc
    with reader:
        dtypes, start = None, 0
        while True:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    frame = next(reader)
            except StopIteration:
                return
            except Exception as exc:
                raise NotStreamable(str(exc)) from exc
            if dtypes is None:
                dtypes = frame.dtypes
            elif not frame.dtypes.equals(dtypes):
                raise NotStreamable("a column's type changes between batches")
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame


def _read_csv(data: bytes, skip=None, strict: bool = True) -> pd.DataFrame:
    """index_col=False: rows with one field more than the header (a trailing comma, an unquoted one) must not turn
    the first column into the index and shift every value one column left. strict: such rows fail the read (pandas
    would only warn and drop their last field)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore", pd.errors.ParserWarning)
        return pd.read_csv(io.BytesIO(data), index_col=False, skiprows=skip)


def read_frame_isolating(name: str, data: bytes) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """read_frame, but a CSV file with records of more fields than its header (an unquoted comma) is read without
    them: the frame of the other records, indexed by their row in the file, and (row, message) of each one left out.
    A file that still cannot be read fails as read_frame does."""
    try:
        return read_frame(name, data), []
    except FileError as exc:
        if extension(name) != ".csv" or exc.kind not in ("ParserError", "ParserWarning"):
            raise
        failure = exc
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        header = next(reader)
        skipped_lines, bad, rows, start = set(), [], 0, reader.line_num
        for fields in reader:
            if fields:  # pandas skips blank lines: they are no row
                if any(field.strip() for field in fields[len(header) :]):  # empty ones: trailing commas
                    skipped_lines.update(range(start, reader.line_num))
                    bad.append(
                        (
                            rows,
                            f"row {rows} (line {start + 1}) has {len(fields)} fields, the header has "
                            f"{len(header)}: quote a value that holds a comma.",
                        )
                    )
                rows += 1
            start = reader.line_num
        frame = _read_csv(data, lambda line: line in skipped_lines, strict=False)
    except Exception:
        raise failure from None
    kept = [row for row in range(rows) if row not in {row for row, _ in bad}]
    if len(frame) != len(kept):  # the two parsers disagree: fail as before
        raise failure
    frame.index = kept
    return frame, bad


def _bad_json_line(data: bytes) -> str | None:
    """Which line of JSON lines is not a JSON object, and why (pandas says only a byte position); None if every
    line is one (or the file is one JSON array)."""
    if data.lstrip()[:1] == b"[":
        return None
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            problem = f"is not valid JSON ({exc})"
        else:
            if isinstance(value, dict):
                continue
            problem = f"is a JSON {type(value).__name__}, not an object"
        text = line.decode("utf-8", errors="replace")
        return f"line {number} {problem}: {text[:80]}{'…' if len(text) > 80 else ''}"
    return None


def read_image(name: str, data: bytes):
    """An image file as a numpy array (height, width[, channels]), for tensor-signature models."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise FileError(name, "the file is empty (0 bytes).", "EmptyFile")
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB", "RGBA") else image)
    except (UnidentifiedImageError, OSError) as exc:
        raise FileError(name, f"cannot be read as an image: {exc}", "UnreadableImage") from exc
