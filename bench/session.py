"""What `python -m bench` and `python -m bench.peers` share: the scale options and a private data directory."""

import argparse
import os
import secrets
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench import ROOT, SCALES, Scale


def add_scale_arguments(parser: argparse.ArgumentParser):
    parser.add_argument("--quick", action="store_true", help="smoke scale (same as BENCH_SCALE=quick)")
    parser.add_argument("--workers", type=int, help="qcluster workers = raw-ceiling processes (default 2)")
    for name in ("files", "rows", "tiny-files", "rounds"):
        parser.add_argument(f"--{name}", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")


def scale_from(args, parser: argparse.ArgumentParser) -> Scale:
    scale_name = "quick" if args.quick else os.environ.get("BENCH_SCALE", "full")
    if scale_name not in SCALES:
        parser.error(f"BENCH_SCALE must be one of {', '.join(SCALES)}")
    scale = Scale(**asdict(SCALES[scale_name]))
    scale.workers = args.workers or int(os.environ.get("BENCH_WORKERS", scale.workers))
    for name in ("files", "rows", "tiny_files", "rounds"):
        if getattr(args, name) is not None:
            setattr(scale, name, getattr(args, name))
    return scale


def private_home() -> Path:
    """A temporary data directory with its own database and registry, set before Django reads its settings."""
    home = Path(tempfile.mkdtemp(prefix="studio-bench-"))
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
    return home
