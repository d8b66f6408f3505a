"""The ceilings (a naive pandas pipeline, a tuned pyarrow one, the model's predict alone on data in memory), each in
the same process pool, and the memory of the qcluster's process tree."""

import os
import shutil
import threading
import time
from pathlib import Path

from bench import COLUMNS

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
        dst, index=False
    )
    return len(frame)


def _tuned_score(task):
    """pyarrow reads the file, pyfunc predicts, pyarrow writes the part: the fastest the same pipeline goes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    src, dst = task
    frame = pa_csv.read_csv(src).to_pandas()
    predictions = np.asarray(_RAW_MODEL.predict(frame)).reshape(-1)
    table = pa.table({"row": np.arange(len(frame)), "prediction": predictions})
    table = table.append_column("file_name", pa.array([os.path.basename(src)] * len(frame)))
    pa_csv.write_csv(table, dst)
    return len(frame)


def _floor_predict(files: list[str]) -> tuple[float, int]:
    """The model's predict alone on files read beforehand (the read is not timed): (seconds, rows)."""
    import pandas as pd

    frames = [pd.read_csv(src) for src in files]
    started = time.perf_counter()
    for frame in frames:
        _RAW_MODEL.predict(frame)
    return time.perf_counter() - started, sum(len(frame) for frame in frames)


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
        self.processes = processes
        ctx = multiprocessing.get_context("fork")
        ready = ctx.Queue()
        self.pool = ctx.Pool(processes, initializer=_raw_init, initargs=(str(model_dir), ready))
        for _ in range(processes):
            ready.get(timeout=300)

    def run(self, files: list[Path], out_dir: Path, tuned: bool = False) -> tuple[float, int]:
        """Read, predict and write every file, then join the parts in order: (seconds, rows). tuned: with pyarrow's
        reader and writer instead of pandas'."""
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        parts = [out_dir / f"part-{i:06d}.csv" for i in range(len(files))]
        score = _tuned_score if tuned else _raw_score
        started = time.perf_counter()
        rows = sum(self.pool.imap_unordered(score, list(zip(map(str, files), map(str, parts))), chunksize=1))
        _join(parts, out_dir / "predictions.csv")
        return time.perf_counter() - started, rows

    def floor(self, files: list[Path]) -> tuple[float, int]:
        """The model's predict alone on the files' rows already in memory, spread evenly over the processes: the
        predict time of all of them / processes (seconds), and the rows."""
        share = [list(map(str, files[i :: self.processes])) for i in range(self.processes)]
        timed = self.pool.map(_floor_predict, share, chunksize=1)
        return sum(seconds for seconds, _ in timed) / self.processes, sum(rows for _, rows in timed)

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
