"""`make bench` runs end to end at its smallest scale and prints every figure. No timing is asserted:
a benchmark reports, it does not fail CI, and this machine's speed is nobody's business here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = [
    "raw_rf_s",
    "job_rf_s",
    "ratio_rf",
    "raw_lr_s",
    "job_lr_s",
    "ratio_lr",
    "tuned_rf_s",
    "tuned_ratio_rf",
    "floor_rf_s",
    "floor_x_rf",
    "tuned_lr_s",
    "tuned_ratio_lr",
    "floor_lr_s",
    "floor_x_lr",
    "mlflow_predict_s",
    "mlflow_vs_job",
    "one_file_job_s",
    "overhead_ms",
    "tiny_job_s",
    "tiny_raw_s",
    "memory_1x_mb",
    "memory_10x_mb",
    "memory_growth",
    "memory_1x_tree_mb",
    "memory_10x_tree_mb",
    "memory_hwm_mb",
    "parquet_memory_mb",
    "schedule_first_s",
    "schedule_unchanged_s",
    "schedule_speedup",
    "split_whole_rf_s",
    "split_job_rf_s",
    "split_tuned_rf_s",
    "split_ratio_rf",
    "split_rf_minibatches",
    "split_whole_lr_s",
    "split_job_lr_s",
    "split_tuned_lr_s",
    "split_ratio_lr",
    "split_lr_minibatches",
    "first_job_cold_s",
    "first_job_warm_s",
    "warm_up_s",
]
LABELS = [
    "(a) raw ceiling, RandomForest",
    "(b) Batch Studio job, RandomForest",
    "(b)/(a) throughput, RandomForest",
    "(a) raw ceiling, LogisticRegression",
    "(b) Batch Studio job, LogisticRegression",
    "(t) tuned ceiling, RandomForest",
    "(f) floor, LogisticRegression",
    "(c) mlflow models predict --env-manager local",
    "1-file job submit->Completed",
    "per-mini-batch overhead",
    "peak RSS, largest worker process, RF job 1x input",
    "peak RSS, whole qcluster tree",
    "schedule run over 18 files: first (hashes each) / unchanged (lists)",
    "large files (4 x 20,000 rows), RandomForest: job without split / split_rows 5000",
    "large files (4 x 20,000 rows), LogisticRegression: job without split / split_rows 5000",
    "(b split)/(t) throughput, RandomForest",
    "first job on just-started workers, 1 file (RF, 2,000 rows): cold / warm start",
]


@pytest.mark.integration
@pytest.mark.bench
def test_the_benchmark_prints_every_figure():
    env = {k: v for k, v in os.environ.items() if k not in ("STUDIO_HOME", "DATABASE_URL", "SECRET_KEY")}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = proc.stdout
    for label in LABELS:
        assert label in out, f"{label!r} missing from:\n{out}"
    assert "ERROR" not in out, out
    summary = json.loads(
        next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))[len("BENCH_JSON ") :]
    )
    results = summary["results"]
    missing = [key for key in FIGURES if not isinstance(results.get(key), (int, float))]
    assert not missing, f"figures without a value: {missing}\n{out}"
    target_rows = [line for line in out.splitlines() if line.rstrip().endswith(("PASS", "MISS"))]
    # throughput, against the tuned ceiling and the floor (RF and LR), 1-file job, overhead, memory, Parquet memory,
    # large files split against the tuned ceiling (RF and LR), the first job with warm start
    assert len(target_rows) == 12, out
