"""`make bench`: how close a Batch Studio job comes to the raw ceiling, and what the machinery around it costs.

Self-contained: a temporary data directory, a fresh SQLite database, two models registered in its own MLflow
registry, generated CSV files in its default datastore, and a real `manage.py qcluster` with warm workers. It
uses only public entry points (submit_job, the queue, the registry, the datastore client), so it keeps working
while the engine changes. It reports; it never fails: the exit status is 0 whenever the figures were printed.

    python -m bench            # full scale: 100 files x 10 000 rows x 10 float columns
    python -m bench --quick    # smoke scale (BENCH_SCALE=quick does the same); its time is mostly fixed costs
    python -m bench --only one-file,overhead   # only some figures (see FIGURES)

What each figure means is in docs/PERFORMANCE.md.
"""

import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = [f"f{i}" for i in range(10)]
RF, LR = "bench-random-forest", "bench-logistic"


@dataclass
class Scale:
    files: int = 100  # input files of the throughput jobs
    rows: int = 10_000  # rows per file
    tiny_files: int = 1000  # files of the per-mini-batch overhead job (mini_batch_size 1)
    tiny_rows: int = 10
    memory_factor: int = 10  # the memory job reads this many times the throughput input
    parquet_rows: int = 2_000_000  # rows of the one Parquet file of the Parquet memory job (x 51 float columns)
    split_files: int = 10  # large CSV files of the split figure (all in one mini-batch without splitting)
    split_rows_per_file: int = 100_000
    mini_batch_size: int = 10
    rounds: int = 3  # (a) and (b) alternate this many times; the best of each counts
    one_file_repeats: int = 5
    workers: int = 2


SCALES = {
    "full": Scale(),
    "quick": Scale(
        files=6,
        rows=2000,
        tiny_files=20,
        memory_factor=3,
        parquet_rows=200_000,
        split_files=4,
        split_rows_per_file=20_000,
        mini_batch_size=2,
        rounds=1,
        one_file_repeats=2,
    ),
}

# --only's names -> Bench method measuring them, in the order they run
FIGURES = {
    "one-file": "measure_one_file",
    "rf": "measure_rf",
    "lr": "measure_lr",
    "memory": "measure_memory",
    "parquet": "measure_parquet",
    "overhead": "measure_overhead",
    "mlflow": "measure_mlflow_predict",
    "schedule": "measure_schedule",
    "split": "measure_split",
    "first-job": "measure_first_job",  # last: it restarts the qcluster
}

# issue 3's targets: figure -> (comparison, limit)
TARGETS = {
    "ratio_rf": (">=", 0.85),  # (b)/(a) throughput, RandomForest
    "one_file_job_s": ("<=", 1.0),
    "overhead_ms": ("<=", 30.0),
    "memory_growth": ("<=", 1.2),  # peak RSS at 10x input / at 1x: "flat" means within 20 %
    # issue 18's: against the tuned ceiling (pyarrow read + pyfunc + pyarrow write) and the floor (predict alone)
    "tuned_ratio_rf": (">=", 0.90),
    "tuned_ratio_lr": (">=", 0.90),
    "floor_x_rf": ("<=", 1.7),
    "floor_x_lr": ("<=", 6.0),
    "parquet_memory_mb": ("<=", 1024.0),
    # issue 18's: large files split into ranges (split_rows) on every worker, against the tuned ceiling on the files
    "split_ratio_rf": (">=", 0.95),
    "split_ratio_lr": (">=", 0.95),
    "first_job_warm_s": (
        "<=",
        3.0,
    ),  # the first job on just-started workers, warm_start on  # peak RSS of the largest process scoring the one Parquet file
    # issue 18's against the peers (make bench-peers): the peer's time / the job's, on the same work
    "ray_x_rf": (">=", 3.0),
    "ray_x_lr": (">=", 3.0),
    "spark_x_rf": (">=", 3.0),
    "spark_x_lr": (">=", 3.0),
}


def say(message: str):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
