"""Checking a DataFrame against an MLflow model signature, coercing types as MLflow does.

A mismatch names the file, the column, the expected type and what was found.
"""

import numpy as np
import pandas as pd

from .errors import FileError

INTEGER = {"integer": "int32", "long": "int64"}
FLOATING = {"float": "float32", "double": "float64"}


def _first_bad(series: pd.Series, converted: pd.Series):
    """(row, value) of the first value that does not convert, or (None, None). The row is the series' index label:
    the row number in the file, also in a chunk bad-record isolation cut out of it (it keeps the file's index)."""
    bad = converted.isna() & series.notna()
    if bad.any():
        pos = int(np.argmax(bad.to_numpy()))
        return series.index[pos], series.iloc[pos]
    return None, None


def _found(series: pd.Series) -> str:
    kind = series.dtype.kind
    return {"O": "string", "T": "string", "f": "double", "i": "long", "u": "long", "b": "boolean", "M": "datetime"}.get(
        kind, str(series.dtype)
    )


def coerce_column(file_name: str, column: str, series: pd.Series, expected: str) -> pd.Series:
    def mismatch(detail=""):
        raise FileError(
            file_name, f"column '{column}' expected {expected}, found {_found(series)}{detail}.", "SchemaMismatch"
        )

    if expected in INTEGER or expected in FLOATING:
        if series.dtype.kind in "iub" or (series.dtype.kind == "f" and expected in FLOATING):
            return series.astype(INTEGER.get(expected) or FLOATING[expected])
        numeric = pd.to_numeric(series, errors="coerce")
        row, value = _first_bad(series, numeric)
        if row is not None:
            mismatch(f" (value {value!r} in row {row})")
        if expected in INTEGER:
            if numeric.isna().any():
                mismatch(" (missing values in an integer column)")
            if not (numeric == numeric.round()).all():
                mismatch(" (a fractional value in an integer column)")
            return numeric.astype(INTEGER[expected])
        return numeric.astype(FLOATING[expected])
    if expected == "boolean":
        if series.dtype.kind == "b":
            return series
        mapping = {"true": True, "false": False, "1": True, "0": False}
        lowered = series.astype(str).str.strip().str.lower()
        if not lowered.isin(mapping).all():
            mismatch()
        return lowered.map(mapping).astype(bool)
    if expected == "string":
        if series.dtype.kind in "OT" or str(series.dtype) in ("string", "str"):
            return series.astype(object)
        mismatch()
    if expected == "datetime":
        try:
            return pd.to_datetime(series)
        except (ValueError, TypeError):
            mismatch()
    return series


def already_typed(frame: pd.DataFrame, inputs: list[dict]) -> bool:
    """Every signature column is in the frame with exactly the numpy type coercion would give it."""
    dtypes = frame.dtypes
    for spec in inputs:
        target = (
            INTEGER.get(spec["type"]) or FLOATING.get(spec["type"]) or ("bool" if spec["type"] == "boolean" else None)
        )
        if target is None or spec["name"] not in dtypes.index or dtypes[spec["name"]] != np.dtype(target):
            return False
    return not frame.columns.duplicated().any()


def enforce(file_name: str, frame: pd.DataFrame, inputs: list[dict] | None) -> pd.DataFrame:
    """Return the frame with the signature's columns, in its order, of its types. inputs: [{name, type}]."""
    if not inputs or any(not spec.get("name") for spec in inputs):
        return frame  # no column signature (or a tensor one): the model takes the frame as it is
    missing = [spec["name"] for spec in inputs if spec["name"] not in frame.columns and not spec.get("optional")]
    if missing:
        raise FileError(
            file_name,
            f"missing column(s) {', '.join(repr(m) for m in missing)} required by the model signature.",
            "SchemaMismatch",
        )
    if already_typed(frame, inputs):  # the common case (numbers read as the signature's types): no copies
        names = [spec["name"] for spec in inputs]
        return frame if list(frame.columns) == names else frame[names]
    return pd.DataFrame(
        {
            spec["name"]: coerce_column(file_name, spec["name"], frame[spec["name"]], spec["type"])
            for spec in inputs
            if spec["name"] in frame.columns
        }
    )


def passthrough(file_name: str, frame: pd.DataFrame, columns) -> pd.DataFrame:
    """The input columns copied next to the predictions, as they were read; a missing one is named."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise FileError(
            file_name,
            f"missing passthrough column(s) {', '.join(repr(m) for m in missing)}; "
            f"the file has {', '.join(map(str, frame.columns))}.",
            "SchemaMismatch",
        )
    return frame[list(columns)]


OK, COERCED, WRONG = "ok", "coerced", "wrong"


def check_columns(file_name: str, frame: pd.DataFrame, inputs: list[dict] | None) -> list[dict]:
    """Per signature column: ok (already of its type), coerced (converted as scoring will), or wrong (with why)."""
    report = []
    for spec in inputs or []:
        name, expected = spec.get("name"), spec.get("type")
        if not name:
            continue
        row = {"column": name, "expected": expected, "found": "", "status": OK, "message": ""}
        if name not in frame.columns:
            row.update(
                status=OK if spec.get("optional") else WRONG,
                found="missing",
                message="optional: not given"
                if spec.get("optional")
                else "missing: the model needs this column; choose input data that has it",
            )
        else:
            series = frame[name]
            row["found"] = _found(series)
            try:
                coerced = coerce_column(file_name, name, series, expected)
            except FileError as exc:
                row.update(status=WRONG, message=exc.message)
            else:
                if coerced.dtype != series.dtype:
                    row.update(status=COERCED, message=f"converted from {row['found']} to {expected}")
        report.append(row)
    return report
