"""A job's output in its format: joining the parts, publishing without overwriting, the manifest, the first rows.

Memory stays flat: csv and jsonl parts are copied in 1 MiB chunks, Parquet parts row group by row group into one
ParquetWriter. Every file is built locally and published with create_from_file (atomic, never over another file).
"""

import csv
import hashlib
import io
import json
import posixpath
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from engine import formats
from workspace import storage

CHUNK = 1 << 20
MANIFEST, SUCCESS = "manifest.json", "_SUCCESS"
EMPTY_COLUMNS = ("row", "prediction", "file_name")


@dataclass
class FileStats:
    """A published file as the manifest lists it."""

    path: str
    rows: int | None  # None: a file of a kind whose rows are not counted (a scoring script's own output)
    bytes: int
    sha256: str


def manifest_files(settings: dict) -> tuple[str, ...]:
    return (MANIFEST, SUCCESS) if settings.get("write_manifest") else ()


def output_format(settings: dict) -> str:
    return settings.get("output_format") or formats.CSV


def has_header(settings: dict) -> bool:
    """Whether a csv output starts with its header row (output_header; Azure's predictions.csv has none)."""
    return settings.get("output_header", True) is not False


# --- joining parts ----------------------------------------------------------------------------------------


def write_joined(fmt: str, store, part_paths, out, header: bool = True):
    """Append the parts, in the order given, to the open binary file out, as one file of the format. A csv file
    starts with the first part's header row (each part has one), or with none when header is False."""
    if fmt == formats.PARQUET:
        return _join_parquet(store, part_paths, out)
    header_written = fmt != formats.CSV or not header
    for path in part_paths:
        with store.open(path) as part:
            if fmt == formats.CSV:
                first = part.readline()
                if not first:
                    continue
                if not header_written:
                    out.write(first)
                    header_written = True
            shutil.copyfileobj(part, out, CHUNK)
    if not header_written:
        out.write((",".join(EMPTY_COLUMNS) + "\n").encode())


def local_file(store, path, folder: Path) -> Path:
    """A file as a local (seekable) one, copied into folder unless the datastore is local: Parquet is read from its footer."""
    if isinstance(store, storage.LocalStore):
        return store.local_path(path)
    local = folder / posixpath.basename(path)
    with store.open(path) as src, open(local, "wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)
    return local


def _join_parquet(store, part_paths, out):
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="parts-") as tmp:
        parts = []  # (path, local copy), mini-batches with no rows left out
        for path in part_paths:
            local = local_file(store, path, Path(tmp))
            if local.stat().st_size:
                parts.append((path, local))
        if not parts:
            pq.ParquetWriter(
                out, pa.schema([("row", pa.int64()), ("prediction", pa.float64()), ("file_name", pa.string())])
            ).close()
            return
        # The footers first: a column typed differently in two parts (an id of numbers in one file, of text in
        # another) gets one type that holds both, rather than failing the job once every row is scored.
        schema = common_schema([pq.read_schema(local) for _, local in parts])
        writer = pq.ParquetWriter(out, schema)
        for path, local in parts:
            part = pq.ParquetFile(local)
            for index in range(part.num_row_groups):
                writer.write_table(_conform(part.read_row_group(index), schema, path))
            part.close()
        writer.close()


def common_schema(schemas):
    """The first part's schema, with each column's type widened to hold every part's: null gives way to any type,
    integers of any width and floats become float64 (int64 if all are integers), anything else mixed becomes text.
    Parts with other column names are left to _conform, which names them."""
    import pyarrow as pa

    first = schemas[0]
    alike = [s for s in schemas if s.names == first.names]
    fields = []
    for i, field in enumerate(first):
        types = {s.field(i).type for s in alike} - {pa.null()}
        if len(types) <= 1:
            fields.append(field.with_type(types.pop()) if types else field)
        elif all(pa.types.is_integer(t) for t in types):
            fields.append(field.with_type(pa.int64()))
        elif all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
            fields.append(field.with_type(pa.float64()))
        else:
            fields.append(field.with_type(pa.string()))
    widened = pa.schema(fields)
    # pandas' metadata describes the first part's dtypes: kept only while they still hold
    return first if widened.equals(first, check_metadata=False) else widened


def _conform(table, schema, path):
    """A row group in the output's schema: a column that was all-null or of a narrower type here is cast."""
    if table.schema.equals(schema, check_metadata=False):
        return table
    if table.schema.names != schema.names:
        raise ValueError(
            f"the part {path.rsplit('/', 1)[-1]} has the columns {', '.join(table.schema.names)}, "
            f"unlike the first part ({', '.join(schema.names)}): a Parquet output needs the same columns in every mini-batch."
        )
    return table.cast(schema)


# --- publishing ---------------------------------------------------------------------------------------------


def digest(handle) -> str:
    sha = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        sha.update(chunk)
    return sha.hexdigest()


def stats(local: Path, name: str, fmt: str | None, header: bool = True) -> FileStats:
    """A file as the manifest lists it; rows None for a file of no format of ours (fmt None)."""
    with open(local, "rb") as fh:
        sha = digest(fh)
    rows = count_rows(local, fmt, header) if fmt else None
    return FileStats(path=name, rows=rows, bytes=local.stat().st_size, sha256=sha)


def stats_of_bytes(data: bytes, name: str, fmt: str) -> FileStats:
    """What the manifest says of a file written from memory (errors.csv)."""
    with tempfile.TemporaryDirectory(prefix="stats-") as tmp:
        local = Path(tmp) / "file"
        local.write_bytes(data)
        return stats(local, name, fmt)


def count_rows(local: Path, fmt: str, header: bool = True) -> int:
    if fmt == formats.PARQUET:
        import pyarrow.parquet as pq

        return pq.ParquetFile(local).metadata.num_rows
    with open(local, "rb") as fh:
        if fmt == formats.JSONL:
            return sum(1 for line in fh if line.strip())
        reader = csv.reader(io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline=""))
        return max(sum(1 for _ in reader) - int(header), 0)  # the header is not a row


def publish(store, path: str, local: Path):
    """create_from_file; an existing file identical to ours is ours (a finalize that died after publishing)."""
    try:
        store.create_from_file(path, local)
    except storage.OutputExists:
        with store.open(path) as theirs, open(local, "rb") as ours:
            if digest(theirs) != digest(ours):
                raise


def script_files(job, store, names: list[str]) -> list[FileStats]:
    """The files a scoring script wrote into the output folder (script_file_names), as the manifest lists them.
    Rows are counted for csv, Parquet and JSON lines files; None for any other kind."""
    folder = job.output_path.rstrip("/")
    found = []
    with tempfile.TemporaryDirectory(prefix="script-files-") as tmp:
        for name in names:
            fmt = next((f for f, ext in formats.EXTENSIONS.items() if name.lower().endswith(ext)), None)
            local = local_file(store, f"{folder}/{name}", Path(tmp))
            found.append(stats(local, name, fmt))
            if local.parent == Path(tmp):
                local.unlink()
    return found


def script_file_names(job, store, known: set[str]) -> list[str]:
    """The files a scoring script wrote into the output folder (AZUREML_BI_OUTPUT_PATH: summary_only's output),
    relative to it and sorted: every file of the folder but the logs, staging, the manifest and the files known."""
    folder = job.output_path.rstrip("/")
    if not store.is_dir(folder):  # the script wrote nothing, and no log is written yet
        return []
    skip = known | {MANIFEST, SUCCESS}
    names = (path[len(folder) + 1 :] for path in walk(store, folder))
    return sorted(name for name in names if name not in skip and name.split("/", 1)[0] not in ("logs", ".staging"))


def walk(store, folder: str):
    """Every file under a folder of a datastore, folders recursed."""
    for entry in store.list(folder):
        if entry.is_dir:
            yield from walk(store, entry.path)
        else:
            yield entry.path


def write_manifest(job, store, files: list[FileStats], status: str):
    """manifest.json (what the job wrote: files, rows, bytes, sha256 — errors.csv too when rows or files were set
    aside — and the status the job ends with), then _SUCCESS, last of all."""
    folder = job.output_path.rstrip("/")
    manifest = {
        "job": job.name,
        "status": status,
        "endpoint": job.endpoint_name,
        "deployment": job.deployment_name,
        "model": job.model_uri,
        "input": job.input_display,
        "output_format": output_format(job.settings),
        "passthrough_columns": job.settings.get("passthrough_columns") or [],
        "files": [asdict(f) for f in files],
    }
    with tempfile.TemporaryDirectory(prefix="manifest-") as tmp:
        local = Path(tmp) / MANIFEST
        local.write_text(json.dumps(manifest, indent=2) + "\n")
        publish(store, f"{folder}/{MANIFEST}", local)
        local = Path(tmp) / SUCCESS
        local.write_bytes(b"")
        publish(store, f"{folder}/{SUCCESS}", local)


# --- reading the first rows back (job page) ------------------------------------------------------------------


def head(store, path: str, fmt: str, rows: int, header: bool = True) -> dict:
    """{"header": [...], "rows": [[...], ...]}: the first rows of an output, without reading all of it. A csv file
    without its header row (header False) gets the columns' numbers as its header."""
    if fmt == formats.PARQUET:
        import pyarrow.parquet as pq

        with tempfile.TemporaryDirectory(prefix="head-") as tmp:
            parquet = pq.ParquetFile(local_file(store, path, Path(tmp)))
            batch = next(parquet.iter_batches(batch_size=rows), None)
            frame = batch.to_pandas() if batch is not None else parquet.schema_arrow.empty_table().to_pandas()
        return {"header": [str(c) for c in frame.columns], "rows": frame.astype(str).values.tolist()}
    with store.open(path) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
        if fmt == formats.JSONL:
            records = [json.loads(line) for _, line in zip(range(rows), text) if line.strip()]
            header = list(dict.fromkeys(key for record in records for key in record))
            return {"header": header, "rows": [[_cell(r.get(k, "")) for k in header] for r in records]}
        found = [row for _, row in zip(range(rows + int(header)), csv.reader(text))]
    if not header:
        return {"header": [str(i) for i in range(len(found[0]) if found else 0)], "rows": found}
    return {"header": found[0] if found else [], "rows": found[1:]}


def _cell(value):
    return json.dumps(value) if isinstance(value, (list, dict)) else value
