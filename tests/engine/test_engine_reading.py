import io

import pandas as pd
import pytest

from engine import reading
from engine.errors import FileError

FRAME = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})


def _parquet():
    buf = io.BytesIO()
    FRAME.to_parquet(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    "name,data",
    [
        ("x.csv", FRAME.to_csv(index=False).encode()),
        ("x.parquet", _parquet()),
        ("x.pqt", _parquet()),
        ("x.jsonl", FRAME.to_json(orient="records", lines=True).encode()),
        ("x.json", FRAME.to_json(orient="records").encode()),
    ],
)
def test_it_reads_every_tabular_format(name, data):
    out = reading.read_frame(name, data)
    assert out["a"].tolist() == [1, 2]
    assert out["b"].tolist() == [0.5, 1.5]


@pytest.mark.parametrize(
    "name,data,fragment",
    [
        ("x.txt", b"a", "unsupported file type '.txt'"),
        ("x.csv", b"", "empty (0 bytes)"),
        ("x.parquet", b"not parquet", "cannot be read as parquet"),
    ],
)
def test_it_refuses_bad_files_with_a_reason(name, data, fragment):
    with pytest.raises(FileError) as err:
        reading.read_frame(name, data)
    assert fragment in str(err.value)
    assert str(err.value).startswith(name)


def test_a_bad_line_of_json_lines_is_named_with_its_number():
    """pandas said only 'Expected object or value at position 233': the user had to count bytes to find the line."""
    data = b'{"a": 1, "b": 0.5}\n{"a": 2, "b": 1.5}\n{"a": 3, broken\n{"a": 4, "b": 2.5}\n'
    with pytest.raises(FileError) as err:
        reading.read_frame("x.jsonl", data)
    assert "line 3 is not valid JSON (" in str(err.value) and '{"a": 3, broken' in str(err.value)
    with pytest.raises(FileError) as err:
        reading.read_frame("x.jsonl", b'{"a": 1, "b": 0.5}\n[1, 2]\n')
    assert "line 2 is a JSON list, not an object: [1, 2]" in str(err.value)


def test_rows_with_a_trailing_comma_are_not_shifted_one_column_left():
    """pandas took the first column as the index when every row had one field more than the header: 'a,b' over
    '1,2,' read a=2, b=NaN, and the model scored shifted values."""
    frame, bad = reading.read_frame_isolating("x.csv", b"a,b\n1,2,\n3,4,\n")
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]} and bad == []
    frame, bad = reading.read_frame_isolating("x.csv", b"a,b\n1,2,9\n3,4,\n")
    assert frame.to_dict("list") == {"a": [3], "b": [4]} and frame.index.tolist() == [1] and [r for r, _ in bad] == [0]
    with pytest.raises(FileError, match="cannot be read as csv"):  # without isolation: no value silently dropped
        reading.read_frame("x.csv", b"a,b\n1,2,9\n3,4,8\n")
