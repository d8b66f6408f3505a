"""One job over 10 000 small files: it completes, and its output holds every row of every file exactly once."""

import io
import time

import pandas as pd
import pytest

from jobs.models import Status
from jobs.submit import submit_job
from tests.conftest import DISTRIBUTED, wait_for
from tests.fixtures.distributed import record
from workspace.models import Datastore

FILES = 10_000
ROWS = 3  # rows per file: small files, so the job's time is the per-file and per-mini-batch machinery


@pytest.mark.integration
@pytest.mark.bench  # 10+ minutes on a loaded machine: once per `make test` (embedded), not again in distributed mode
def test_a_job_of_10000_small_files_scores_every_row_once(endpoint, qcluster):
    dep = endpoint.default_deployment
    dep.mini_batch_size = 100  # 100 mini-batches (Azure's default of 10 would make 1 000)
    dep.save()
    store = Datastore.get_default()
    folder = store.local_root() / "load" / "many"
    folder.mkdir(parents=True)
    header = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n"
    for i in range(FILES):
        (folder / f"f{i:05d}.csv").write_text(
            header + "".join(f"{5 + r * 0.1:.1f},3.{i % 10},1.4,0.2\n" for r in range(ROWS))
        )

    started = time.monotonic()
    job = submit_job(endpoint, input_uri=store.uri("load/many"))
    submitted = time.monotonic() - started
    assert job.files_total == FILES and job.mini_batches_total == FILES // 100

    def finished():
        job.refresh_from_db()
        return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)

    wait_for(
        finished,
        timeout=1800,
        interval=2,
        message=lambda: f"{job.mini_batches_done} mini-batches done\n{qcluster.output()[-3000:]}",
    )
    seconds = time.monotonic() - started
    assert job.status == Status.COMPLETED, job.error
    out = pd.read_csv(io.BytesIO(store.client().read_bytes(job.output_file_path)))
    keys = set(zip(out["file_name"], out["row"]))
    expected = {(f"f{i:05d}.csv", r) for i in range(FILES) for r in range(ROWS)}
    record(
        "many_files",
        {
            "files": FILES,
            "rows": len(out),
            "mini_batches": job.mini_batches_total,
            "submit_seconds": round(submitted, 1),
            "seconds": round(seconds, 1),
            "lost": len(expected - keys),
            "duplicated": len(out) - len(keys),
            "mode": "distributed" if DISTRIBUTED else "embedded",
        },
    )
    assert len(out) == FILES * ROWS and keys == expected
