"""The benchmark itself: setup (data, models, endpoint, qcluster) and one method per figure."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import COLUMNS, FIGURES, LR, RF, ROOT, Scale, say
from bench.raw import MemorySampler, RawPool, process_tree


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
        from workspace.models import Datastore

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
                endpoint=self.endpoint,
                name="forest" if key == RF else "logistic",
                model_name=model.name,
                model_version=model.version,
                instance_count=s.workers,
                max_concurrency_per_instance=1,
                mini_batch_size=s.mini_batch_size,
            )
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

        from workspace import registry

        X = pd.DataFrame(rng.normal(size=(5000, len(COLUMNS))), columns=COLUMNS)
        y = ((X.to_numpy() @ np.linspace(-1, 1, len(COLUMNS)) + rng.normal(scale=0.5, size=len(X))) > 0).astype(int)
        model = (
            RandomForestClassifier(n_estimators=50, random_state=0)
            if kind == "forest"
            else LogisticRegression(max_iter=500)
        )
        model.fit(X, y)
        folder = self.home / "trained" / name
        mlflow.sklearn.save_model(
            model, str(folder), signature=infer_signature(X, model.predict(X)), serialization_format="cloudpickle"
        )
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
        env.update(
            STUDIO_HOME=str(settings.STUDIO_HOME),
            SECRET_KEY=settings.SECRET_KEY,
            DATABASE_URL=os.environ["DATABASE_URL"],
            Q_WORKERS=str(self.scale.workers),
            Q_LOG_LEVEL=os.environ.get("Q_LOG_LEVEL", "WARNING"),
        )
        say(f"starting manage.py qcluster with {self.scale.workers} workers")
        self._log_fh = open(self.qcluster_log, "wb")
        self.qcluster = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop_qcluster(self):
        if self.qcluster is None or self.qcluster.poll() is not None:
            return
        os.killpg(self.qcluster.pid, signal.SIGTERM)
        try:
            self.qcluster.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.qcluster.pid, signal.SIGKILL)
            self.qcluster.wait()

    def restart_qcluster(self, timeout: float = 300) -> float:
        """Stop the qcluster and start a new one; returns when (time.time()) every new worker beats: the moment an
        operator sees the workers up on the Compute page."""
        from workspace.compute.live import live_workers

        self.stop_qcluster()
        self.start_qcluster()
        self.wait_workers(lambda workers: len(workers) >= self.scale.workers, "beat", live_workers, timeout)
        return time.time()

    def wait_workers(self, done, what: str, live, timeout: float = 300):
        """Wait until done(the live workers of the running qcluster) holds."""
        deadline = time.monotonic() + timeout
        while True:
            mine = {str(pid) for pid in process_tree(self.qcluster.pid)}
            workers = [w for w in live() if str(w.pid) in mine]
            if done(workers):
                return
            if self.qcluster.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not {what} in {timeout:.0f} s:\n{self.qcluster_tail()}")
            time.sleep(0.1)

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
        job = submit_job(
            self.endpoint, input_uri=uri, deployment_name="forest" if model == RF else "logistic", overrides=overrides
        )
        deadline = time.monotonic() + timeout
        while True:
            status, finished = BatchJob.objects.filter(pk=job.pk).values_list("status", "finished").get()
            if status in FINISHED:
                break
            if self.qcluster.poll() is not None:
                raise RuntimeError(f"qcluster exited ({self.qcluster.returncode}):\n{self.qcluster_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job.name} still {status} after {timeout:.0f} s:\n{self.qcluster_tail()}")
            # The time is the job's own `finished`, not when we notice it: polling slowly costs no precision, and
            # leaves the CPU to the workers ((a) does not poll either).
            time.sleep(0.2)
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
    def measure(self, only=None):
        """Every figure, or those named in only (names of FIGURES)."""
        s = self.scale
        for name, method in FIGURES.items():
            if only is None or name in only:
                self.guard(name.replace("-", "_"), getattr(self, method))
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

    def measure_first_job(self):
        """The 1-file RandomForest job as the first job on just-started workers: cold (Azure's way, and the default:
        its first mini-batch loads the model) and with the deployment's warm_start on (each worker loads it as it
        starts). Submit -> Completed, the submit as soon as every worker beats (warm: and reports the model loaded)."""
        from endpoints.models import BatchDeployment
        from workspace.compute.live import live_workers

        forest = BatchDeployment.objects.get(endpoint=self.endpoint, name="forest")
        say("first job on just-started workers, cold and with warm_start")
        try:
            for warm in (False, True):
                forest.warm_start = warm
                forest.save(update_fields=["warm_start", "updated"])
                up = self.restart_qcluster()
                if warm:
                    label = f"{self.endpoint.name}/{forest.name}"
                    self.wait_workers(
                        lambda workers, label=label: (
                            len(workers) >= self.scale.workers and all(label in w.loaded for w in workers)
                        ),
                        f"load {label}",
                        live_workers,
                    )
                    self.results["warm_up_s"] = time.time() - up
                seconds, job = self.run_job(RF, "bench/one")
                self.results["first_job_warm_s" if warm else "first_job_cold_s"] = seconds
                self.breakdown(job, "first_warm" if warm else "first_cold")
        finally:
            forest.warm_start = False
            forest.save(update_fields=["warm_start", "updated"])
        self.results["first_job_speedup"] = self.results["first_job_cold_s"] / self.results["first_job_warm_s"]

    def measure_rf(self):
        self.measure_throughput(RF, "rf")

    def measure_lr(self):
        self.measure_throughput(LR, "lr")

    def measure_throughput(self, model: str, key: str):
        s = self.scale
        raw, job = self.alternate(key, model, self.data_files, "bench/data", s.files * s.rows, ceilings=True)
        if model == RF:
            self.pools.pop(model).close()
        rows = s.files * s.rows
        self.results[f"raw_{key}_s"] = raw
        self.results[f"job_{key}_s"] = job
        self.results[f"raw_{key}_rows_per_s"] = rows / raw
        self.results[f"job_{key}_rows_per_s"] = rows / job
        self.results[f"ratio_{key}"] = raw / job
        self.results[f"tuned_ratio_{key}"] = self.results[f"tuned_{key}_s"] / job
        self.results[f"floor_x_{key}"] = job / self.results[f"floor_{key}_s"]

    def alternate(
        self, key: str, model: str, files, folder: str, rows: int, overrides=None, ceilings=False
    ) -> tuple[float, float]:
        """(a) the raw ceiling and (b) a Batch Studio job on the same files, alternating `rounds` times; the best
        time of each (the least disturbed by whatever else the machine runs), and the best job's breakdown.
        ceilings: each round also measures the tuned ceiling and the floor in the same processes (best of each into
        results: tuned_<key>_s, floor_<key>_s)."""
        s = self.scale
        local = [self._local(p) for p in files]
        raw_times, job_times, tuned_times, floor_times = [], [], [], []
        pool = self.pool(model)
        self.warm(model)
        for round_ in range(s.rounds):
            say(f"{key}: round {round_ + 1}/{s.rounds}: (a) raw ceiling, {len(files)} files in {s.workers} processes")
            seconds, raw_rows = pool.run(local, self.home / f"raw-{key}")
            assert raw_rows == rows, raw_rows
            raw_times.append(seconds)
            if ceilings:
                seconds, tuned_rows = pool.run(local, self.home / f"tuned-{key}", tuned=True)
                assert tuned_rows == rows, tuned_rows
                tuned_times.append(seconds)
                seconds, floor_rows = pool.floor(local)
                assert floor_rows == rows, floor_rows
                floor_times.append(seconds)
                say(f"{key}: round {round_ + 1}/{s.rounds}: tuned {tuned_times[-1]:.2f} s, floor {seconds:.2f} s")
            say(f"{key}: round {round_ + 1}/{s.rounds}: (a) {seconds:.2f} s; (b) Batch Studio job")
            seconds, job = self.run_job(model, folder, overrides=overrides)
            assert job.rows_out == rows, job.rows_out
            job_times.append(seconds)
            say(f"{key}: round {round_ + 1}/{s.rounds}: (b) {seconds:.2f} s")
            if seconds == min(job_times):
                self.breakdown(job, key)
        if ceilings:
            self.results[f"tuned_{key}_s"] = min(tuned_times)
            self.results[f"floor_{key}_s"] = min(floor_times)
        return min(raw_times), min(job_times)

    def breakdown(self, job, key: str):
        """Where a lane's time went, from the mini-batch rows: scoring, the rest of the task, the hand-off between."""
        try:
            from jobs.models import MiniBatch

            rows = list(
                MiniBatch.objects.filter(job=job)
                .order_by("started")
                .values_list("worker", "started", "finished", "seconds")
            )
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
        for label, folder, files in (
            ("1x", "bench/data", self.data_files),
            (f"{s.memory_factor}x", f"bench/x{s.memory_factor}", self.big_files),
        ):
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

    def measure_parquet(self):
        """Peak RSS of the qcluster's processes while a LogisticRegression job scores one big Parquet file of the
        model's 10 columns and 41 more (the scoring host reads only the model's, in record batches)."""
        path = "bench/parquet/wide.parquet"
        if not self._local(path).exists():
            self._write_wide_parquet(self._local(path), self.scale.parquet_rows)
        self.warm(LR)
        size_mb = self._local(path).stat().st_size / 1e6
        say(
            f"parquet: a LogisticRegression job over 1 Parquet file ({self.scale.parquet_rows:,} rows, {size_mb:.0f} MB)"
        )
        with MemorySampler(self.qcluster.pid) as mem:
            seconds, job = self.run_job(LR, "bench/parquet")
        assert job.rows_out == self.scale.parquet_rows, job.rows_out
        self.results["parquet_file_mb"] = size_mb
        self.results["parquet_job_s"] = seconds
        self.results["parquet_memory_mb"] = mem.peak_process_kb / 1024

    @staticmethod
    def _write_wide_parquet(target: Path, rows: int, chunk: int = 250_000):
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        target.parent.mkdir(parents=True, exist_ok=True)
        names = COLUMNS + [f"extra{i}" for i in range(41)]
        rng = np.random.default_rng(1)
        writer = None
        for start in range(0, rows, chunk):
            values = rng.normal(size=(min(chunk, rows - start), len(names)))
            table = pa.table({name: values[:, i] for i, name in enumerate(names)})
            writer = writer or pq.ParquetWriter(target, table.schema)
            writer.write_table(table)
        writer.close()

    def measure_overhead(self):
        s = self.scale
        raw, job_s = self.alternate(
            "tiny", LR, self.tiny_files, "bench/tiny", s.tiny_files * s.tiny_rows, overrides={"mini_batch_size": 1}
        )
        self.close_pools()
        self.results["tiny_raw_s"] = raw
        self.results["tiny_job_s"] = job_s
        # each of the `workers` lanes runs tiny_files / workers mini-batches: the extra time per mini-batch
        self.results["overhead_ms"] = 1000 * (job_s - raw) * s.workers / s.tiny_files

    def measure_schedule(self):
        """A schedule's run over input it has seen, unchanged (it lists the files) against its first run (it reads
        every file to hash it), on the memory job's input: files x memory_factor files. Best of `rounds`, alternating."""
        from jobs.schedules import runs
        from jobs.schedules.models import Schedule

        folder = f"bench/x{self.scale.memory_factor}"
        settled = time.time_ns() - 3600 * 10**9  # a file modified just now has no known version yet
        for path in self._local(folder).iterdir():
            os.utime(path, ns=(settled, settled))
        schedule = Schedule(input_datastore=self.store_model.name, input_path=folder)  # not saved: only its input
        first = unchanged = float("inf")
        say(f"schedule run over {len(self.big_files)} files: first run, then unchanged, x{self.scale.rounds}")
        for _ in range(self.scale.rounds):
            started = time.perf_counter()
            found = runs.input_files(schedule)
            first = min(first, time.perf_counter() - started)
            started = time.perf_counter()
            again = runs.input_files(schedule, found)
            unchanged = min(unchanged, time.perf_counter() - started)
            if again != found:
                raise RuntimeError("a run over unchanged files found other hashes")
        self.results["schedule_files"] = len(found)
        self.results["schedule_first_s"] = first
        self.results["schedule_unchanged_s"] = unchanged
        self.results["schedule_speedup"] = first / unchanged

    def split_rows(self) -> int:
        """split_rows of the split figure: each file in 2 ranges per worker (at least 1000 rows, the setting's least)."""
        return max(1000, -(-self.scale.split_rows_per_file // (2 * self.scale.workers)))

    def measure_split(self):
        """Large CSV files (split_files x split_rows_per_file rows): a job with Azure's file mini-batches (all the files
        in one mini-batch, so every worker but one idles), the same job with split_rows on (each file in ranges, each
        its own mini-batch, on every worker), and the tuned ceiling over the same files in the same pool of `workers`
        processes (a file per task); alternating, best of `rounds`. Both models, one after the other."""
        s = self.scale
        folder = "bench/split"
        if not hasattr(self, "split_files"):
            import numpy as np

            say(f"split: generating {s.split_files} files x {s.split_rows_per_file:,} rows")
            rng = np.random.default_rng(2)
            self.split_files = [f"{folder}/big-{i:03d}.csv" for i in range(s.split_files)]
            for path in self.split_files:
                self.store.write(path, self._csv(rng.normal(size=(s.split_rows_per_file, len(COLUMNS)))))
        from jobs.models import MiniBatch

        rows = s.split_files * s.split_rows_per_file
        split_rows = self.split_rows()
        local = [self._local(p) for p in self.split_files]
        whole = {"mini_batch_size": s.split_files}
        ranged = {"mini_batch_size": s.split_files, "split_rows": split_rows}
        for model, key in ((RF, "rf"), (LR, "lr")):
            pool = self.pool(model)
            self.warm(model)
            tuned_times, whole_times, split_times = [], [], []
            try:
                for round_ in range(s.rounds):
                    step = f"split {key}: round {round_ + 1}/{s.rounds}"
                    seconds, tuned_rows = pool.run(local, self.home / f"split-tuned-{key}", tuned=True)
                    assert tuned_rows == rows, tuned_rows
                    tuned_times.append(seconds)
                    say(f"{step}: tuned ceiling {seconds:.2f} s; job without split")
                    seconds, job = self.run_job(model, folder, overrides=whole)
                    assert job.rows_out == rows, job.rows_out
                    whole_times.append(seconds)
                    if seconds == min(whole_times):
                        self.breakdown(job, f"split_whole_{key}")  # in BENCH_JSON only: the table shows the split job's
                    say(f"{step}: without split {seconds:.2f} s; job with split_rows {split_rows}")
                    seconds, job = self.run_job(model, folder, overrides=ranged)
                    assert job.rows_out == rows, job.rows_out
                    split_times.append(seconds)
                    say(f"{step}: with split {seconds:.2f} s")
                    if seconds == min(split_times):
                        done = MiniBatch.objects.filter(job=job)
                        self.results[f"split_{key}_minibatches"] = done.count()
                        self.results[f"split_{key}_workers"] = len(set(done.values_list("worker", flat=True)))
                        self.breakdown(job, f"split_{key}")
            finally:
                self.pools.pop(model).close()
            self.results[f"split_tuned_{key}_s"] = min(tuned_times)
            self.results[f"split_whole_{key}_s"] = min(whole_times)
            self.results[f"split_job_{key}_s"] = min(split_times)
            self.results[f"split_ratio_{key}"] = min(tuned_times) / min(split_times)
            self.results[f"split_speedup_{key}"] = min(whole_times) / min(split_times)
        self.results["split_rows"] = split_rows

    def measure_mlflow_predict(self):
        from workspace import registry

        model = self.models[RF]
        out = self.home / "mlflow-predict.json"
        env = dict(os.environ, MLFLOW_TRACKING_URI=registry.tracking_uri(), MLFLOW_REGISTRY_URI=registry.registry_uri())
        say("(c) mlflow models predict --env-manager local on one file")
        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "predict",
                "-m",
                model.uri,
                "-i",
                str(self._local(self.one_file)),
                "-t",
                "csv",
                "-o",
                str(out),
                "--env-manager",
                "local",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        seconds = time.perf_counter() - started
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"mlflow models predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
        self.results["mlflow_predict_s"] = seconds
        if "one_file_job_s" in self.results:
            self.results["mlflow_vs_job"] = seconds / self.results["one_file_job_s"]
