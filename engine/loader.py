"""Loading MLflow models once per process: the first load takes seconds, the next mini-batch reuses it."""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import schema

_CACHE: dict[str, "LoadedModel"] = {}


@dataclass
class LoadedModel:
    uri: str
    model: Any
    inputs: list[dict] | None
    output_names: list[str] | None
    tensor: dict | None = None  # {"shape": (-1, ...), "dtype": "float32"} for a tensor signature
    direct: Callable | None = None  # the flavor's own predict, without MLflow's signature check (see _direct)

    def predict(self, frame):
        """The model's predictions. A frame that already holds exactly the signature's columns, in its order, of
        its numpy types (what the engine's check gives for numbers) skips MLflow's check of the same signature: it
        would return the frame as it is."""
        if self.direct is not None and self._checked(frame):
            return self.direct(frame)
        return self.model.predict(frame)

    def _checked(self, frame) -> bool:
        return (
            self.inputs is not None
            and list(getattr(frame, "columns", ())) == [spec["name"] for spec in self.inputs]
            and schema.already_typed(frame, self.inputs)
        )


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


def _direct(model) -> Callable | None:
    """What PyFuncModel.predict calls once the input passed its signature check, where calling it directly changes
    nothing else: no params schema (whose defaults MLflow would fill in), no signature or example taken from type
    hints (their own conversions), no model id or dependencies schema (a prediction context for traces). None
    when any of them is there, or when this MLflow is built otherwise (these are its internals)."""
    try:
        meta = model.metadata
        if (
            meta.get_params_schema() is not None
            or meta._is_signature_from_type_hint()
            or meta._is_type_hint_from_example()
            or model.model_id
            or "dependencies_schemas" in (meta.metadata or {})
        ):
            return None
        predict = model._predict_fn
        params = inspect.signature(predict).parameters.get("params")
    except Exception:  # another MLflow's internals: keep its own predict
        return None
    if params is not None and params.kind != inspect.Parameter.VAR_KEYWORD:
        return lambda frame: predict(frame, params=None)
    return predict


def load(uri: str) -> LoadedModel:
    if uri not in _CACHE:
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(uri)
        signature = model.metadata.signature
        inputs = _inputs(signature)
        _CACHE[uri] = LoadedModel(
            uri,
            model,
            inputs,
            _outputs(signature),
            _tensor(signature),
            _direct(model) if inputs and not any(spec["optional"] for spec in inputs) else None,
        )
    return _CACHE[uri]


def clear():
    _CACHE.clear()
