"""`make bench-peers`: the bench's RandomForest and LogisticRegression work through Ray Data and Spark, side by side
with the Batch Studio job (docs/PERFORMANCE.md, "Peers").

Ray and PySpark are no dependency of the product: they live only in the peers' own venv (var/bench-peers-venv, which
`make bench-peers` makes), and only the plain scripts `bench/peers/ray_run.py` and `bench/peers/spark_run.py` import
them, run by that venv's python (`python -m bench.peers.ray_run SPEC.json`). `python -m bench.peers`, in the product's
venv, sets up the bench, measures the jobs, writes each peer a JSON spec of the same files and models, runs it and
prints the table.

This module is what both sides share, and imports nothing beyond the standard library: the spec a peer runner reads
(and its command line), and the measuring loop it runs (a warm-up on small files, then `rounds` timed runs of the
whole pipeline).

A spec:

    {"peer": "ray", "processes": 2, "rounds": 3, "columns": ["f0", ...], "files": ["/abs/part-0000.csv", ...],
     "warm_files": ["/abs/warm-000.csv", ...], "rows": 1000000, "out": "/abs/peer-out",
     "models": {"rf": "/abs/trained/bench-random-forest", "lr": "/abs/trained/bench-logistic"}}

A runner prints one line `PEER_JSON {"peer", "version", "startup_s", "results": {key: {"times": [...], "rows"}}}`.
"""

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PEERS = {
    "ray": "Ray Data read_csv -> map_batches(pyfunc) -> write_csv",
    "spark": "Spark local[N] read.csv -> mlflow.pyfunc.spark_udf -> write.csv",
}
MARKER = "PEER_JSON "


class SpecError(ValueError):
    """A spec a runner cannot run: the message says which field and why."""


@dataclass
class Spec:
    peer: str
    processes: int
    rounds: int
    columns: list[str]
    files: list[str]
    warm_files: list[str]
    rows: int
    out: Path
    models: dict[str, str]


def _positive_int(data: dict, name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"{name}: a whole number of at least 1, not {value!r}")
    return value


def _paths(data: dict, name: str, check) -> list[str]:
    value = data.get(name)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise SpecError(f"{name}: a non-empty list of paths")
    missing = [item for item in value if not check(item)]
    if missing:
        raise SpecError(f"{name}: {len(missing)} not found, the first {missing[0]}")
    return value


def parse_spec(data) -> Spec:
    """The spec, checked: every field present and of its type, every file there, every model a folder with MLmodel."""
    if not isinstance(data, dict):
        raise SpecError("the spec is a JSON object")
    peer = data.get("peer")
    if peer not in PEERS:
        raise SpecError(f"peer: one of {', '.join(PEERS)}, not {peer!r}")
    columns = data.get("columns")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c for c in columns):
        raise SpecError("columns: a non-empty list of column names")
    models = data.get("models")
    if not isinstance(models, dict) or not models or not all(isinstance(v, str) for v in models.values()):
        raise SpecError("models: an object of name -> MLflow model folder")
    for key, folder in models.items():
        if not (Path(folder) / "MLmodel").is_file():
            raise SpecError(f"models.{key}: {folder} is no MLflow model folder (no MLmodel file)")
    out = data.get("out")
    if not isinstance(out, str) or not out:
        raise SpecError("out: the folder the predictions are written under")
    return Spec(
        peer=peer,
        processes=_positive_int(data, "processes"),
        rounds=_positive_int(data, "rounds"),
        columns=columns,
        files=_paths(data, "files", os.path.isfile),
        warm_files=_paths(data, "warm_files", os.path.isfile),
        rows=_positive_int(data, "rows"),
        out=Path(out),
        models=models,
    )


def load_spec(path: str) -> Spec:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"cannot read the spec {path}: {exc}") from exc
    return parse_spec(data)


def spec_from_argv(runner: str, argv) -> Spec | None:
    """The spec a runner's one argument names (`python -m bench.peers.<runner> SPEC.json`); None when there is no
    such one argument or the spec does not hold, the usage or the spec's error printed on stderr (exit status 2)."""
    if len(argv) != 1:
        print(f"usage: python -m bench.peers.{runner} SPEC.json", file=sys.stderr)
        return None
    try:
        return load_spec(argv[0])
    except SpecError as exc:
        print(f"{runner}: {exc}", file=sys.stderr)
        return None


def count_rows(folder: Path) -> int:
    """Rows of every CSV part a peer wrote under folder (each part has its header line; Spark's _SUCCESS and .crc
    files are not parts)."""
    rows = 0
    for part in folder.rglob("*"):
        if part.is_file() and not part.name.startswith(("_", ".")):
            with open(part, "rb") as fh:
                rows += max(0, sum(1 for _ in fh) - 1)
    return rows


# a pipeline: (model key, input files, output folder) -> None, the whole read -> predict -> write of the files
Pipeline = Callable[[str, list[str], Path], None]


def measure(spec: Spec, pipeline: Pipeline, say=None) -> dict:
    """Per model: a warm-up run over the warm files (the peer's processes started, the model loaded wherever the peer
    keeps it), then `rounds` timed runs over the files; the rows written are checked after the last."""
    results = {}
    for key in spec.models:
        warm = spec.out / f"warm-{key}"
        shutil.rmtree(warm, ignore_errors=True)  # every run writes into a folder of its own, new
        pipeline(key, spec.warm_files, warm)
        times = []
        for round_ in range(spec.rounds):
            out = spec.out / key
            shutil.rmtree(out, ignore_errors=True)
            started = time.perf_counter()
            pipeline(key, spec.files, out)
            times.append(time.perf_counter() - started)
            if say:
                say(f"{spec.peer} {key}: round {round_ + 1}/{spec.rounds}: {times[-1]:.2f} s")
        rows = count_rows(spec.out / key)
        if rows != spec.rows:
            raise RuntimeError(f"{spec.peer} {key}: wrote {rows} rows, not {spec.rows}")
        results[key] = {"times": times, "rows": rows}
    return results


def say(message: str):
    print(f"[bench-peers {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(peer: str, version: str, startup_s: float, results: dict):
    print(MARKER + json.dumps({"peer": peer, "version": version, "startup_s": startup_s, "results": results}))


def parse_output(stdout: str) -> dict:
    """The runner's PEER_JSON line, parsed (ValueError when there is none)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise ValueError("the runner printed no PEER_JSON line")
