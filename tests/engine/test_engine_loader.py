"""A loaded MLflow model: a frame the engine has already checked against the signature is not checked again."""

import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from engine import loader, scoring

COLUMNS = ["a", "b"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    import mlflow.sklearn

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 2)), columns=COLUMNS)
    y = (X["a"] + X["b"] > 0).astype(int)
    folder = tmp_path_factory.mktemp("models") / "logistic"
    model = LogisticRegression().fit(X, y)
    mlflow.sklearn.save_model(model, str(folder), signature=infer_signature(X, model.predict(X)))
    yield str(folder)
    loader.clear()


@pytest.fixture
def no_second_check(monkeypatch):
    """MLflow's own signature check, made to fail: only frames that skip it can be scored."""
    import mlflow.pyfunc

    def refuse(*args, **kwargs):
        raise AssertionError("MLflow checked the signature again")

    monkeypatch.setattr(mlflow.pyfunc, "_enforce_schema", refuse)


def test_a_checked_file_is_predicted_without_mlflow_checking_the_signature_again(model_dir, no_second_check):
    model = loader.load(model_dir)
    out = scoring.score_file("a.csv", b"b,a\n1.5,2.0\n-3.0,-1.0\n", model.predict, model.inputs)
    assert out["prediction"].tolist() == [1, 0]


def test_the_same_predictions_as_mlflow_s_own_predict(model_dir):
    model = loader.load(model_dir)
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(500, 2)), columns=COLUMNS)
    assert (model.predict(frame) == model.model.predict(frame)).all()


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": [1, 2], "b": [1.0, 2.0]}),  # integers where the signature says double
        pd.DataFrame({"b": [1.0, 2.0], "a": [1.0, 2.0]}),  # another column order
        pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]}),  # a column the signature does not have
    ],
)
def test_any_other_frame_goes_through_mlflow_s_check(model_dir, no_second_check, frame):
    with pytest.raises(Exception, match="checked the signature again"):  # MLflow wraps it in its own
        loader.load(model_dir).predict(frame)
