"""Loading MLflow models once per process: the first load takes seconds, the next mini-batch reuses it."""

from dataclasses import dataclass
from typing import Any

_CACHE: dict[str, "LoadedModel"] = {}


@dataclass
class LoadedModel:
    uri: str
    model: Any
    inputs: list[dict] | None
    output_names: list[str] | None
    tensor: dict | None = None  # {"shape": (-1, ...), "dtype": "float32"} for a tensor signature

    def predict(self, frame):
        return self.model.predict(frame)


def _inputs(signature):
    if signature is None or signature.inputs is None:
        return None
    out = []
    for spec in signature.inputs.inputs:
        name = getattr(spec, "name", None)
        kind = getattr(getattr(spec, "type", None), "name", None)
        if name is None or kind is None:  # tensor specs: no per-column check
            return None
        out.append({"name": name, "type": kind, "optional": bool(getattr(spec, "optional", False))})
    return out


def _tensor(signature):
    """The single tensor input of an image model's signature, if that is what it takes."""
    if signature is None or signature.inputs is None or not signature.inputs.is_tensor_spec():
        return None
    if len(signature.inputs.inputs) != 1:
        return None
    spec = signature.inputs.inputs[0]
    return {"shape": tuple(spec.shape), "dtype": str(spec.type)}


def _outputs(signature):
    if signature is None or signature.outputs is None:
        return None
    names = [getattr(spec, "name", None) for spec in signature.outputs.inputs]
    return names if all(names) and len(names) > 1 else None


def load(uri: str) -> LoadedModel:
    if uri not in _CACHE:
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(uri)
        signature = model.metadata.signature
        _CACHE[uri] = LoadedModel(uri, model, _inputs(signature), _outputs(signature), _tensor(signature))
    return _CACHE[uri]


def clear():
    _CACHE.clear()
