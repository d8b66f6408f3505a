"""Turning one input file into a DataFrame, by its extension."""

import csv
import io
import json
import posixpath
import re
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
    return posixpath.splitext(split_entry(name)[0].lower())[1]


# A range of a file's rows, as a mini-batch lists it (split_rows, docs/ENGINE.md "Splitting large files"):
# `<path>#rows=<start>-<stop>`, rows start..stop-1 of the file, numbered from 0 as in the output's `row` column; a CSV
# range adds the bytes its lines take: `<path>#rows=<start>-<stop>&bytes=<first>-<end>` (bytes first..end-1).
_RANGE = re.compile(r"^(?P<path>.+)#rows=(?P<start>\d+)-(?P<stop>\d+)(?:&bytes=(?P<first>\d+)-(?P<end>\d+))?$")
# How much of a CSV file estimates its bytes per row, and the chunks it is scanned in at submit.
CSV_SAMPLE_BYTES, CSV_SCAN_BYTES = 64 << 10, 8 << 20


def range_entry(path: str, start: int, stop: int, data: tuple[int, int] | None = None) -> str:
    return f"{path}#rows={start}-{stop}" + (f"&bytes={data[0]}-{data[1]}" if data else "")


def byte_range(entry: str) -> tuple[int, int] | None:
    """A CSV range's bytes (first, end): its lines, without the header."""
    match = _RANGE.match(entry)
    return None if match is None or match["first"] is None else (int(match["first"]), int(match["end"]))


def split_entry(entry: str) -> tuple[str, tuple[int, int] | None]:
    """A mini-batch's file entry as (path, (start, stop) or None for the whole file)."""
    match = _RANGE.match(entry)
    if match is None:
        return entry, None
    return match["path"], (int(match["start"]), int(match["stop"]))


def file_path(entry: str) -> str:
    """The file a mini-batch entry reads (a range's file)."""
    return split_entry(entry)[0]


def describe_entry(entry: str) -> str:
    """'in/big.parquet rows 0–99999' for a range (its last row included), the path itself for a whole file."""
    path, rows = split_entry(entry)
    return path if rows is None else f"{path} rows {rows[0]}–{rows[1] - 1}"


def row_ranges(group_rows: list[int], split_rows: int) -> list[tuple[int, int]]:
    """A file's rows as (start, stop) ranges of whole row groups, each of about split_rows rows: a range takes the
    next row group while it stays within split_rows (a row group larger than that is a range of its own). One range
    (the whole file) when it does not exceed split_rows."""
    ranges, start, rows = [], 0, 0
    for count in group_rows:
        if rows and rows + count > split_rows:
            ranges.append((start, start + rows))
            start, rows = start + rows, 0
        rows += count
    if rows or not ranges:
        ranges.append((start, start + rows))
    return ranges


def csv_ranges(path: Path, split_rows: int) -> list[tuple[int, int, int, int]] | None:
    """A CSV file's rows as (start, stop, first byte, end byte) ranges of split_rows rows (the last one fewer), or
    None when it is not split: no more rows than split_rows by an estimate from its first CSV_SAMPLE_BYTES (no scan
    then), or a file a line split could misread: a `"` anywhere (a quoted value may hold a newline), a blank line (the
    parser skips it: lines would not be rows). Else the file is scanned in CSV_SCAN_BYTES chunks (newlines counted)."""
    import numpy as np

    size = path.stat().st_size
    with open(path, "rb") as f:
        sample = f.read(CSV_SAMPLE_BYTES)
    header_end = sample.find(b"\n") + 1
    lines = sample.count(b"\n", header_end)
    if not header_end or size <= split_rows * (len(sample) - header_end) / max(lines, 1):
        return None
    starts, newlines, last = [header_end], 0, b""  # the byte where each range's first row starts
    previous = None  # the offset of the last newline before this chunk
    with open(path, "rb") as f:
        offset = 0
        while chunk := f.read(CSV_SCAN_BYTES):
            if b'"' in chunk:
                return None
            at = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            if _blank_line(chunk, offset, at, previous, last):
                return None
            if len(at):
                previous = offset + int(at[-1])
            # newline number 1 + k * split_rows (1-based: the first ends the header) ends range k - 1's last row;
            # at[i] is newline number newlines + 1 + i
            first = split_rows if newlines == 0 else -newlines % split_rows
            starts += [offset + int(at[i]) + 1 for i in range(first, len(at), split_rows)]
            newlines += len(at)
            offset += len(chunk)
            last = chunk[-2:]
    rows = newlines - 1 + (0 if last.endswith(b"\n") else 1)
    starts = [s for s in starts if s < size]
    ranges = []
    for k, first in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else size
        ranges.append((k * split_rows, min((k + 1) * split_rows, rows), first, end))
    return ranges if len(ranges) > 1 else None


def _blank_line(chunk: bytes, offset: int, at, previous: int | None, last: bytes) -> bool:
    """Whether a chunk of a CSV file (at offset; at: its newlines' offsets in it; previous: the file's newline before
    it; last: the previous chunk's last bytes) ends a blank line: two newlines next to each other, or with a lone
    "\r" between. From the newline offsets (a search for b"\n\n" in the bytes costs 5 times more)."""
    import numpy as np

    ends = offset + at
    if previous is not None:
        ends = np.concatenate(([previous], ends))
    gaps = np.diff(ends)
    if (gaps == 1).any():
        return True
    for i in np.flatnonzero(gaps == 2):  # "\n?\n": blank when ? is "\r" (rare: a one-character line otherwise)
        between = int(ends[i]) + 1 - offset
        if (chunk[between] if between >= 0 else last[between]) == 13:
            return True
    return False


def csv_range_bytes(name: str, path: Path, entry: str) -> bytes:
    """A CSV range as a file of its own: the header line (read from the file's start), then the range's lines."""
    first, end = byte_range(entry)
    with open(path, "rb") as f:
        header = f.readline()
        if first < len(header) or end > path.stat().st_size:
            raise FileError(
                name,
                "the range's bytes are not in the file any more: it changed since the job was submitted.",
                "FileChanged",
            )
        f.seek(first - 1)
        before, body = f.read(1), f.read(end - first)
        if before != b"\n" or (body[-1:] != b"\n" and end != path.stat().st_size):  # off its lines: the file moved
            raise FileError(
                name,
                "the range's lines are not where they were: the file changed since the job was submitted.",
                "FileChanged",
            )
        return header + body


def parquet_row_groups(source) -> list[int]:
    """The rows of each row group of a Parquet file (a path or a seekable binary file), from its footer alone."""
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(source)
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


# A Parquet range's extract (write_row_groups) says in its footer's key-value metadata where its first row is in the
# whole file: its rows keep their numbers there.
FIRST_ROW = b"batch_studio.first_row"


def first_row(parquet) -> int:
    """0, or the whole file's row an extract's first row is (FIRST_ROW)."""
    return int((parquet.metadata.metadata or {}).get(FIRST_ROW, 0))


def _row_groups_of(name: str, parquet, rows: tuple[int, int]) -> list[int]:
    """The row groups holding exactly rows start..stop-1 (of the whole file: an extract's rows start at its
    first_row); a file whose row groups no longer fall there (it changed since the job was submitted) fails as a
    file."""
    start, stop = rows
    offset = first_row(parquet)
    groups, first = [], offset
    for index in range(parquet.metadata.num_row_groups):
        count = parquet.metadata.row_group(index).num_rows
        if start <= first and first + count <= stop:
            groups.append(index)
        first += count
    held = sum(parquet.metadata.row_group(i).num_rows for i in groups)
    before = offset + sum(parquet.metadata.row_group(i).num_rows for i in range(groups[0])) if groups else -1
    if held != stop - start or before != start:
        raise FileError(
            name,
            f"rows {start}–{stop - 1} are not whole row groups of the file any more (it has "
            f"{parquet.metadata.num_rows} rows in {parquet.metadata.num_row_groups} row groups): it changed since "
            "the job was submitted.",
            "FileChanged",
        )
    return groups


def write_row_groups(name: str, source, rows: tuple[int, int], target) -> int:
    """A Parquet range's row groups (rows start..stop-1 of the file source: a path or a seekable binary file, e.g.
    a ranged reader of a remote file) written to target as a Parquet file of their own, one row group at a time (so
    only they are fetched, and memory holds one of them), with the file's schema and its metadata, plus FIRST_ROW:
    parquet_batches(row_range=rows) reads it as it reads the whole file's range, numbering its rows from start. A
    file whose row groups no longer fall on the range fails as parquet_batches says (FileChanged). Returns the
    rows written."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(source) as parquet:
        groups = _row_groups_of(name, parquet, rows)
        schema = parquet.schema_arrow
        schema = schema.with_metadata({**(schema.metadata or {}), FIRST_ROW: str(rows[0]).encode()})
        written = 0
        with pq.ParquetWriter(target, schema) as writer:
            for index in groups:
                table = parquet.read_row_group(index)
                writer.write_table(table.replace_schema_metadata(schema.metadata), row_group_size=max(len(table), 1))
                written += len(table)
    return written


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
    name: str,
    path: Path,
    columns: list[str] | None,
    passthrough=(),
    rows: int | None = None,
    row_range: tuple[int, int] | None = None,
) -> Iterator[pd.DataFrame]:
    """A Parquet file as frames of up to `rows` rows, indexed by their row in the file, holding only `columns` (the
    signature's, in the file's order; None: all) and the passthrough columns: memory is bounded by one batch of
    them, not by the file. A passthrough column the file lacks fails it, naming the file's columns. row_range
    (start, stop): only the row groups holding those rows (see row_ranges), still indexed by their row in the file."""
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
        groups = None if row_range is None else _row_groups_of(name, parquet, row_range)
        start = 0 if row_range is None else row_range[0]
        try:
            for batch in parquet.iter_batches(batch_size=rows or BATCH_ROWS, columns=projection, row_groups=groups):
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


def read_frame_isolating(name: str, data: bytes, offset: int = 0) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """read_frame, but a CSV file with records of more fields than its header (an unquoted comma) is read without
    them: the frame of the other records, indexed by their row in the file, and (row, message) of each one left out.
    A file that still cannot be read fails as read_frame does. offset: the row in the whole file of data's first row
    (a CSV range's, csv_range_bytes: rows and lines are numbered from it, a range having one line per row)."""
    try:
        frame = read_frame(name, data)
        if offset:
            frame.index = pd.RangeIndex(offset, offset + len(frame))
        return frame, []
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
                            offset + rows,
                            f"row {offset + rows} (line {offset + start + 1}) has {len(fields)} fields, the header has "
                            f"{len(header)}: quote a value that holds a comma.",
                        )
                    )
                rows += 1
            start = reader.line_num
        frame = _read_csv(data, lambda line: line in skipped_lines, strict=False)
    except Exception:
        raise failure from None
    left_out = {row for row, _ in bad}
    kept = [offset + row for row in range(rows) if offset + row not in left_out]
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
