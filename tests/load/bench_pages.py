"""`make bench` (second part): how long the list pages take over 10 000 jobs, and how many SQL queries they cost.

Self-contained: a temporary data directory and a fresh database (SQLite by default; with DATABASE_URL pointing at
PostgreSQL, a throw-away database `bench_pages_<pid>` on that server, dropped at the end). Requests go through
Django's test client in this process (no network, no server), signed in, like a browser's first visit.
It reports; it never fails on a figure: a benchmark measures, the tests assert behaviour.

    python -m tests.load.bench_pages                    # 10 000 jobs, 30 requests per page, SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/studio python -m tests.load.bench_pages
    python -m tests.load.bench_pages --jobs 1000 --requests 5   # smoke scale

Prints one line per page (median, 90th percentile, max; the median CPU time of this process, which the
machine's load changes less; SQL queries) and a final `BENCH_JSON {...}` line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "iris-endpoint"
PAGES = {"Runs tab": "/endpoints/{name}/runs/", "Jobs": "/jobs/", "Home": "/"}


def add_jobs(endpoint, n, start=0):
    """`n` jobs of one endpoint, inserted in bulk: statuses cycle Completed, Failed, Running, Queued, Canceled; the
    Running ones have a finished mini-batch each (what the throughput column reads)."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs.models import FINISHED, BatchJob, MiniBatch, Status

    statuses = [Status.COMPLETED, Status.FAILED, Status.RUNNING, Status.QUEUED, Status.CANCELED]
    dep = endpoint.default_deployment
    now = timezone.now()
    jobs = []
    for i in range(start, start + n):
        status = statuses[i % len(statuses)]
        jobs.append(
            BatchJob(
                name=f"batchjob-load-{i:06d}",
                endpoint=endpoint,
                deployment=dep,
                endpoint_name=endpoint.name,
                deployment_name=dep.name,
                model_uri=f"models:/{dep.model_name}/{dep.model_version}",
                input_uri="azureml://datastores/workspaceblobstore/paths/demo/iris",
                output_datastore="workspaceblobstore",
                output_path=f"jobs/batchjob-load-{i:06d}",
                status=status,
                settings={"output_file_name": "predictions.csv", "mini_batch_size": 10},
                files_total=20,
                mini_batches_total=2,
                mini_batches_done=1,
                rows_out=300,
                started=None if status == Status.QUEUED else now - timedelta(seconds=60),
                finished=now if status in FINISHED else None,
            )
        )
    jobs = BatchJob.objects.bulk_create(jobs, batch_size=1000)
    MiniBatch.objects.bulk_create(
        [
            MiniBatch(
                job_id=job.pk,
                index=0,
                status=MiniBatch.COMPLETED,
                rows_out=300,
                started=now - timedelta(seconds=50),
                finished=now - timedelta(seconds=10),
            )
            for job in jobs
            if job.status == Status.RUNNING
        ],
        batch_size=1000,
    )


def _throwaway_postgres(url: str) -> tuple[str, callable]:
    """A fresh database on the server `url` names; returns its URL and a function that drops it."""
    import psycopg

    parts = urlsplit(url)
    name = f"bench_pages_{os.getpid()}"
    admin = dict(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        from django.db import connections

        connections.close_all()
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def _setup(home: Path) -> callable:
    url = os.environ.get("DATABASE_URL", "")
    drop = lambda: None  # noqa: E731
    if url.startswith("postgres"):
        url, drop = _throwaway_postgres(url)
    else:
        url = f"sqlite:///{home / 'bench.sqlite3'}"
    os.environ.update(STUDIO_HOME=str(home), DATABASE_URL=url, DJANGO_SETTINGS_MODULE="studio.settings")
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return drop


def measure(client, url: str, requests: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    queries = len(ctx.captured_queries)  # now: the next request empties the connection's query log
    timings, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        timings.append(1000 * (time.perf_counter() - started))
        cpu.append(1000 * (time.process_time() - started_cpu))
    timings.sort()
    return {
        "queries": queries,
        "median_ms": round(statistics.median(timings), 1),
        "p90_ms": round(timings[int(0.9 * (len(timings) - 1))], 1),
        "max_ms": round(timings[-1], 1),
        "cpu_median_ms": round(statistics.median(cpu), 1),
        "requests": requests,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        drop = _setup(Path(tmp))
        try:
            from django.contrib.auth import get_user_model
            from django.db import connection
            from django.test import Client

            from endpoints.models import BatchDeployment, BatchEndpoint
            from workspace import roles

            user = get_user_model().objects.create_user("bench", password="bench-pass-1")
            roles.assign(user, roles.READER)  # the pages as most people see them
            endpoint = BatchEndpoint.objects.create(name=ENDPOINT)
            endpoint.set_default(
                BatchDeployment.objects.create(endpoint=endpoint, name="blue", model_name="iris", model_version="1")
            )
            add_jobs(endpoint, args.jobs)
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:
                    cur.execute("ANALYZE")
            client = Client()
            client.force_login(user)
            results = {}
            print(
                f"{args.jobs} jobs, {connection.vendor}, {args.requests} requests per page (Django test client, "
                f"in-process), load average {os.getloadavg()[0]:.1f}"
            )
            for label, page in PAGES.items():
                results[label] = measure(client, page.format(name=ENDPOINT), args.requests)
                r = results[label]
                print(
                    f"  {label:<9} first page: median {r['median_ms']:6.1f} ms  p90 {r['p90_ms']:6.1f} ms  "
                    f"max {r['max_ms']:6.1f} ms  (CPU {r['cpu_median_ms']:5.1f} ms)  {r['queries']} SQL queries"
                )
            print(
                "BENCH_JSON "
                + json.dumps(
                    {
                        "jobs": args.jobs,
                        "db": connection.vendor,
                        "load_average": round(os.getloadavg()[0], 1),
                        "pages": results,
                    }
                )
            )
        finally:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
