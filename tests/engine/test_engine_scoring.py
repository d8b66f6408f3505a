import io

import numpy as np
import pandas as pd
import pytest

from engine import scoring

INPUTS = [{"name": "x", "type": "double"}]


def double(frame):
    return (frame["x"] * 2).to_numpy()


def test_it_scores_a_file_with_row_prediction_and_file_name():
    out = scoring.score_file("in/a.csv", b"x\n1\n2\n3\n", double, INPUTS)
    assert list(out.columns) == ["row", "prediction", "file_name"]
    assert out["row"].tolist() == [0, 1, 2]
    assert out["prediction"].tolist() == [2.0, 4.0, 6.0]
    assert set(out["file_name"]) == {"a.csv"}


def test_it_gives_multi_output_models_one_column_per_output():
    predict = lambda frame: np.column_stack([frame["x"], -frame["x"]])  # noqa: E731
    out = scoring.score_file("a.csv", b"x\n1\n2\n", predict, INPUTS, output_names=["up", "down"])
    assert list(out.columns) == ["row", "up", "down", "file_name"]


def test_a_failing_file_is_reported_and_the_others_still_count():
    files = [("a.csv", lambda: b"x\n1\n"), ("b.csv", lambda: b"colour\nred\n"), ("c.csv", lambda: b"x\n3\n")]
    result = scoring.score_batch(files, double, INPUTS)
    assert [f.name for f in result.failed] == ["b.csv"]
    assert "missing column(s) 'x'" in result.failed[0].error.message
    assert result.frame["file_name"].tolist() == ["a.csv", "c.csv"]
    assert result.rows_out == 2


def test_a_model_error_names_the_file():
    def broken(frame):
        raise RuntimeError("boom")

    with pytest.raises(scoring.FileError, match="a.csv: the model failed to predict: RuntimeError: boom"):
        scoring.score_file("a.csv", b"x\n1\n", broken, INPUTS)


def test_parts_round_trip_through_csv_with_a_header():
    frame = scoring.score_file("a.csv", b"x\n1\n2\n", double, INPUTS)
    back = pd.read_csv(io.BytesIO(scoring.to_csv_bytes(frame, header=True)))
    assert back["prediction"].tolist() == [2.0, 4.0]


def test_progress_hears_the_rows_scored_so_far_file_by_file_and_batch_by_batch(tmp_path, monkeypatch):
    """A streamed file reports each record batch; the count never goes back, and a failed file adds nothing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from engine import reading, scoring

    monkeypatch.setattr(reading, "BATCH_ROWS", 100)
    big = tmp_path / "big.parquet"
    pq.write_table(pa.table({"x": [float(i) for i in range(250)]}), big, row_group_size=100)
    small = tmp_path / "small.csv"
    small.write_text("x\n1\n2\n3\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("y\n1\n")
    heard = []
    result = scoring.score_batch(
        [("small.csv", small), ("bad.csv", bad), ("big.parquet", big)],
        lambda frame: frame["x"] * 2,
        inputs=[{"name": "x", "type": "double"}],
        progress=heard.append,
    )
    assert result.rows_out == 253
    assert heard == sorted(heard) and heard[0] == 3 and heard[-1] == 253, heard
    assert len([n for n in heard if 3 < n < 253]) >= 2  # the Parquet file's batches, one by one
