"""python -m bench: parse the options, make a private data directory, run the figures, print the table."""

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import bench
from bench import FIGURES, ROOT, SCALES, Scale, say
from bench.report import report
from bench.runner import Bench


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=bench.__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke scale (same as BENCH_SCALE=quick)")
    parser.add_argument("--workers", type=int, help="qcluster workers = raw-ceiling processes (default 2)")
    for name in ("files", "rows", "tiny-files", "rounds"):
        parser.add_argument(f"--{name}", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--only", help=f"comma-separated figures to measure, of: {', '.join(FIGURES)} (default all)")
    args = parser.parse_args(argv)
    if args.only:
        args.only = {name.strip() for name in args.only.split(",") if name.strip()}
        unknown = args.only - set(FIGURES)
        if unknown:
            parser.error(f"--only: unknown figure(s) {', '.join(sorted(unknown))}; choose from {', '.join(FIGURES)}")
    scale_name = "quick" if args.quick else os.environ.get("BENCH_SCALE", "full")
    if scale_name not in SCALES:
        parser.error(f"BENCH_SCALE must be one of {', '.join(SCALES)}")
    scale = Scale(**asdict(SCALES[scale_name]))
    scale.workers = args.workers or int(os.environ.get("BENCH_WORKERS", scale.workers))
    for name in ("files", "rows", "tiny_files", "rounds"):
        if getattr(args, name) is not None:
            setattr(scale, name, getattr(args, name))
    return args, scale


def main(argv=None) -> int:
    args, scale = parse_args(sys.argv[1:] if argv is None else argv)
    home = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    # Our own data directory, database and registry: set before Django reads its settings.
    os.environ.update(
        STUDIO_HOME=str(home),
        DATABASE_URL=f"sqlite:///{home / 'bench.sqlite3'}",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="studio.settings",
    )
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "REDIS_URL", "Q_CLUSTER_NAME"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    bench = Bench(scale, home)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        bench.setup()
        bench.measure(args.only)
    except Exception as exc:
        say(f"the benchmark could not run: {type(exc).__name__}: {exc}\n{bench.qcluster_tail()}")
        return 1
    finally:
        bench.close_pools()
        bench.stop_qcluster()
        if args.keep:
            say(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    print(report(bench, scale, load_before, os.getloadavg()[0]))
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    print("BENCH_JSON " + json.dumps({"scale": asdict(scale), "results": bench.results, "notes": bench.notes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
