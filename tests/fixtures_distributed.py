"""Is distributed mode possible here? `python -m tests.fixtures_distributed DATABASE_URL REDIS_URL`

Exits 0 when both PostgreSQL and Redis answer; otherwise prints "distributed mode skipped: <why>" and exits 1.
The Makefile's `test` target runs the integration tests a second time, on PostgreSQL + Redis, only when this says yes.
"""

import sys
from urllib.parse import urlsplit


def postgres_problem(url: str) -> str | None:
    import psycopg

    parts = urlsplit(url)
    try:
        with psycopg.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 5432,
            user=parts.username or None,
            password=parts.password or None,
            dbname="postgres",
            connect_timeout=3,
        ) as conn:
            conn.execute("select 1")
    except Exception as exc:
        why = " ".join(str(exc).split())[:200]
        return f"PostgreSQL at {parts.hostname}:{parts.port or 5432} is not reachable ({type(exc).__name__}: {why})"
    return None


def redis_problem(url: str) -> str | None:
    import redis

    try:
        redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except Exception as exc:
        return f"Redis at {urlsplit(url).netloc} is not reachable ({type(exc).__name__}: {exc})"
    return None


def main(argv):
    database_url, redis_url = argv[1], argv[2]
    problems = [p for p in (postgres_problem(database_url), redis_problem(redis_url)) if p]
    if problems:
        print("distributed mode skipped: " + "; ".join(problems), flush=True)
        return 1
    print(f"distributed mode: {urlsplit(database_url).netloc} + {redis_url}, two qcluster processes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))


# Helpers for the fault and load tests (imported lazily: this module must also run without Django set up).

ROWS_PER_FILE = 30


def write_iris_files(store, folder: str, files: int, prefix: str = "iris-"):
    """`files` CSV files of 30 iris rows each (the dataset's 150 rows, cycled); returns the folder's URI."""
    from sklearn.datasets import load_iris

    X = load_iris(as_frame=True).data
    for i in range(files):
        start = (i % 5) * ROWS_PER_FILE
        store.client().write(
            f"{folder}/{prefix}{i + 1:05d}.csv", X.iloc[start : start + ROWS_PER_FILE].to_csv(index=False).encode()
        )
    return store.uri(folder)


def count_rows(job) -> dict:
    """Rows expected, found, lost and duplicated in a job's predictions.csv (keyed by file name and row)."""
    import io

    import pandas as pd

    from workspace.models import Datastore

    expected = job.files_total * ROWS_PER_FILE
    store = Datastore.objects.get(name=job.output_datastore).client()
    if not store.exists(job.output_file_path):
        return {"expected": expected, "found": 0, "lost": expected, "duplicated": 0}
    out = pd.read_csv(io.BytesIO(store.read_bytes(job.output_file_path)))
    duplicated = int(out.duplicated(["file_name", "row"]).sum())
    unique = len(out) - duplicated
    return {"expected": expected, "found": len(out), "lost": expected - unique, "duplicated": duplicated}


def record(name: str, figures):
    """Append measured figures to $RELIABILITY_FIGURES (a JSON-lines file), when set; docs/RELIABILITY.md quotes them."""
    import json
    import os
    import time

    path = os.environ.get("RELIABILITY_FIGURES")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps({"test": name, "at": time.strftime("%Y-%m-%d %H:%M:%S"), "figures": figures}) + "\n")
