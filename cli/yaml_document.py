"""An Azure YAML file read as a Document: its data, the line of every key, and the checks every reader shares.

Unknown keys ("Did you mean ...?"), wrong types and missing keys are refused as coded ValidationErrors naming the
key and the line it is on (or the --set that gave it), because these files are written by hand and read by CI
logs. cli.azure_yaml (endpoints, deployments), cli.azure_assets (models, environments, data) and
cli.azure_workspace (compute, datastores) read their files through it, and api.bodies a request's body.
"""

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError

# A schema is a dict of key -> expected type; a nested dict is a nested mapping; a tuple is "one of".
ANY_MAPPING = dict
COMMON = {"$schema": str, "description": str, "tags": ANY_MAPPING}


@dataclass
class Document:
    """A YAML file's data, the line of every key (dotted: `settings.retry_settings.timeout`), and its folder."""

    data: dict
    source: str = "<yaml>"
    folder: Path = field(default_factory=Path.cwd)
    lines: dict = field(default_factory=dict)

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        if line == "--set":
            return f"--set {key}"
        return f"{self.source}, line {line}" if line else self.source

    def error(self, key: str, message: str, code: str, **params) -> ValidationError:
        params = {"where": self.where(key), "key": key, **params}
        return ValidationError("%(where)s: " + message, code=code, params=params)

    def get(self, key: str, default=None):
        value = self.data
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    def has(self, key: str) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def set(self, key: str, value):
        """An override from the command line (`--set settings.mini_batch_size=20`, `--name`)."""
        target = self.data
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise self.error(".".join(parts[: i + 1]), "'%(key)s' is not a mapping.", "wrong_type")
        target[parts[-1]] = value
        self.lines[key] = "--set"


_MISSING = object()


def _record_lines(doc: Document, node, prefix: str = ""):
    """The line of every mapping key; a key given twice is refused (PyYAML would silently keep the last)."""
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            doc.lines[key] = key_node.start_mark.line + 1
            if key in seen:
                raise doc.error(key, "'%(key)s' is given twice.", "duplicate_key")
            seen.add(key)
            _record_lines(doc, value_node, key)
    elif isinstance(node, yaml.SequenceNode):  # list items as key[0], key[1]...: a conda file's dependencies
        for index, item in enumerate(node.value):
            doc.lines[f"{prefix}[{index}]"] = item.start_mark.line + 1
            _record_lines(doc, item, f"{prefix}[{index}]")


def loads(text: str, source: str = "<yaml>", folder: Path | None = None, sets=()) -> Document:
    """Parse YAML text; `sets` are `key=value` strings applied on top (values are read as YAML)."""
    doc = Document(data={}, source=source, folder=Path(folder or Path.cwd()))
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        raise ValidationError(
            "%(where)s: this is not valid YAML: %(problem)s",
            code="invalid_yaml",
            params={"where": where, "problem": getattr(exc, "problem", None) or exc},
        ) from exc
    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise ValidationError(
            "%(where)s: the file must be a mapping of keys to values.", code="wrong_type", params={"where": source}
        )
    doc.data = data
    _record_lines(doc, node)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError("--set takes key=value, not '%(item)s'.", code="invalid_set", params={"item": item})
        doc.set(key.strip(), yaml.safe_load(value) if value.strip() else "")
    return doc


def load(path, sets=()) -> Document:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValidationError(
            "Cannot read %(path)s: %(error)s", code="file_unreadable", params={"path": path, "error": exc.strerror}
        ) from exc
    return loads(text, source=path.name, folder=path.resolve().parent, sets=sets)


# --- checking a document against a schema -------------------------------------------------------------


def _type_name(expected) -> str:
    if isinstance(expected, tuple):
        return " or ".join(_type_name(e) for e in expected)
    if isinstance(expected, dict) or expected is ANY_MAPPING:
        return "a mapping"
    return {str: "a string", int: "an integer", list: "a list", bool: "true or false"}[expected]


def _set_hint(doc: Document, path: str, expected) -> str:
    """How to write a list or a mapping in --set (a plain value there is a string)."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if doc.lines.get(path) != "--set":
        return ""
    if list in kinds:
        return " On the command line a list goes in brackets: --set %(key)s=[a,b]."
    if any(isinstance(kind, dict) or kind is ANY_MAPPING for kind in kinds):
        return " On the command line a mapping goes in braces: --set '%(key)s={name: value}'."
    return ""


def _matches(value, expected) -> bool:
    if isinstance(expected, tuple):
        return any(_matches(value, e) for e in expected)
    if isinstance(expected, dict):
        return isinstance(value, dict)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def check(doc: Document, schema: dict, data: dict | None = None, prefix: str = ""):
    """Refuse unknown keys and wrong types, naming the key and its line."""
    data = doc.data if data is None else data
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise doc.error(path, "unknown key '%(key)s'." + hint, "unknown_key")
        expected = schema[key]
        if not _matches(value, expected):
            raise doc.error(
                path,
                "'%(key)s' must be %(type)s." + _set_hint(doc, path, expected),
                "wrong_type",
                type=_type_name(expected),
            )
        nested = next(
            (
                e
                for e in (expected if isinstance(expected, tuple) else (expected,))
                if isinstance(e, dict) and isinstance(value, dict)
            ),
            None,
        )
        if nested is not None:
            check(doc, nested, value, path)


def _required(doc: Document, key: str) -> str:
    value = doc.get(key)
    if value in (None, ""):
        raise doc.error(key, "'%(key)s' is required.", "required")
    return value


def _clean(doc: Document, obj, keys: dict, exclude=()):
    """Model validation, with each field's error pointed at the YAML key it came from."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field_name, errors = next(iter(exc.error_dict.items()))
        key = keys.get(field_name, field_name)
        raise doc.error(
            key, "'%(key)s': %(problem)s", errors[0].code or "invalid", problem=" ".join(errors[0].messages)
        ) from exc
