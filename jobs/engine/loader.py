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
        _CACHE[uri] = LoadedModel(uri, model, _inputs(signature), _outputs(signature))
    return _CACHE[uri]


def clear():
    _CACHE.clear()
