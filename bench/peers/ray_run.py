"""The bench's work through Ray Data: `python -m bench.peers.ray_run SPEC.json`, run by the peers' venv's python.

Per file: Ray Data's read_csv, map_batches with the pyfunc model (one batch a file, as the job predicts a file at a
time), write_csv. The model is loaded once per Ray worker process and kept (tasks reuse their processes), so after
the warm-up run a timed run loads no model, as a Batch Studio job on warm workers loads none. The spec is read and
checked before Ray is imported: a bad spec fails the same without Ray.
"""

import os
import sys
import time

import mlflow.pyfunc
import numpy as np
import pandas as pd

from bench.peers import emit, measure, say, spec_from_argv

_MODELS = {}


def _model(folder: str):
    if folder not in _MODELS:
        _MODELS[folder] = mlflow.pyfunc.load_model(folder)
    return _MODELS[folder]


def predict_batch(batch: pd.DataFrame, model_dir: str, columns: list[str]) -> pd.DataFrame:
    predictions = np.asarray(_model(model_dir).predict(batch[columns])).reshape(-1)
    return pd.DataFrame({"prediction": predictions, "file_name": [os.path.basename(p) for p in batch["path"]]})


def main(argv) -> int:
    spec = spec_from_argv("ray_run", argv)
    if spec is None:
        return 2
    import ray  # only the peers' venv has Ray, and only once the spec is known good

    started = time.perf_counter()
    ray.init(
        num_cpus=spec.processes,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="ERROR",
        _temp_dir=str(spec.out / "ray"),  # its session files under the bench's folder, removed with it
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    startup_s = time.perf_counter() - started

    def pipeline(key, files, out):
        dataset = ray.data.read_csv(files, include_paths=True)
        dataset = dataset.map_batches(
            predict_batch,
            fn_kwargs={"model_dir": spec.models[key], "columns": spec.columns},
            batch_format="pandas",
            batch_size=None,
        )
        dataset.write_csv(str(out))

    try:
        results = measure(spec, pipeline, say)
    finally:
        ray.shutdown()
    emit("ray", ray.__version__, startup_s, results)
    return 0


if __name__ == "__main__":
    # Through the module's own name, not __main__: Ray pickles predict_batch by reference, so each worker imports this
    # module once and keeps its _MODELS between tasks (a __main__ function travels by value, with an empty cache).
    import bench.peers.ray_run as module

    sys.exit(module.main(sys.argv[1:]))
