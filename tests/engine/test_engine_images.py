"""Image files become arrays for models whose signature takes a tensor: one row per image."""

import io

import numpy as np
import pytest
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema, TensorSpec
from PIL import Image

from engine import loader, scoring
from engine.errors import FileError

TENSOR = {"shape": (-1, 4, 4, 3), "dtype": "float32"}


def png(size=(4, 4), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=(10, 20, 30) if mode == "RGB" else 7).save(buffer, format="PNG")
    return buffer.getvalue()


def mean_colour(batch):
    assert batch.dtype == np.float32 and batch.shape == (1, 4, 4, 3)
    return batch.mean(axis=(1, 2))


def test_an_image_is_a_batch_of_one_shaped_as_the_signature():
    out = scoring.score_file("imgs/cat.png", png(), mean_colour, None, tensor=TENSOR)
    assert list(out.columns) == ["row", "prediction_0", "prediction_1", "prediction_2", "file_name"]
    assert out.iloc[0].tolist() == [0, 10.0, 20.0, 30.0, "cat.png"]


@pytest.mark.parametrize(
    "data,tensor,kind,fragment",
    [
        (png(), None, "UnsupportedFileType", "need a model whose signature takes a tensor"),
        (png(size=(8, 8)), TENSOR, "SchemaMismatch", "does not fit the model's tensor shape"),
        (b"not an image", TENSOR, "UnreadableImage", "cannot be read as an image"),
    ],
)
def test_images_that_do_not_fit_fail_their_file(data, tensor, kind, fragment):
    with pytest.raises(FileError) as err:
        scoring.score_file("imgs/x.png", data, mean_colour, None, tensor=tensor)
    assert err.value.kind == kind and fragment in err.value.message


@pytest.mark.parametrize(
    "inputs,tensor",
    [
        (Schema([TensorSpec(np.dtype("float32"), (-1, 4, 4, 3))]), TENSOR),
        (Schema([ColSpec("double", "x")]), None),
    ],
)
def test_the_loader_reads_the_tensor_signature(inputs, tensor):
    assert loader._tensor(ModelSignature(inputs=inputs)) == tensor
