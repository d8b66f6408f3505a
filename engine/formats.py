"""Output formats of append_row: a mini-batch's part is written in the job's format, and parts are joined in it.

csv is Azure's predictions.csv (a header, then rows); parquet is one file of row groups (one or more a part);
jsonl is one JSON object a line. Plain Python: used by the scoring host and by the worker's finalize.
"""

import io

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
    return frame.to_csv(index=False).encode()
