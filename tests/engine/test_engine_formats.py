"""The scoring host's writers: a CSV part is the bytes pandas' to_csv writes, whichever library writes it."""

import numpy as np
import pandas as pd
import pytest

from engine import formats

RNG = np.random.default_rng(0)
N = 2000


def predictions(**columns) -> pd.DataFrame:
    """A part as scoring makes it: row, the columns given, file_name."""
    return pd.DataFrame({"row": np.arange(N), **columns, "file_name": "part-0001.csv"})


FRAMES = {
    "class labels": predictions(prediction=RNG.integers(0, 3, N)),
    "probabilities": predictions(prediction_0=RNG.uniform(0.001, 0.999, N), prediction_1=RNG.uniform(0.001, 0.9, N)),
    "regression with missing values and infinities": predictions(
        prediction=np.where(RNG.uniform(size=N) < 0.1, np.nan, RNG.normal(size=N)).tolist()[:-2] + [np.inf, -np.inf]
    ),
    "whole-number floats": predictions(prediction=RNG.integers(0, 5, N).astype(float)),
    "tiny and huge floats": predictions(prediction=RNG.normal(size=N) * 10.0 ** RNG.integers(-30, 30, N)),
    "float32": predictions(prediction=RNG.normal(size=N).astype("float32")),
    "text needing quotes": predictions(label=RNG.choice(["a,b", 'say "hi"', "two\nlines", "cr\r", "plain"], N)),
    "text with missing values": predictions(label=RNG.choice(["yes", "no", None, ""], N)),
    "unicode": predictions(label=RNG.choice(["café", "日本", "ü"], N)),
    "booleans": predictions(prediction=RNG.integers(0, 2, N).astype(bool)),
    "mixed objects": predictions(prediction=np.array([1, "a", 2.5, None] * (N // 4), dtype=object)),
    "lists": predictions(prediction=[[1, 2]] * N),
    "dates": predictions(when=pd.date_range("2026-01-01", periods=N, freq="h")),
    "nullable integers": predictions(prediction=pd.array([1, None] * (N // 2), dtype="Int64")),
    "integer column names": pd.DataFrame({0: np.arange(N), 1: RNG.normal(size=N)}),
    "a column name needing quotes": pd.DataFrame({"a,b": np.arange(N), "c": np.arange(N)}),
    "one column": pd.DataFrame({"result": ["x", "", None] * 10}),
    "duplicate names": pd.DataFrame(np.ones((3, 2)), columns=["a", "a"]),
}


@pytest.mark.parametrize("name", FRAMES)
@pytest.mark.parametrize("header", [True, False])
def test_a_csv_part_is_byte_for_byte_what_pandas_writes(name, header):
    frame = FRAMES[name]
    assert formats.csv_bytes(frame, header=header) == frame.to_csv(index=False, header=header).encode()


@pytest.mark.parametrize("name", ["class labels", "probabilities", "regression with missing values and infinities"])
def test_the_usual_predictions_are_written_by_pyarrow(name):
    """Numbers and plain text (a model's predictions, the file name) take pyarrow's writer, 10x faster than to_csv."""
    assert formats._arrow_csv_rows(FRAMES[name]) is not None


def test_encode_writes_the_csv_part_with_its_header():
    frame = FRAMES["class labels"]
    assert formats.encode(frame, formats.CSV) == frame.to_csv(index=False).encode()
    assert formats.encode(frame.iloc[:0], formats.CSV) == b""
