"""The table `python -m bench.peers` prints: each peer's time beside the Batch Studio job's, and how many times faster
the job is."""

import os

from bench import COLUMNS, Scale
from bench.peers import PEERS
from bench.report import verdict

MODELS = (("rf", "RandomForest"), ("lr", "LogisticRegression"))
NAMES = {"ray": "Ray Data map_batches", "spark": "Spark local[N] spark_udf"}


def record(results: dict, peer: str, output: dict):
    """A runner's output into results: {peer}_{key}_s (best round), {peer}_x_{key} = peer / job (how many times
    faster the job is), and the peer's version."""
    results[f"{peer}_version"] = output.get("version", "?")
    results[f"{peer}_startup_s"] = output.get("startup_s")
    for key, figures in output.get("results", {}).items():
        best = min(figures["times"])
        results[f"{peer}_{key}_s"] = best
        job = results.get(f"job_{key}_s")
        if isinstance(job, (int, float)) and job > 0:
            results[f"{peer}_x_{key}"] = best / job


def peers_report(results: dict, scale: Scale, peers, load_before: float, load_after: float, notes=()) -> str:
    rows_total = scale.files * scale.rows

    def num(key, fmt):
        value = results.get(key)
        return fmt.format(value) if isinstance(value, (int, float)) else "n/a"

    def timed(key):
        value = results.get(key)
        if not isinstance(value, (int, float)) or value <= 0:
            return "n/a"
        return f"{value:.2f} s {rows_total / value:>13,.0f} rows/s"

    lines = [
        f"Batch Studio against its peers: {scale.files} files x {scale.rows:,} rows x {len(COLUMNS)} float columns "
        f"({rows_total:,} rows), {scale.workers} processes each, best of {scale.rounds} round(s)",
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.2f} before, {load_after:.2f} after",
    ]
    for peer in peers:
        lines.append(
            f"{peer}: {results.get(f'{peer}_version', '?')}, {PEERS[peer]}".replace("[N]", f"[{scale.workers}]")
        )
    lines += [
        "",
        f"{'figure':<68} {'value':>24}  {'target':>9}  result",
        f"{'-' * 68} {'-' * 24}  {'-' * 9}  ------",
    ]

    def row(label, value, key=None):
        target, result = verdict(key, results.get(key)) if key else ("", "")
        lines.append(f"{label:<68} {value:>24}  {target:>9}  {result}".rstrip())

    for key, name in MODELS:
        row(f"(b) Batch Studio job, {name}: real queue, warm workers", timed(f"job_{key}_s"))
        row(f"(t) tuned ceiling, {name}: pyarrow read + pyfunc + pyarrow write", timed(f"tuned_{key}_s"))
        for peer in peers:
            label = NAMES[peer].replace("[N]", f"[{scale.workers}]")
            row(f"{label}, {name}", timed(f"{peer}_{key}_s"))
            row(
                f"    {label.split()[0]} / Batch Studio: times faster the job is",
                num(f"{peer}_x_{key}", "{:.2f}x"),
                f"{peer}_x_{key}",
            )
    for peer in peers:
        row(f"{NAMES[peer].split()[0]} start (not timed above)", num(f"{peer}_startup_s", "{:.1f} s"))
    for key, value in results.items():
        if key.startswith("error_"):
            lines.append(f"ERROR {key[6:]}: {value}")
    for note in notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
