import numpy as np
import pandas as pd
import pytest

from engine import reading, schema
from engine.errors import FileError

IRIS = [{"name": "sepal length (cm)", "type": "double"}, {"name": "petals", "type": "long"}]


@pytest.mark.parametrize(
    "values,expected,dtype",
    [
        ([1, 2, 3], "long", "int64"),
        ([1.0, 2.0], "long", "int64"),
        (["1", "2"], "integer", "int32"),
        ([1, 2], "double", "float64"),
        (["1.5", "2"], "float", "float32"),
        (["true", "False", "1"], "boolean", "bool"),
        (["a", "b"], "string", "object"),
    ],
)
def test_it_coerces_types_as_mlflow_does(values, expected, dtype):
    out = schema.coerce_column("f.csv", "c", pd.Series(values), expected)
    assert str(out.dtype) == dtype


@pytest.mark.parametrize(
    "values,expected,fragment",
    [
        (["1", "abc"], "long", "value 'abc' in row 1"),
        ([1.5, 2.0], "long", "fractional"),
        (["x"], "double", "value 'x' in row 0"),
        (["maybe"], "boolean", "expected boolean"),
        ([1, 2], "string", "found long"),
    ],
)
def test_it_names_file_column_and_types_on_mismatch(values, expected, fragment):
    with pytest.raises(FileError) as err:
        schema.coerce_column("data/part-3.csv", "petals", pd.Series(values), expected)
    message = str(err.value)
    assert message.startswith("data/part-3.csv: column 'petals' expected " + expected)
    assert fragment in message


def test_it_reports_a_wrong_column_type_read_from_a_csv():
    frame = reading.read_frame("bad.csv", b"sepal length (cm),petals\n5.1,3\nfive,4\n")
    with pytest.raises(FileError) as err:
        schema.enforce("bad.csv", frame, IRIS)
    assert "bad.csv: column 'sepal length (cm)' expected double, found string (value 'five' in row 1)" in str(err.value)


def test_a_bad_value_is_named_by_its_row_in_the_file_in_a_chunk_cut_out_of_it():
    frame = reading.read_frame("bad.csv", b"sepal length (cm),petals\n5.1,3\n5.2,4\nfive,4\n6,1\n")
    with pytest.raises(FileError, match=r"\(value 'five' in row 2\)"):
        schema.enforce("bad.csv", frame.iloc[2:], IRIS)


def test_it_reports_missing_columns():
    frame = pd.DataFrame({"petals": [1]})
    with pytest.raises(FileError, match="missing column.*'sepal length \\(cm\\)'"):
        schema.enforce("f.csv", frame, IRIS)


def test_it_keeps_signature_order_and_drops_extra_columns():
    frame = pd.DataFrame({"extra": [0], "petals": [2], "sepal length (cm)": [1]})
    out = schema.enforce("f.csv", frame, IRIS)
    assert list(out.columns) == ["sepal length (cm)", "petals"]
    assert str(out["sepal length (cm)"].dtype) == "float64"


def test_it_passes_frames_through_without_a_column_signature():
    frame = pd.DataFrame({"a": ["x"]})
    assert schema.enforce("f.csv", frame, None) is frame


def test_a_file_already_of_the_signatures_types_is_scored_as_read():
    """The common case costs no copy: columns already float64/int64 come back as they are, in signature order."""
    frame = pd.DataFrame({"sepal length (cm)": [5.1, 4.9], "petals": [3, 4]})
    assert schema.enforce("f.csv", frame, IRIS) is frame
    shuffled = pd.DataFrame({"petals": [3], "extra": ["x"], "sepal length (cm)": [5.1]})
    out = schema.enforce("f.csv", shuffled, IRIS)
    assert list(out.columns) == ["sepal length (cm)", "petals"]
    assert out.dtypes.tolist() == [np.dtype("float64"), np.dtype("int64")]


@pytest.mark.parametrize(
    "column,values,dtype",
    [
        ("sepal length (cm)", [5, 4], "float64"),  # integers in a double column are still converted
        ("petals", [3.0, 4.0], "int64"),  # whole floats in a long column too
    ],
)
def test_a_column_of_another_type_is_still_coerced(column, values, dtype):
    other = {"sepal length (cm)": [5.1, 4.9], "petals": [3, 4]}
    frame = pd.DataFrame({**other, column: values})
    assert str(schema.enforce("f.csv", frame, IRIS)[column].dtype) == dtype
