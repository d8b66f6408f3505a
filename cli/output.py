"""The `az` command line's output: `--query` (JMESPath, as Azure's CLI) then `-o json|jsonc|tsv|table|yaml|none`.

The formats follow Azure's CLI (knack): json is indented with sorted keys; tsv prints one line per list item, a
mapping's values in key order, tab-separated (a nested mapping is empty, a nested list its length); table puts
the scalar keys of each mapping in columns."""

import json

import jmespath
import yaml
from django.core.management.base import CommandError
from jmespath.exceptions import JMESPathError

FORMATS = ("json", "jsonc", "tsv", "table", "yaml", "yamlc", "none")


def query(data, expression: str | None):
    if not expression:
        return data
    try:
        return jmespath.search(expression, data)
    except JMESPathError as exc:
        raise CommandError(f"argument --query: invalid jmespath_type value: {expression!r} ({exc})") from exc


def _tsv_value(value) -> str:
    if isinstance(value, dict):
        return ""
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _tsv_row(item) -> str:
    if isinstance(item, dict):
        return "\t".join(_tsv_value(v) for _, v in sorted(item.items()))
    if isinstance(item, list):
        return "\t".join(_tsv_value(v) for v in item)
    return _tsv_value(item)


def tsv(data) -> str:
    rows = data if isinstance(data, list) else [data]
    return "".join(_tsv_row(row) + "\n" for row in rows)


def _header(key: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in key.replace("-", "_").split("_"))


def table(data) -> str:
    rows = data if isinstance(data, list) else [data]
    rows = [row if isinstance(row, dict) else {"Result": row} for row in rows]
    columns = list(dict.fromkeys(k for row in rows for k, v in row.items() if not isinstance(v, dict | list)))
    if not columns:
        return ""
    cells = [[_tsv_value(row.get(c)) for c in columns] for row in rows]
    headers = [_header(c) for c in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render(data, fmt: str = "json", expression: str | None = None) -> str:
    """The text a command prints for `data` (JSON-able: dates become strings) under --query and -o."""
    data = query(json.loads(json.dumps(data, default=str)), expression)
    if fmt == "none":
        return ""
    if fmt in ("tsv",):
        return tsv(data)
    if fmt == "table":
        return table(data)
    if fmt in ("yaml", "yamlc"):
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return json.dumps(data, indent=2, sort_keys=True, default=str, ensure_ascii=False) + "\n"
