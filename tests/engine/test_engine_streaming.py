"""A Parquet file given by its path is scored in record batches of the columns the model reads: a scoring host
holds one batch, not the file, and the output is what scoring the whole file at once gives."""

import numpy as np
import pandas as pd
import pytest

from engine import reading, scoring
from engine.errors import FileError

INPUTS = [{"name": "x", "type": "double"}]


def picky(frame):
    if (frame["x"] < 0).any():
        raise ValueError("x must not be negative")
    return (frame["x"] * 2).to_numpy()


def parquet(tmp_path, frame, name="a.parquet"):
    path = tmp_path / name
    frame.to_parquet(path, index=False)
    return path


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(reading, "BATCH_ROWS", 7)


def test_a_streamed_file_scores_exactly_as_the_whole_file(tmp_path, small_batches):
    x = [-1.0 if i in (3, 20, 21, 49) else float(i) for i in range(50)]
    frame = pd.DataFrame({"id": [f"id-{i}" for i in range(50)], "x": x, "unused": np.arange(50)})
    path = parquet(tmp_path, frame)
    streamed, bad = scoring.score_isolating("in/a.parquet", path, picky, INPUTS, passthrough=["id"])
    whole, whole_bad = scoring.score_isolating("in/a.parquet", path.read_bytes(), picky, INPUTS, passthrough=["id"])
    pd.testing.assert_frame_equal(streamed, whole)
    assert streamed["row"].tolist() == [i for i in range(50) if i not in (3, 20, 21, 49)]
    assert [e.row for e in bad] == [e.row for e in whole_bad] == [3, 20, 21, 49]


def test_only_the_signature_s_and_passthrough_columns_are_read_in_bounded_batches(tmp_path):
    frame = pd.DataFrame({"a": np.arange(10), "x": np.arange(10.0), "id": list("abcdefghij"), "b": np.ones(10)})
    batches = list(reading.parquet_batches("a.parquet", parquet(tmp_path, frame), ["x"], ["id"], rows=4))
    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert [list(batch.columns) for batch in batches] == [["x", "id"]] * 3
    assert [batch.index.tolist() for batch in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_without_a_column_signature_every_column_is_read_but_not_a_stored_index(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index([7, 8], name="key")).to_parquet(path)
    (batch,) = reading.parquet_batches("a.parquet", path, None)
    assert list(batch.columns) == ["x"] and batch.index.tolist() == [0, 1]


def test_a_missing_passthrough_column_names_every_column_of_the_file(tmp_path):
    path = parquet(tmp_path, pd.DataFrame({"x": [1.0], "other": [2]}))
    with pytest.raises(FileError, match=r"missing passthrough column\(s\) 'id'; the file has x, other"):
        scoring.score_isolating("a.parquet", path, picky, INPUTS, passthrough=["id"])


def test_a_file_of_no_rows_still_fails_for_a_missing_column(tmp_path):
    path = parquet(tmp_path, pd.DataFrame({"y": pd.Series([], dtype=float)}))
    with pytest.raises(FileError, match=r"missing column\(s\) 'x'"):
        scoring.score_isolating("a.parquet", path, picky, INPUTS)


def test_files_given_by_path_are_scored_and_a_broken_parquet_file_fails_alone(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"x\n1\n2\n")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    path = parquet(tmp_path, pd.DataFrame({"x": [3.0]}), "c.parquet")
    files = [(p.name, p) for p in (tmp_path / "a.csv", tmp_path / "bad.parquet", path)]
    result = scoring.score_batch(files, picky, INPUTS)
    assert [(f.name, f.error.kind) for f in result.failed] == [("bad.parquet", "ArrowInvalid")]
    assert "cannot be read as parquet" in result.failed[0].error.message
    assert result.frame["prediction"].tolist() == [2.0, 4.0, 6.0]
    assert result.frame["file_name"].tolist() == ["a.csv", "a.csv", "c.parquet"]


@pytest.fixture
def streamed_text(monkeypatch):
    """Every CSV and JSON lines file counts as large: read in batches of 7 rows."""
    monkeypatch.setattr(reading, "STREAM_BYTES", 0)
    monkeypatch.setattr(reading, "BATCH_ROWS", 7)


def whole_and_streamed(tmp_path, data: bytes, name="a.csv", **options):
    path = tmp_path / name
    path.write_bytes(data)
    whole = scoring.score_isolating(f"in/{name}", data, picky, INPUTS, **options)
    return whole, scoring.score_isolating(f"in/{name}", path, picky, INPUTS, **options)


@pytest.fixture
def batches(monkeypatch):
    """The rows of each batch text_batches gives."""
    seen, read = [], reading.text_batches
    monkeypatch.setattr(reading, "text_batches", lambda path: (seen.append(len(b)) or b for b in read(path)))
    return seen


def test_a_large_csv_file_is_read_in_batches_and_scores_as_the_whole_file(tmp_path, streamed_text, batches):
    frame = pd.DataFrame(
        {"id": [f"id-{i}" for i in range(40)], "x": [-1.0 if i in (5, 30) else i / 2 for i in range(40)]}
    )
    (whole, whole_bad), (streamed, bad) = whole_and_streamed(
        tmp_path, frame.to_csv(index=False).encode(), passthrough=["id"]
    )
    assert batches == [7] * 5 + [5]
    pd.testing.assert_frame_equal(streamed, whole)
    assert [e.row for e in bad] == [e.row for e in whole_bad] == [5, 30]


@pytest.mark.parametrize(
    "data",
    [
        b"x\n" + b"1\n" * 10 + b"True\n" * 5,
        b"x\n" + b"1\n" * 10 + b"2,oops\n" + b"3\n" * 5,
        b"x\n" + b"1\n" * 10 + b"abc\n" + b"3\n" * 5,
    ],
    ids=["a column of another type in a later batch", "a record that does not fit the header", "a bad value"],
)
def test_a_large_csv_file_batches_cannot_read_exactly_is_read_whole(tmp_path, streamed_text, data):
    """The whole file reads x as one type ('1' beside 'True' or 'abc': text), which a batch of its own would not
    (True alone is a boolean, and would be scored as 1.0); x is passed through as read."""
    (whole, whole_bad), (streamed, bad) = whole_and_streamed(tmp_path, data, passthrough=["x"])
    pd.testing.assert_frame_equal(streamed, whole)
    assert [(e.row, e.kind) for e in bad] == [(e.row, e.kind) for e in whole_bad]


def test_a_large_json_lines_file_is_read_in_batches_and_scores_as_the_whole_file(tmp_path, streamed_text, batches):
    frame = pd.DataFrame({"id": [f"id-{i}" for i in range(40)], "x": [-1.0 if i == 9 else i / 2 for i in range(40)]})
    data = frame.to_json(orient="records", lines=True).encode()
    (whole, whole_bad), (streamed, bad) = whole_and_streamed(tmp_path, data, "a.jsonl", passthrough=["id"])
    assert batches == [7] * 5 + [5]
    pd.testing.assert_frame_equal(streamed, whole)
    assert [e.row for e in bad] == [e.row for e in whole_bad] == [9]


def test_a_large_json_lines_file_with_a_broken_line_fails_naming_the_line(tmp_path, streamed_text):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"x": 1}\n' * 10 + b'{"x": broken\n')
    with pytest.raises(FileError, match="line 11 is not valid JSON"):
        scoring.score_isolating("a.jsonl", path, picky, INPUTS)
