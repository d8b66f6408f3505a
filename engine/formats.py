"""Output formats of append_row: a mini-batch's part is written in the job's format, and parts are joined in it.

csv is Azure's predictions.csv (a header, then rows); parquet is one file of row groups (one or more a part);
jsonl is one JSON object a line. Plain Python: used by the scoring host and by the worker's finalize.

CSV parts are pandas' `to_csv` bytes; pyarrow writes them (8-12x faster) when its bytes are the same (see csv_bytes).
"""

import csv
import io

import numpy as np
import pandas as pd

CSV, PARQUET, JSONL = "csv", "parquet", "jsonl"
EXTENSIONS = {CSV: ".csv", PARQUET: ".parquet", JSONL: ".jsonl"}
CHOICES = [(CSV, "CSV (predictions.csv)"), (PARQUET, "Parquet"), (JSONL, "JSON lines")]
DEFAULT_NAMES = {fmt: f"predictions{ext}" for fmt, ext in EXTENSIONS.items()}
# The columns scoring adds around the predictions: a passthrough column cannot take their names.
RESERVED_COLUMNS = ("row", "file_name")


def output_name(name: str, fmt: str) -> str:
    """The output file name for a format: a default name (predictions.csv...) follows the format, and so does a
    chosen name's extension when it is another format's (scores.csv in Parquet is scores.parquet: never Parquet
    bytes in a .csv file); any other chosen name stays."""
    if name in DEFAULT_NAMES.values():
        return DEFAULT_NAMES[fmt]
    stem, dot, ext = name.rpartition(".")
    if dot and stem and f".{ext.lower()}" in EXTENSIONS.values():
        return stem + EXTENSIONS[fmt]
    return name


def as_frame(result) -> pd.DataFrame:
    """What a scoring script's run() returned, as a DataFrame: as it is, dicts as columns, else one 'result' column."""
    if isinstance(result, pd.DataFrame):
        return result
    items = list(result)
    if items and all(isinstance(item, dict) for item in items):
        return pd.DataFrame(items)
    return pd.DataFrame({"result": items})


def encode(frame: pd.DataFrame | None, fmt: str) -> bytes:
    """One part: b"" for no rows (joining skips it), else the rows in the format (csv and parquet with their header)."""
    if frame is None or frame.empty:
        return b""
    if fmt == PARQUET:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False, engine="pyarrow")
        return buffer.getvalue()
    if fmt == JSONL:
        text = frame.to_json(orient="records", lines=True, date_format="iso")
        return (text if text.endswith("\n") else text + "\n").encode()
    return csv_bytes(frame)


def csv_bytes(frame: pd.DataFrame, header: bool = True) -> bytes:
    """The frame as pandas' `to_csv(index=False)` writes it: written by pyarrow when that gives the same bytes,
    else by pandas itself (the same bytes either way)."""
    rows = _arrow_csv_rows(frame)
    if rows is None:
        return frame.to_csv(index=False, header=header).encode()
    return (_csv_header(frame.columns) if header else b"") + rows


def _csv_header(columns) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([str(column) for column in columns])
    return buffer.getvalue().encode()


# pyarrow writes a float64 as Python's repr does (the same shortest digits, positional) for 1e-4 <= |x| < 1e10
# unless it is a whole number (1.0 is "1" for pyarrow); floats outside that, and other types, go to pandas.
_ARROW_FLOAT_RANGE = (1e-4, 1e10)
_STRUCTURAL = (b",", b'"', b"\r", b"\n")  # what the csv module quotes (and a lone empty field: 2+ columns have none)


def _arrow_csv_rows(frame: pd.DataFrame) -> bytes | None:
    """The rows (no header) as pyarrow writes them unquoted, or None where that would not be pandas' bytes."""
    if len(frame.columns) < 2 or isinstance(frame.columns, pd.MultiIndex) or not frame.columns.is_unique:
        return None
    if not all(_plain_dtype(dtype) for dtype in frame.dtypes):
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if not all(_writes_as_pandas(column) for column in table.columns):
            return None
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    except (ImportError, ValueError, TypeError):  # no pyarrow in the environment; a column pyarrow cannot take
        return None
    return buffer.getvalue()


def _plain_dtype(dtype) -> bool:
    return (isinstance(dtype, np.dtype) and dtype.kind in "iufO") or isinstance(dtype, pd.StringDtype)


def _plain_text(column) -> bool:
    """No value holds a character the csv module would quote, looked for in the strings' data buffers (the buffer of
    a slice may hold more than its values: a false alarm only sends the frame to pandas)."""
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        text = b"" if data is None else data.to_pybytes()
        if any(char in text for char in _STRUCTURAL):
            return False
    return True


def _writes_as_pandas(column) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_null(kind):
        return True
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _plain_text(column)
    if not pa.types.is_float64(kind):
        return False
    finite = pc.filter(column, pc.is_finite(column))  # nulls (NaN) write "" and inf "inf" in both
    if len(finite) == 0:
        return True
    low, high = pc.min_max(pc.abs(finite)).values()
    return (
        _ARROW_FLOAT_RANGE[0] <= low.as_py()
        and high.as_py() < _ARROW_FLOAT_RANGE[1]
        and not pc.any(pc.equal(pc.floor(finite), finite)).as_py()
    )
