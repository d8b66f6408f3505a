import io

import pandas as pd
import pytest

from jobs.engine import reading
from jobs.engine.errors import FileError

FRAME = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})


def _parquet():
    buf = io.BytesIO()
    FRAME.to_parquet(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name,data", [
    ("x.csv", FRAME.to_csv(index=False).encode()),
    ("x.parquet", _parquet()),
    ("x.pqt", _parquet()),
    ("x.jsonl", FRAME.to_json(orient="records", lines=True).encode()),
    ("x.json", FRAME.to_json(orient="records").encode()),
])
def test_it_reads_every_tabular_format(name, data):
    out = reading.read_frame(name, data)
    assert out["a"].tolist() == [1, 2]
    assert out["b"].tolist() == [0.5, 1.5]


@pytest.mark.parametrize("name,data,fragment", [
    ("x.txt", b"a", "unsupported file type '.txt'"),
    ("x.csv", b"", "empty (0 bytes)"),
    ("x.parquet", b"not parquet", "cannot be read as parquet"),
])
def test_it_refuses_bad_files_with_a_reason(name, data, fragment):
    with pytest.raises(FileError) as err:
        reading.read_frame(name, data)
    assert fragment in str(err.value)
    assert str(err.value).startswith(name)
