"""python -m bench: parse the options, make a private data directory, run the figures, print the table."""

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict

import bench
from bench import FIGURES, say
from bench.report import report
from bench.runner import Bench
from bench.session import add_scale_arguments, private_home, scale_from


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=bench.__doc__.split("\n")[0])
    add_scale_arguments(parser)
    parser.add_argument("--only", help=f"comma-separated figures to measure, of: {', '.join(FIGURES)} (default all)")
    args = parser.parse_args(argv)
    if args.only:
        args.only = {name.strip() for name in args.only.split(",") if name.strip()}
        unknown = args.only - set(FIGURES)
        if unknown:
            parser.error(f"--only: unknown figure(s) {', '.join(sorted(unknown))}; choose from {', '.join(FIGURES)}")
    return args, scale_from(args, parser)


def main(argv=None) -> int:
    args, scale = parse_args(sys.argv[1:] if argv is None else argv)
    home = private_home()
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
