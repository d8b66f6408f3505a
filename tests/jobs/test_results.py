"""jobs/results.py reads a job's output in each output format, in output order."""

from types import SimpleNamespace

import pandas as pd
import pytest

from engine import formats
from jobs.results import Prediction, read_predictions
from workspace.models import Datastore


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_predictions_read_the_same_in_every_format(fmt):
    frame = pd.DataFrame(
        {"row": [0, 1, 0], "id": ["a", "b", "c"], "prediction": [2, 0, 1], "file_name": ["x.csv", "x.csv", "y.csv"]}
    )
    path = f"results-{fmt}/predictions{formats.EXTENSIONS[fmt]}"
    Datastore.get_default().client().write(path, formats.encode(frame, fmt))
    job = SimpleNamespace(name="j", output_file_path=path, output_datastore=Datastore.get_default().name, settings={})
    assert list(read_predictions(job)) == [
        Prediction("x.csv", "0", "2"),
        Prediction("x.csv", "1", "0"),
        Prediction("y.csv", "0", "1"),
    ]
