"""python -m bench.peers: the bench's RandomForest and LogisticRegression jobs, then the same work through each peer.

    python -m bench.peers                       # full scale (100 files x 10 000 rows), as make bench
    python -m bench.peers --quick --rounds 1    # smoke scale
    python -m bench.peers --peers ray --peers-python var/bench-peers-venv/bin/python

The jobs run first (with the raw and tuned ceilings and the floor, alternating, best of `rounds`, as `make bench`
does); then the qcluster stops, so that each peer has the machine the job had, and each peer's runner runs in the
peers' venv over the same files and the same saved models. It reports; it never fails because of a figure.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict

from bench import COLUMNS, LR, RF, ROOT, say
from bench.peers import PEERS, parse_output
from bench.peers.report import peers_report, record
from bench.runner import Bench
from bench.session import add_scale_arguments, private_home, scale_from

DEFAULT_PYTHON = ROOT / "var" / "bench-peers-venv" / "bin" / "python"
KEYS = {"rf": RF, "lr": LR}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.split("\n")[0])
    add_scale_arguments(parser)
    parser.add_argument(
        "--peers-python",
        default=os.environ.get("BENCH_PEERS_PYTHON", str(DEFAULT_PYTHON)),
        help="the python of the peers' venv (make bench-peers makes var/bench-peers-venv)",
    )
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated, of: {', '.join(PEERS)}")
    args = parser.parse_args(argv)
    args.peers = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = sorted(set(args.peers) - set(PEERS))
    if unknown or not args.peers:
        parser.error(f"--peers: unknown peer(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(PEERS)}")
    if not os.access(args.peers_python, os.X_OK):
        parser.error(f"--peers-python: {args.peers_python} is not there; `make bench-peers` makes the peers' venv")
    return args, scale_from(args, parser)


def spec_for(bench: Bench, peer: str) -> dict:
    s = bench.scale
    return {
        "peer": peer,
        "processes": s.workers,
        "rounds": s.rounds,
        "columns": COLUMNS,
        "files": [str(bench._local(p)) for p in bench.data_files],
        "warm_files": [str(bench._local(p)) for p in bench.warm_files],
        "rows": s.files * s.rows,
        "out": str(bench.home / f"peer-{peer}"),
        "models": {key: str(bench.models[name].local_dir) for key, name in KEYS.items()},
    }


def run_peer(bench: Bench, peer: str, python: str, timeout: float = 3600) -> dict:
    """Run one peer's runner in the peers' venv over a spec of the bench's files and models: its parsed output."""
    spec_path = bench.home / f"peer-{peer}.json"
    spec_path.write_text(json.dumps(spec_for(bench, peer)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # Ray's and Spark's worker processes import bench.peers too
    log = bench.home / f"peer-{peer}.log"
    say(f"{peer}: running bench/peers/{peer}_run.py in {python}")
    with open(log, "w") as err:
        proc = subprocess.run(
            [python, "-m", f"bench.peers.{peer}_run", str(spec_path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=timeout,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {log.read_text(errors='replace')[-3000:]}")
    return parse_output(proc.stdout)


def main(argv=None) -> int:
    args, scale = parse_args(sys.argv[1:] if argv is None else argv)
    home = private_home()
    bench = Bench(scale, home)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        bench.setup()
        bench.measure({"rf", "lr"})
        bench.close_pools()
        bench.stop_qcluster()
        for peer in args.peers:
            bench.guard(peer, lambda peer=peer: record(bench.results, peer, run_peer(bench, peer, args.peers_python)))
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
    print(peers_report(bench.results, scale, args.peers, load_before, os.getloadavg()[0], bench.notes))
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    print("BENCH_JSON " + json.dumps({"scale": asdict(scale), "results": bench.results, "notes": bench.notes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
