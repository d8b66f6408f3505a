"""`make bench`: how close a Batch Studio job comes to the raw ceiling, and what the machinery around it costs.

Self-contained: a temporary data directory, a fresh SQLite database, two models registered in its own MLflow
registry, generated CSV files in its default datastore, and a real `manage.py qcluster` with warm workers. It
uses only public entry points (submit_job, the queue, the registry, the datastore client), so it keeps working
while the engine changes. It reports; it never fails: the exit status is 0 whenever the figures were printed.

    python -m jobs.bench            # full scale: 100 files x 10 000 rows x 10 float columns
    python -m jobs.bench --quick    # smoke scale (BENCH_SCALE=quick does the same); its time is mostly fixed costs

What each figure means is in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
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
    mini_batch_size: int = 10
    rounds: int = 2  # (a) and (b) alternate this many times; the best of each counts
    one_file_repeats: int = 5
    workers: int = 2


SCALES = {
    "full": Scale(),
    "quick": Scale(files=6, rows=2000, tiny_files=20, memory_factor=3, mini_batch_size=2, rounds=1, one_file_repeats=2),
}

# issue 3's targets: figure -> (comparison, limit)
TARGETS = {
    "ratio_rf": (">=", 0.85),  # (b)/(a) throughput, RandomForest
    "one_file_job_s": ("<=", 1.0),
    "overhead_ms": ("<=", 30.0),
    "memory_growth": ("<=", 1.2),  # peak RSS at 10x input / at 1x: "flat" means within 20 %
}


def say(message: str):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- (a) the raw ceiling: plain pandas + pyfunc in a process pool ---------------------------------------------------

_RAW_MODEL = None


def _raw_init(model_dir: str, ready):
    global _RAW_MODEL
    import mlflow.pyfunc
    import pandas as pd

    _RAW_MODEL = mlflow.pyfunc.load_model(model_dir)
    _RAW_MODEL.predict(pd.DataFrame([[0.0] * len(COLUMNS)] * 5, columns=COLUMNS))
    ready.put(os.getpid())


def _raw_score(task):
    import numpy as np
    import pandas as pd

    src, dst = task
    frame = pd.read_csv(src)
    predictions = np.asarray(_RAW_MODEL.predict(frame)).reshape(-1)
    pd.DataFrame({"row": np.arange(len(frame)), "prediction": predictions, "file_name": os.path.basename(src)}).to_csv(
        dst, index=False)
    return len(frame)


def _join(parts: list[Path], target: Path):
    with open(target, "wb") as out:
        for i, part in enumerate(parts):
            with open(part, "rb") as fh:
                header = fh.readline()
                if i == 0:
                    out.write(header)
                shutil.copyfileobj(fh, out, 1 << 20)


class RawPool:
    """N warm processes, each holding the model, like N warm workers."""

    def __init__(self, model_dir: Path, processes: int):
        import multiprocessing

        # fork: the children start with mlflow already imported, so only the model load is left to wait for.
        ctx = multiprocessing.get_context("fork")
        ready = ctx.Queue()
        self.pool = ctx.Pool(processes, initializer=_raw_init, initargs=(str(model_dir), ready))
        for _ in range(processes):
            ready.get(timeout=300)

    def run(self, files: list[Path], out_dir: Path) -> tuple[float, int]:
        """Read, predict and write every file, then join the parts in order: (seconds, rows)."""
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        parts = [out_dir / f"part-{i:06d}.csv" for i in range(len(files))]
        started = time.perf_counter()
        rows = sum(self.pool.imap_unordered(_raw_score, list(zip(map(str, files), map(str, parts))), chunksize=1))
        _join(parts, out_dir / "predictions.csv")
        return time.perf_counter() - started, rows

    def close(self):
        self.pool.terminate()
        self.pool.join()


# --- the qcluster process tree and its memory ----------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.extend(int(c) for c in fh.read().split())
    except OSError:
        pass
    return out


def process_tree(root: int) -> list[int]:
    try:
        import psutil

        proc = psutil.Process(root)
        return [root] + [c.pid for c in proc.children(recursive=True)]
    except ImportError:
        pass
    except Exception:
        return []
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(_children(pid))
    return seen


def memory_kb(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of one process in kB; (0, 0) if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return 0, 0


class MemorySampler:
    """Samples the RSS of every process in the qcluster tree while a job runs."""

    def __init__(self, root_pid: int, interval: float = 0.1):
        self.root, self.interval = root_pid, interval
        self.peak_process_kb = self.peak_tree_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self):
        rss = [memory_kb(pid)[0] for pid in process_tree(self.root)]
        if rss:
            self.peak_process_kb = max(self.peak_process_kb, max(rss))
            self.peak_tree_kb = max(self.peak_tree_kb, sum(rss))

    def _loop(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def high_water_kb(self) -> int:
        """The largest VmHWM (peak RSS since the process started) in the tree now."""
        return max((memory_kb(pid)[1] for pid in process_tree(self.root)), default=0)


# --- the benchmark --------------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, scale: Scale, home: Path):
        self.scale, self.home = scale, home
        self.results: dict[str, float | str] = {}
        self.notes: list[str] = []
        self.qcluster = None
        self.qcluster_log = home / "qcluster.log"
        self.pools: dict[str, RawPool] = {}

    # setup -------------------------------------------------------------------------------------------------------
    def setup(self):
        import numpy as np
        from django.core.management import call_command

        from endpoints.models import BatchDeployment, BatchEndpoint
        from studio.models import Datastore

        call_command("migrate", verbosity=0, interactive=False)
        call_command("createcachetable", verbosity=0)
        self.start_qcluster()  # it boots while the files and models are made; nothing is timed before it is warm
        self.store_model = Datastore.get_default()
        self.store = self.store_model.client()
        s = self.scale

        say(f"generating {s.files} files x {s.rows} rows x {len(COLUMNS)} float columns")
        rng = np.random.default_rng(0)
        self.data_files = [f"bench/data/part-{i:04d}.csv" for i in range(s.files)]
        for path in self.data_files:
            self.store.write(path, self._csv(rng.normal(size=(s.rows, len(COLUMNS)))))
        self.tiny_files = [f"bench/tiny/tiny-{i:05d}.csv" for i in range(s.tiny_files)]
        for path in self.tiny_files:
            self.store.write(path, self._csv(rng.normal(size=(s.tiny_rows, len(COLUMNS)))))
        self.warm_files = [f"bench/warm/warm-{i:03d}.csv" for i in range(2 * s.workers)]
        for path in self.warm_files:
            self.store.write(path, self._csv(rng.normal(size=(s.tiny_rows, len(COLUMNS)))))
        # The memory job's input: every file linked memory_factor times (no extra disk, 10x the rows).
        self.big_files = []
        for k in range(s.memory_factor):
            for i, path in enumerate(self.data_files):
                big = f"bench/x{s.memory_factor}/part-{k:02d}-{i:04d}.csv"
                self._link(path, big)
                self.big_files.append(big)
        self.one_file = "bench/one/part-0000.csv"
        self._link(self.data_files[0], self.one_file)

        say("training and registering RandomForest (50 trees) and LogisticRegression")
        self.models = {RF: self._register(RF, "forest", rng), LR: self._register(LR, "logistic", rng)}
        say("models registered")

        self.endpoint = BatchEndpoint.objects.create(name="bench", description="make bench")
        for key, model in self.models.items():
            dep = BatchDeployment.objects.create(
                endpoint=self.endpoint, name="forest" if key == RF else "logistic", model_name=model.name,
                model_version=model.version, instance_count=s.workers, max_concurrency_per_instance=1,
                mini_batch_size=s.mini_batch_size)
            if key == RF:
                self.endpoint.set_default(dep)

    @staticmethod
    def _csv(values) -> bytes:
        import pandas as pd

        return pd.DataFrame(values, columns=COLUMNS).to_csv(index=False).encode()

    def _local(self, path: str) -> Path:
        return Path(self.store.root) / path

    def _link(self, src: str, dst: str):
        root = getattr(self.store, "root", None)
        if root is None:
            self.store.write(dst, self.store.read_bytes(src))
            return
        target = self._local(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(self._local(src), target)

    def _register(self, name: str, kind: str, rng):
        import mlflow.sklearn
        import numpy as np
        import pandas as pd
        from mlflow.models import infer_signature
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression

        from studio import registry

        X = pd.DataFrame(rng.normal(size=(5000, len(COLUMNS))), columns=COLUMNS)
        y = ((X.to_numpy() @ np.linspace(-1, 1, len(COLUMNS)) + rng.normal(scale=0.5, size=len(X))) > 0).astype(int)
        model = RandomForestClassifier(n_estimators=50, random_state=0) if kind == "forest" else LogisticRegression(max_iter=500)
        model.fit(X, y)
        folder = self.home / "trained" / name
        mlflow.sklearn.save_model(model, str(folder), signature=infer_signature(X, model.predict(X)),
                                  serialization_format="cloudpickle")
        version = registry.register_folder(name, folder, f"make bench: {kind}")
        version.local_dir = folder
        return version

    def pool(self, model: str) -> RawPool:
        if model not in self.pools:
            self.pools[model] = RawPool(self.models[model].local_dir, self.scale.workers)
        return self.pools[model]

    def close_pools(self):
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()

    # the queue ---------------------------------------------------------------------------------------------------
    def start_qcluster(self):
        from django.conf import settings

        env = dict(os.environ)
        env.update(STUDIO_HOME=str(settings.STUDIO_HOME), SECRET_KEY=settings.SECRET_KEY,
                   DATABASE_URL=os.environ["DATABASE_URL"], Q_WORKERS=str(self.scale.workers),
                   Q_LOG_LEVEL=os.environ.get("Q_LOG_LEVEL", "WARNING"))
        say(f"starting manage.py qcluster with {self.scale.workers} workers")
        self._log_fh = open(self.qcluster_log, "wb")
        self.qcluster = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT, env=env,
                                         stdout=self._log_fh, stderr=subprocess.STDOUT, start_new_session=True)

    def stop_qcluster(self):
        if self.qcluster is None or self.qcluster.poll() is not None:
            return
        os.killpg(self.qcluster.pid, signal.SIGTERM)
        try:
            self.qcluster.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.qcluster.pid, signal.SIGKILL)
            self.qcluster.wait()

    def qcluster_tail(self, chars=3000) -> str:
        try:
            return self.qcluster_log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def run_job(self, model: str, files_folder: str, overrides: dict | None = None, timeout: float = 1800):
        """Submit a job and wait for it: (seconds from submit to Completed, job)."""
        from jobs.models import FINISHED, BatchJob, Status
        from jobs.submit import submit_job

        uri = self.store_model.uri(files_folder)
        started = time.time()
        job = submit_job(self.endpoint, input_uri=uri, deployment_name="forest" if model == RF else "logistic",
                         overrides=overrides)
        deadline = time.monotonic() + timeout
        while True:
            status, finished = BatchJob.objects.filter(pk=job.pk).values_list("status", "finished").get()
            if status in FINISHED:
                break
            if self.qcluster.poll() is not None:
                raise RuntimeError(f"qcluster exited ({self.qcluster.returncode}):\n{self.qcluster_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job.name} still {status} after {timeout:.0f} s:\n{self.qcluster_tail()}")
            time.sleep(0.02)
        job.refresh_from_db()
        if status != Status.COMPLETED:
            raise RuntimeError(f"job {job.name} ended {status}: {job.error}")
        return max(finished.timestamp(), started) - started, job

    def warm(self, model: str):
        """Run tiny jobs until every worker process has loaded the model and scored with it."""
        from jobs.models import MiniBatch

        workers = set()
        for _ in range(8):
            _, job = self.run_job(model, "bench/warm", overrides={"mini_batch_size": 1}, timeout=600)
            workers |= set(MiniBatch.objects.filter(job=job).values_list("worker", flat=True))
            alive = {str(pid) for pid in process_tree(self.qcluster.pid)}
            if sum(1 for w in workers if w.rsplit(":", 1)[-1] in alive) >= self.scale.workers:
                say(f"{model}: all {self.scale.workers} workers warm")
                return
        self.notes.append(f"warm-up of {model} reached only {len(workers)} of {self.scale.workers} workers")

    # the figures -------------------------------------------------------------------------------------------------
    def measure(self):
        s = self.scale
        self.guard("one_file", self.measure_one_file)
        for model, key in ((RF, "rf"), (LR, "lr")):
            self.guard(key, lambda model=model, key=key: self.measure_throughput(model, key))
        self.guard("memory", self.measure_memory)
        self.guard("overhead", self.measure_overhead)
        self.guard("mlflow_predict", self.measure_mlflow_predict)
        if s.workers > (os.cpu_count() or 1):
            self.notes.append(f"{s.workers} workers on {os.cpu_count()} CPUs")

    def guard(self, name, fn):
        try:
            fn()
        except Exception as exc:  # one broken figure must not hide the others
            self.results[f"error_{name}"] = f"{type(exc).__name__}: {exc}"
            say(f"{name} failed: {type(exc).__name__}: {exc}")

    def measure_one_file(self):
        self.warm(RF)
        say(f"1-file job x{self.scale.one_file_repeats} (RandomForest, {self.scale.rows} rows)")
        runs = [self.run_job(RF, "bench/one") for _ in range(self.scale.one_file_repeats)]
        times = [seconds for seconds, _ in runs]
        self.breakdown(sorted(runs, key=lambda run: run[0])[len(runs) // 2][1], "one")
        self.results["one_file_job_s"] = statistics.median(times)
        self.results["one_file_job_min_s"] = min(times)
        self.results["one_file_job_max_s"] = max(times)

    def measure_throughput(self, model: str, key: str):
        s = self.scale
        local = [self._local(p) for p in self.data_files]
        raw_times, job_times = [], []
        pool = self.pool(model)
        self.warm(model)
        for round_ in range(s.rounds):
            say(f"{key}: round {round_ + 1}/{s.rounds}: (a) raw ceiling, {s.files} files in {s.workers} processes")
            seconds, rows = pool.run(local, self.home / "raw-out")
            assert rows == s.files * s.rows, rows
            raw_times.append(seconds)
            say(f"{key}: round {round_ + 1}/{s.rounds}: (a) {seconds:.2f} s; (b) Batch Studio job")
            seconds, job = self.run_job(model, "bench/data")
            assert job.rows_out == s.files * s.rows, job.rows_out
            job_times.append(seconds)
            say(f"{key}: round {round_ + 1}/{s.rounds}: (b) {seconds:.2f} s")
            if seconds == min(job_times):
                self.breakdown(job, key)
        if model == RF:
            pool.close()
            del self.pools[model]
        rows = s.files * s.rows
        self.results[f"raw_{key}_s"] = min(raw_times)
        self.results[f"job_{key}_s"] = min(job_times)
        self.results[f"raw_{key}_rows_per_s"] = rows / min(raw_times)
        self.results[f"job_{key}_rows_per_s"] = rows / min(job_times)
        self.results[f"ratio_{key}"] = min(raw_times) / min(job_times)

    def breakdown(self, job, key: str):
        """Where a lane's time went, from the mini-batch rows: scoring, the rest of the task, the hand-off between."""
        try:
            from jobs.models import MiniBatch

            rows = list(MiniBatch.objects.filter(job=job).order_by("started").values_list("worker", "started", "finished", "seconds"))
            scoring = [r[3] for r in rows]
            in_task = [(r[2] - r[1]).total_seconds() for r in rows if r[1] and r[2]]
            gaps, last = [], {}
            for worker, started, finished, _ in rows:
                if worker in last and started and last[worker]:
                    gaps.append((started - last[worker]).total_seconds())
                last[worker] = finished
            first_start = min(r[1] for r in rows if r[1])
            self.results[f"{key}_mb_scoring_ms"] = 1000 * statistics.mean(scoring)
            self.results[f"{key}_mb_task_ms"] = 1000 * statistics.mean(in_task)
            self.results[f"{key}_mb_handoff_ms"] = 1000 * statistics.mean(gaps) if gaps else 0.0
            self.results[f"{key}_first_start_ms"] = 1000 * (first_start - job.created).total_seconds()
            self.results[f"{key}_finalize_ms"] = 1000 * (job.finished - max(r[2] for r in rows if r[2])).total_seconds()
        except Exception as exc:  # the breakdown reads engine fields that may change; it is a diagnosis, not a figure
            self.notes.append(f"no breakdown for {key}: {type(exc).__name__}: {exc}")

    def measure_memory(self):
        """Peak RSS of the qcluster's processes during a RandomForest job over 1x, then 10x the input.

        Both jobs run back to back with the same warm processes, so the only difference is the input size."""
        s = self.scale
        self.warm(RF)
        for label, folder, files in (("1x", "bench/data", self.data_files),
                                     (f"{s.memory_factor}x", f"bench/x{s.memory_factor}", self.big_files)):
            say(f"memory: a RandomForest job over {label} the input ({len(files)} files)")
            with MemorySampler(self.qcluster.pid) as mem:
                seconds, job = self.run_job(RF, folder)
            assert job.rows_out == len(files) * s.rows, job.rows_out
            key = "1x" if label == "1x" else "10x"
            self.results[f"memory_{key}_mb"] = mem.peak_process_kb / 1024
            self.results[f"memory_{key}_tree_mb"] = mem.peak_tree_kb / 1024
            self.results[f"memory_{key}_job_s"] = seconds
        self.results["memory_hwm_mb"] = mem.high_water_kb() / 1024
        self.results["memory_growth"] = self.results["memory_10x_mb"] / self.results["memory_1x_mb"]
        self.results["memory_tree_growth"] = self.results["memory_10x_tree_mb"] / self.results["memory_1x_tree_mb"]

    def measure_overhead(self):
        s = self.scale
        self.warm(LR)
        say(f"overhead: (a) raw, {s.tiny_files} tiny files")
        raw, _ = self.pool(LR).run([self._local(p) for p in self.tiny_files], self.home / "raw-tiny")
        self.close_pools()
        say(f"overhead: Batch Studio job, {s.tiny_files} tiny files, mini_batch_size 1")
        job_s, job = self.run_job(LR, "bench/tiny", overrides={"mini_batch_size": 1})
        self.breakdown(job, "tiny")
        lanes = s.workers
        self.results["tiny_raw_s"] = raw
        self.results["tiny_job_s"] = job_s
        self.results["overhead_ms"] = 1000 * (job_s - raw) * lanes / job.mini_batches_total

    def measure_mlflow_predict(self):
        from studio import registry

        model = self.models[RF]
        out = self.home / "mlflow-predict.json"
        env = dict(os.environ, MLFLOW_TRACKING_URI=registry.tracking_uri(), MLFLOW_REGISTRY_URI=registry.registry_uri())
        say("(c) mlflow models predict --env-manager local on one file")
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "mlflow", "models", "predict", "-m", model.uri, "-i", str(self._local(self.one_file)),
             "-t", "csv", "-o", str(out), "--env-manager", "local"],
            env=env, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - started
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"mlflow models predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
        self.results["mlflow_predict_s"] = seconds
        if "one_file_job_s" in self.results:
            self.results["mlflow_vs_job"] = seconds / self.results["one_file_job_s"]


# --- the report -----------------------------------------------------------------------------------------------------

def verdict(key, value):
    if key not in TARGETS or not isinstance(value, (int, float)):
        return "", ""
    op, limit = TARGETS[key]
    ok = value >= limit if op == ">=" else value <= limit
    shown = f"{op} {limit * 100:.0f} %" if key == "ratio_rf" else (
        f"{op} {limit:g} s" if key.endswith("_s") else f"{op} {limit:g} ms" if key.endswith("_ms") else f"{op} {limit:g}x")
    return shown.replace(">=", "≥").replace("<=", "≤"), "PASS" if ok else "MISS"


def report(bench: Bench, scale: Scale, load_before, load_after) -> str:
    r = bench.results
    rows_total = scale.files * scale.rows

    def num(key, fmt):
        value = r.get(key)
        return fmt.format(value) if isinstance(value, (int, float)) else "n/a"

    lines = [
        f"Batch Studio benchmark: {scale.files} files x {scale.rows:,} rows x {len(COLUMNS)} float columns "
        f"({rows_total:,} rows), {scale.workers} worker processes, mini_batch_size {scale.mini_batch_size}, "
        f"best of {scale.rounds} round(s)",
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.2f} before, {load_after:.2f} after",
        "",
        f"{'figure':<68} {'value':>24}  {'target':>9}  result",
        f"{'-' * 68} {'-' * 24}  {'-' * 9}  ------",
    ]

    def row(label, value, key=None):
        target, result = verdict(key, r.get(key)) if key else ("", "")
        lines.append(f"{label:<68} {value:>24}  {target:>9}  {result}".rstrip())

    def breakdown(key):
        if f"{key}_mb_task_ms" not in r:
            return
        row("    per mini-batch: scoring / whole task / hand-off to next",
            f"{num(f'{key}_mb_scoring_ms', '{:.0f}')} / {num(f'{key}_mb_task_ms', '{:.0f}')} / "
            f"{num(f'{key}_mb_handoff_ms', '{:.0f}')} ms")
        row("    submit->first mini-batch starts / last part->Completed",
            f"{num(f'{key}_first_start_ms', '{:.0f}')} / {num(f'{key}_finalize_ms', '{:.0f}')} ms")

    for key, name in (("rf", "RandomForest"), ("lr", "LogisticRegression")):
        row(f"(a) raw ceiling, {name}: pandas + pyfunc, {scale.workers} processes",
            f"{num(f'raw_{key}_s', '{:.2f} s')} {num(f'raw_{key}_rows_per_s', '{:,.0f} rows/s'):>13}")
        row(f"(b) Batch Studio job, {name}: real queue, warm workers",
            f"{num(f'job_{key}_s', '{:.2f} s')} {num(f'job_{key}_rows_per_s', '{:,.0f} rows/s'):>13}")
        row(f"(b)/(a) throughput, {name}", num(f"ratio_{key}", "{:.1%}"), f"ratio_{key}" if key == "rf" else None)
        breakdown(key)
    row("(c) mlflow models predict --env-manager local, 1 file (RF)", num("mlflow_predict_s", "{:.2f} s"))
    row("1-file job submit->Completed, warm workers (RF, median)", num("one_file_job_s", "{:.2f} s"), "one_file_job_s")
    row("    min / max", f"{num('one_file_job_min_s', '{:.2f}')} / {num('one_file_job_max_s', '{:.2f}')} s")
    breakdown("one")
    row("(c)/1-file job", num("mlflow_vs_job", "{:.1f}x"))
    row(f"per-mini-batch overhead ({scale.tiny_files} tiny files, mini_batch_size 1)", num("overhead_ms", "{:.1f} ms"),
        "overhead_ms")
    row("    job / raw ceiling on the same tiny files",
        f"{num('tiny_job_s', '{:.2f}')} / {num('tiny_raw_s', '{:.2f}')} s")
    breakdown("tiny")
    m = scale.memory_factor
    row(f"peak RSS, largest worker process, RF job 1x input ({num('memory_1x_job_s', '{:.1f} s')})",
        num("memory_1x_mb", "{:.0f} MB"))
    row(f"peak RSS, largest worker process, RF job {m}x input ({num('memory_10x_job_s', '{:.1f} s')})",
        num("memory_10x_mb", "{:.0f} MB"))
    row(f"    growth {m}x / 1x (flat: within 20 %)", num("memory_growth", "{:.2f}x"), "memory_growth")
    row(f"peak RSS, whole qcluster tree, 1x / {m}x",
        f"{num('memory_1x_tree_mb', '{:.0f}')} / {num('memory_10x_tree_mb', '{:.0f}')} MB")
    row(f"    growth {m}x / 1x", num("memory_tree_growth", "{:.2f}x"))
    row("largest VmHWM (lifetime peak) in the tree at the end", num("memory_hwm_mb", "{:.0f} MB"))
    for key, value in r.items():
        if key.startswith("error_"):
            lines.append(f"ERROR {key[6:]}: {value}")
    for note in bench.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m jobs.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke scale (same as BENCH_SCALE=quick)")
    parser.add_argument("--workers", type=int, help="qcluster workers = raw-ceiling processes (default 2)")
    for name in ("files", "rows", "tiny-files", "rounds"):
        parser.add_argument(f"--{name}", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)
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
    os.environ.update(STUDIO_HOME=str(home), DATABASE_URL=f"sqlite:///{home / 'bench.sqlite3'}",
                      SECRET_KEY=secrets.token_urlsafe(50), DJANGO_SETTINGS_MODULE="studio.settings")
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
        bench.measure()
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
