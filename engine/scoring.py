"""Scoring a mini-batch of files with an MLflow pyfunc model (Azure's no-code MLflow deployment)."""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import formats, isolate, reading, schema
from .errors import FileError


@dataclass
class FileResult:
    name: str
    rows: int = 0
    error: FileError | None = None
    bad_rows: list = field(default_factory=list)  # isolate.RowError per row set aside


@dataclass
class BatchResult:
    frame: pd.DataFrame | None
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self):
        return [f for f in self.files if f.error is not None]

    @property
    def row_errors(self) -> list[dict]:
        return [
            # a range's rows are numbered in the whole file: they name the file
            {"file": reading.file_path(f.name), "row": bad.row, "type": bad.kind, "message": bad.message}
            for f in self.files
            for bad in f.bad_rows
        ]

    @property
    def rows_out(self):
        return 0 if self.frame is None else len(self.frame)


def prediction_frame(predictions, output_names: list[str] | None = None) -> pd.DataFrame:
    """One column per model output: 'prediction' for a single output."""
    if isinstance(predictions, pd.DataFrame):
        frame = predictions.reset_index(drop=True)
        if list(frame.columns) == [0]:
            frame.columns = ["prediction"]
        return frame
    if isinstance(predictions, pd.Series):
        return pd.DataFrame({"prediction": predictions.to_numpy()})
    if isinstance(predictions, dict):
        return pd.DataFrame(
            {k: np.asarray(v).tolist() if np.asarray(v).ndim > 1 else np.asarray(v) for k, v in predictions.items()}
        )
    array = np.asarray(predictions)
    if array.ndim <= 1:
        return pd.DataFrame({"prediction": array.reshape(-1)})
    if array.ndim == 2:
        names = (
            output_names
            if output_names and len(output_names) == array.shape[1]
            else [f"prediction_{i}" for i in range(array.shape[1])]
        )
        return pd.DataFrame(array, columns=names)
    return pd.DataFrame({"prediction": [row.tolist() for row in array]})


def image_batch(name: str, data: bytes, tensor: dict | None) -> np.ndarray:
    """One image as a batch of one, shaped and typed as the model's tensor signature says."""
    if tensor is None:
        raise FileError(name, "image files need a model whose signature takes a tensor.", "UnsupportedFileType")
    image = reading.read_image(name, data)
    shape = tuple(tensor["shape"][1:])
    if all(d > 0 for d in shape) and int(np.prod(shape)) != image.size:
        raise FileError(
            name,
            f"an image of shape {image.shape} does not fit the model's tensor shape {tensor['shape']}.",
            "SchemaMismatch",
        )
    return image.reshape((1, *shape) if all(d > 0 for d in shape) else (1, *image.shape)).astype(tensor["dtype"])


def _tabular(name: str, data: bytes, passthrough=()):
    """The file's rows, and the passthrough columns (None without) taken from the file as it was read."""
    frame = reading.read_frame(name, data)
    return frame, schema.passthrough(name, frame, passthrough) if passthrough else None


def _with_passthrough(name: str, out: pd.DataFrame, kept: pd.DataFrame | None) -> pd.DataFrame:
    """The passthrough columns between 'row' and the predictions."""
    if kept is None:
        return out
    clash = [column for column in kept.columns if column in out.columns]
    if clash:
        raise FileError(
            name,
            f"passthrough column(s) {', '.join(map(repr, clash))} have the name of a model output; "
            "rename the input column or leave it out of the passthrough columns.",
            "SchemaMismatch",
        )
    return pd.concat([out.iloc[:, :1], kept.reset_index(drop=True), out.iloc[:, 1:]], axis=1)


def _predict(name: str, model_input, predict: Callable, output_names, rows) -> pd.DataFrame:
    """The predictions for model_input, one row per input row, numbered by `rows` (their rows in the file)."""
    try:
        predictions = predict(model_input)
    except FileError:
        raise
    except Exception as exc:
        raise FileError(name, f"the model failed to predict: {type(exc).__name__}: {exc}", type(exc).__name__) from exc
    out = prediction_frame(predictions, output_names)
    if len(out) != len(model_input):
        raise FileError(
            name, f"the model returned {len(out)} predictions for {len(model_input)} rows.", "PredictionCountMismatch"
        )
    out.insert(0, "row", np.asarray(rows))
    out["file_name"] = reading.file_path(name).rsplit("/", 1)[-1]
    return out


def _image(name: str, data: bytes, predict: Callable, output_names, tensor, passthrough) -> pd.DataFrame:
    if passthrough:
        raise FileError(name, "passthrough columns need tabular files, not images.", "UnsupportedFileType")
    return _predict(name, image_batch(name, data, tensor), predict, output_names, [0])


def score_file(
    name: str,
    data: bytes,
    predict: Callable,
    inputs: list[dict] | None,
    output_names=None,
    tensor: dict | None = None,
    passthrough=(),
) -> pd.DataFrame:
    if reading.extension(name) in reading.IMAGES:
        return _image(name, data, predict, output_names, tensor, passthrough)
    frame, kept = _tabular(name, data, passthrough)
    out = _predict(name, schema.enforce(name, frame, inputs), predict, output_names, np.arange(len(frame)))
    return _with_passthrough(name, out, kept)


def score_isolating(
    name: str,
    data: bytes | Path,
    predict: Callable,
    inputs: list[dict] | None,
    output_names=None,
    tensor: dict | None = None,
    passthrough=(),
    until: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame | None, list]:
    """score_file, but a tabular file whose rows fail is halved until only its bad rows are set aside
    (see isolate). Returns the good rows' predictions and the bad rows (isolate.RowError). data: the file's bytes,
    or its local path (a Parquet file is then streamed in record batches of the columns the model needs, a large CSV
    or JSON lines file in batches of rows). name may be a range of a file's rows (reading.range_entry): a Parquet
    range's row groups alone are read, a CSV range's lines under the file's header; its rows keep their numbers in
    the whole file."""
    rows = reading.split_entry(name)[1]
    if rows is not None and not isinstance(data, Path):
        raise FileError(name, "a range of rows is read from the file's path.", "UnsupportedRange")
    if rows is not None and reading.byte_range(name) is not None:  # a CSV range: its lines under the file's header
        return _score_csv_range(name, data, rows, predict, inputs, output_names, passthrough, until, progress)
    if rows is not None and reading.extension(name) not in reading.PARQUET:
        raise FileError(name, "only Parquet and CSV files are scored in ranges of rows.", "UnsupportedRange")
    if isinstance(data, Path) and reading.extension(name) in reading.PARQUET:
        frames, bad = reading.parquet_batches(name, data, _columns(inputs), passthrough, row_range=rows), []
    elif isinstance(data, Path) and reading.extension(name) in reading.STREAMED and _large(data):
        try:
            return _score_frames(
                name, reading.text_batches(data), [], predict, inputs, output_names, passthrough, until, progress
            )
        except reading.NotStreamable:  # the file as a whole, as before: strict checks, bad records set aside
            return score_isolating(
                name, data.read_bytes(), predict, inputs, output_names, tensor, passthrough, until, progress
            )
    else:
        if isinstance(data, Path):
            data = data.read_bytes()
        if reading.extension(name) in reading.IMAGES:
            return _image(name, data, predict, output_names, tensor, passthrough), []
        frame, unreadable = reading.read_frame_isolating(name, data)
        bad = [isolate.RowError(row, "ParserError", message) for row, message in unreadable]
        if frame.empty and bad:
            _checked(name, frame, inputs, passthrough)
            return None, bad
        frames = [frame]
    return _score_frames(name, frames, bad, predict, inputs, output_names, passthrough, until, progress)


def _score_csv_range(name, path, rows, predict, inputs, output_names, passthrough, until, progress):
    """A CSV range read as a file of its own (reading.csv_range_bytes), its rows (and those set aside) numbered from
    the range's first row in the whole file."""
    start, stop = rows
    frame, unreadable = reading.read_frame_isolating(name, reading.csv_range_bytes(name, path, name), offset=start)
    if len(frame) + len(unreadable) != stop - start:
        raise FileError(
            name,
            f"rows {start}–{stop - 1} are not where they were in the file any more ({len(frame) + len(unreadable)} "
            "rows found there): it changed since the job was submitted.",
            "FileChanged",
        )
    bad = [isolate.RowError(row, "ParserError", message) for row, message in unreadable]
    if frame.empty and bad:
        _checked(name, frame, inputs, passthrough)
        return None, bad
    return _score_frames(name, [frame], bad, predict, inputs, output_names, passthrough, until, progress)


def _score_frames(name, frames, bad, predict, inputs, output_names, passthrough, until, progress=None):
    """The predictions of a file's frames (one, or its batches) one after the other, and every row set aside.
    progress(rows) is told the rows of each frame as it is scored (a streamed file's batches, one by one)."""
    scored = []
    for frame in frames:
        out, found = _score_rows_isolating(name, frame, predict, inputs, output_names, passthrough, until)
        scored += [out] if out is not None else []
        bad += found
        if progress is not None:
            progress(0 if out is None else len(out))
    return isolate.concat(scored), sorted(bad, key=lambda error: error.row)


def _large(path: Path) -> bool:
    return path.stat().st_size > reading.STREAM_BYTES


def _columns(inputs: list[dict] | None) -> list[str] | None:
    """The input columns the model reads: its signature's (None without a column signature: every column)."""
    if not inputs or any(not spec.get("name") for spec in inputs):
        return None
    return [spec["name"] for spec in inputs]


def _checked(name, frame, inputs, passthrough) -> pd.DataFrame | None:
    """The passthrough columns (None without); a missing one, or a missing or mistyped column, fails the file at once."""
    kept = schema.passthrough(name, frame, passthrough) if passthrough else None
    schema.enforce(name, frame.iloc[:0], inputs)
    return kept


def _score_rows_isolating(name, frame, predict, inputs, output_names, passthrough, until):
    """One frame of a file's rows (indexed by their row in the file): its predictions and the rows set aside."""
    kept = _checked(name, frame, inputs, passthrough)

    def score_rows(rows):
        return _predict(name, schema.enforce(name, rows, inputs), predict, output_names, rows.index)

    try:
        found = isolate.score(frame, score_rows, until=until)
    except isolate.GaveUp as exc:
        first = (
            exc.first if isinstance(exc.first, FileError) else FileError(name, str(exc.first), type(exc.first).__name__)
        )
        raise FileError(name, f"{first.message} (bad-record isolation gave up: {exc.why})", first.kind) from exc.first
    out = found.frame
    if out is not None and kept is not None:
        out = _with_passthrough(name, out, kept.loc[out["row"]])
    return out, found.bad


def score_batch(
    files: Iterable[tuple[str, Callable[[], bytes] | Path]],
    predict: Callable,
    inputs=None,
    output_names=None,
    log: Callable[[str, str], None] = lambda level, msg: None,
    tensor: dict | None = None,
    passthrough=(),
    isolate_until: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Score files one by one; a file that fails is reported and skipped, the others still count. Bad-record
    isolation stops at isolate_until (time.monotonic()): the file being isolated then fails as a whole. A file is
    given as a function returning its bytes, or as its local path. progress(rows) is called with the rows scored so
    far in the mini-batch, after each file and each batch of a streamed file."""
    started = time.perf_counter()
    frames, results = [], []
    done = in_file = 0  # rows of the files scored, rows of the file being scored

    def scored_more(rows: int):
        nonlocal in_file
        in_file += rows
        if progress is not None:
            progress(done + in_file)

    for name, load in files:
        try:
            data = load if isinstance(load, Path) else load()
            out, bad = score_isolating(
                name, data, predict, inputs, output_names, tensor, passthrough, isolate_until, scored_more
            )
        except FileError as exc:
            log("warning", f"{name}: {exc.kind}: {exc.message}")
            results.append(FileResult(name, error=exc))
            in_file = 0
            continue
        except Exception as exc:  # reading from storage failed
            err = FileError(name, f"{type(exc).__name__}: {exc}", type(exc).__name__)
            log("warning", f"{name}: {err.kind}: {err.message}")
            results.append(FileResult(name, error=err))
            in_file = 0
            continue
        scored = 0 if out is None else len(out)
        done, in_file = done + scored, 0
        if progress is not None:
            progress(done)
        log("debug", f"{name}: {scored} rows scored")
        if bad:
            log(
                "warning",
                f"{name}: {len(bad)} rows set aside, the first: row {bad[0].row}: {bad[0].kind}: {bad[0].message}",
            )
        if out is not None:
            frames.append(out)
        results.append(FileResult(name, rows=scored, bad_rows=bad))
    frame = isolate.concat(frames)
    return BatchResult(frame=frame, files=results, seconds=time.perf_counter() - started)


def to_csv_bytes(frame: pd.DataFrame | None, header: bool) -> bytes:
    if frame is None or frame.empty:
        return b""
    return formats.csv_bytes(frame, header=header)
