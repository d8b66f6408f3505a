"""Bad-record isolation in the scoring engine: a file's bad rows are set aside, every good row is scored."""

import time

import numpy as np
import pandas as pd
import pytest

from engine import isolate, scoring

INPUTS = [{"name": "x", "type": "double"}]


def picky(frame):
    """Doubles x; refuses a batch holding a negative x (a model that fails on certain rows)."""
    if (frame["x"] < 0).any():
        raise ValueError("x must not be negative")
    return (frame["x"] * 2).to_numpy()


def csv_of(values) -> bytes:
    return pd.DataFrame({"x": values}).to_csv(index=False).encode()


@pytest.mark.parametrize("bad", [[], [0], [7], [3, 4], [0, 50, 99], list(range(0, 100, 10))])
def test_only_the_bad_rows_are_set_aside_and_the_good_ones_keep_their_row_numbers(bad):
    values = [-1.0 if i in bad else float(i) for i in range(100)]
    out, errors = scoring.score_isolating("in/a.csv", csv_of(values), picky, INPUTS)
    good = [i for i in range(100) if i not in bad]
    assert out["row"].tolist() == good
    assert out["prediction"].tolist() == [2.0 * i for i in good]
    assert [(e.row, e.kind) for e in errors] == [(i, "ValueError") for i in bad]
    assert all("x must not be negative" in e.message for e in errors)


def test_a_value_of_the_wrong_type_is_a_bad_row_not_a_bad_file():
    out, errors = scoring.score_isolating("a.csv", b"x\n1\noops\n3\n", picky, INPUTS)
    assert out["row"].tolist() == [0, 2] and out["prediction"].tolist() == [2.0, 6.0]
    assert [(e.row, e.kind) for e in errors] == [(1, "SchemaMismatch")]
    assert "expected double" in errors[0].message


def test_a_bad_value_s_message_names_the_same_row_as_its_row_column():
    """Halving checks the schema on a one-row chunk: the message still names the row in the file."""
    out, errors = scoring.score_isolating("a.csv", b"x\n1\n2\n3\nabc\n5\n6\n7\n8\n9\n10\n11\nxyz\n", picky, INPUTS)
    assert [e.row for e in errors] == [3, 11]
    assert [e.message for e in errors] == [
        "column 'x' expected double, found string (value 'abc' in row 3).",
        "column 'x' expected double, found string (value 'xyz' in row 11).",
    ]


def test_a_missing_column_fails_the_whole_file_at_once():
    calls = []
    with pytest.raises(scoring.FileError, match="missing column"):
        scoring.score_isolating("a.csv", b"y\n1\n2\n", lambda f: calls.append(f) or picky(f), INPUTS)
    assert calls == []


def test_a_model_failing_on_every_row_fails_the_file_once_the_budget_is_spent():
    def broken(frame):
        raise RuntimeError("boom")

    gave_up = r"the model failed to predict: RuntimeError: boom \(bad-record isolation gave up: most rows fail"
    with pytest.raises(scoring.FileError, match=gave_up):
        scoring.score_isolating("a.csv", csv_of(np.arange(1000.0)), broken, INPUTS)


def test_dozens_of_bad_rows_in_a_big_file_are_set_aside_past_the_budget():
    """60 bad rows in 6000 need more calls than the budget: the model scores most rows, so isolation goes on."""
    bad = list(range(37, 6000, 100))
    frame = pd.DataFrame({"x": [-1.0 if i in bad else float(i) for i in range(6000)]})
    found = isolate.score(frame, picky)
    assert found.calls > isolate.BUDGET and [b.row for b in found.bad] == bad
    assert np.concatenate(found.frames).tolist() == [2.0 * i for i in range(6000) if i not in bad]


def test_a_model_failing_on_most_rows_gives_up_once_the_budget_is_spent():
    frame = pd.DataFrame({"x": [float(i) if i % 10 == 0 else -1.0 for i in range(6000)]})
    with pytest.raises(isolate.GaveUp, match="x must not be negative"):
        isolate.score(frame, picky)


def test_a_file_still_isolating_at_its_deadline_fails_alone_and_the_rest_of_the_batch_is_scored():
    """The scoring host stops isolating at half the mini-batch's timeout: the dirty file fails as a whole (as it
    would without isolation) instead of the timeout failing every file of its mini-batch."""
    dirty = [-1.0 if i % 20 == 0 else float(i) for i in range(2000)]
    files = [("dirty.csv", lambda: csv_of(dirty)), ("clean.csv", lambda: csv_of([1.0, 2.0]))]
    result = scoring.score_batch(files, picky, INPUTS, isolate_until=time.monotonic() - 1)
    assert [(f.name, f.error.message) for f in result.failed] == [
        (
            "dirty.csv",
            "the model failed to predict: ValueError: x must not be negative (bad-record isolation gave up: "
            "stopped at half the scoring timeout after setting aside 0 rows)",
        )
    ]
    assert result.frame["file_name"].tolist() == ["clean.csv", "clean.csv"]
    assert (
        scoring.score_batch(files[:1], picky, INPUTS, isolate_until=time.monotonic() + 60).row_errors[99]["row"] == 1980
    )


def test_isolation_costs_one_call_without_bad_rows_and_few_with_some():
    frame = pd.DataFrame({"x": np.arange(1024.0)})
    assert isolate.score(frame, picky).calls == 1
    frame.loc[[5, 600], "x"] = -1
    found = isolate.score(frame, picky)
    assert [b.row for b in found.bad] == [5, 600]
    assert found.calls <= 2 * 2 * 10 + 1


def test_score_batch_reports_the_rows_set_aside_with_their_file():
    files = [("a.csv", lambda: csv_of([1.0, -1.0, 3.0])), ("b.csv", lambda: csv_of([4.0]))]
    result = scoring.score_batch(files, picky, INPUTS)
    assert result.failed == [] and result.rows_out == 3
    assert result.row_errors == [
        {
            "file": "a.csv",
            "row": 1,
            "type": "ValueError",
            "message": "the model failed to predict: ValueError: x must not be negative",
        }
    ]


def test_a_csv_row_with_more_fields_than_the_header_is_a_bad_row_not_a_bad_file():
    """An unquoted comma in one row failed the whole file ('Expected 2 fields in line 4, saw 3'): every good row lost."""
    data = b'id,x\na,1\nb,2\nc,3,oops\n\n"d\nd",4\ne,-5\nf,6\n'
    out, errors = scoring.score_isolating("a.csv", data, picky, INPUTS, passthrough=["id"])
    assert out["row"].tolist() == [0, 1, 3, 5] and out["id"].tolist() == ["a", "b", "d\nd", "f"]
    assert out["prediction"].tolist() == [2.0, 4.0, 8.0, 12.0]
    assert [(e.row, e.kind) for e in errors] == [(2, "ParserError"), (4, "ValueError")]
    assert errors[0].message == "row 2 (line 4) has 3 fields, the header has 2: quote a value that holds a comma."


def test_a_csv_whose_every_row_has_too_many_fields_sets_them_all_aside_and_other_parse_errors_fail_the_file():
    out, errors = scoring.score_isolating("a.csv", b"x\n1,2\n3,4\n", picky, INPUTS)
    assert out is None and [e.row for e in errors] == [0, 1]
    with pytest.raises(scoring.FileError, match="cannot be read as csv"):
        scoring.score_isolating("a.csv", b'x\n"1\n', picky, INPUTS)
