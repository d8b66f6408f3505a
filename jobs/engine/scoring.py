"""Scoring a mini-batch of files with an MLflow pyfunc model (Azure's no-code MLflow deployment)."""

import io
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from . import reading, schema
from .errors import FileError


@dataclass
class FileResult:
    name: str
    rows: int = 0
    error: FileError | None = None


@dataclass
class BatchResult:
    frame: pd.DataFrame | None
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self):
        return [f for f in self.files if f.error is not None]

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
        return pd.DataFrame({k: np.asarray(v).tolist() if np.asarray(v).ndim > 1 else np.asarray(v) for k, v in predictions.items()})
    array = np.asarray(predictions)
    if array.ndim <= 1:
        return pd.DataFrame({"prediction": array.reshape(-1)})
    if array.ndim == 2:
        names = output_names if output_names and len(output_names) == array.shape[1] else [f"prediction_{i}" for i in range(array.shape[1])]
        return pd.DataFrame(array, columns=names)
    return pd.DataFrame({"prediction": [row.tolist() for row in array]})


def image_batch(name: str, data: bytes, tensor: dict | None) -> np.ndarray:
    """One image as a batch of one, shaped and typed as the model's tensor signature says."""
    if tensor is None:
        raise FileError(name, "image files need a model whose signature takes a tensor.", "UnsupportedFileType")
    image = reading.read_image(name, data)
    shape = tuple(tensor["shape"][1:])
    if all(d > 0 for d in shape) and int(np.prod(shape)) != image.size:
        raise FileError(name, f"an image of shape {image.shape} does not fit the model's tensor shape {tensor['shape']}.",
                        "SchemaMismatch")
    return image.reshape((1, *shape) if all(d > 0 for d in shape) else (1, *image.shape)).astype(tensor["dtype"])


def _model_input(name: str, data: bytes, inputs, tensor, passthrough=()):
    """The model's input, and the passthrough columns (None without) taken from the file as it was read."""
    if reading.extension(name) in reading.IMAGES:
        if passthrough:
            raise FileError(name, "passthrough columns need tabular files, not images.", "UnsupportedFileType")
        return image_batch(name, data, tensor), None
    frame = reading.read_frame(name, data)
    kept = schema.passthrough(name, frame, passthrough) if passthrough else None
    return schema.enforce(name, frame, inputs), kept


def _with_passthrough(name: str, out: pd.DataFrame, kept: pd.DataFrame | None) -> pd.DataFrame:
    """The passthrough columns between 'row' and the predictions."""
    if kept is None:
        return out
    clash = [column for column in kept.columns if column in out.columns]
    if clash:
        raise FileError(name, f"passthrough column(s) {', '.join(map(repr, clash))} have the name of a model output; "
                              "rename the input column or leave it out of the passthrough columns.", "SchemaMismatch")
    return pd.concat([out.iloc[:, :1], kept.reset_index(drop=True), out.iloc[:, 1:]], axis=1)


def score_file(name: str, data: bytes, predict: Callable, inputs: list[dict] | None, output_names=None,
               tensor: dict | None = None, passthrough=()) -> pd.DataFrame:
    model_input, kept = _model_input(name, data, inputs, tensor, passthrough)
    try:
        predictions = predict(model_input)
    except FileError:
        raise
    except Exception as exc:
        raise FileError(name, f"the model failed to predict: {type(exc).__name__}: {exc}", type(exc).__name__) from exc
    out = prediction_frame(predictions, output_names)
    if len(out) != len(model_input):
        raise FileError(name, f"the model returned {len(out)} predictions for {len(model_input)} rows.", "PredictionCountMismatch")
    out.insert(0, "row", np.arange(len(model_input)))
    out["file_name"] = name.rsplit("/", 1)[-1]
    return _with_passthrough(name, out, kept)


def score_batch(files: Iterable[tuple[str, Callable[[], bytes]]], predict: Callable, inputs=None, output_names=None,
                log: Callable[[str, str], None] = lambda level, msg: None, tensor: dict | None = None,
                passthrough=()) -> BatchResult:
    """Score files one by one; a file that fails is reported and skipped, the others still count."""
    started = time.perf_counter()
    frames, results = [], []
    for name, load in files:
        try:
            out = score_file(name, load(), predict, inputs, output_names, tensor, passthrough)
        except FileError as exc:
            log("warning", f"{name}: {exc.kind}: {exc.message}")
            results.append(FileResult(name, error=exc))
            continue
        except Exception as exc:  # reading from storage failed
            err = FileError(name, f"{type(exc).__name__}: {exc}", type(exc).__name__)
            log("warning", f"{name}: {err.kind}: {err.message}")
            results.append(FileResult(name, error=err))
            continue
        log("debug", f"{name}: {len(out)} rows scored")
        frames.append(out)
        results.append(FileResult(name, rows=len(out)))
    frame = pd.concat(frames, ignore_index=True) if frames else None
    return BatchResult(frame=frame, files=results, seconds=time.perf_counter() - started)


def to_csv_bytes(frame: pd.DataFrame | None, header: bool) -> bytes:
    if frame is None or frame.empty:
        return b""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=header)
    return buffer.getvalue().encode()
