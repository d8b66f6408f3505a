"""The output location refuses writes (permission denied, disk full): the job fails with the reason and staging is
cleaned. An endpoint deleted while its job runs: the job keeps its endpoint's name and completes."""

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from jobs.models import FINISHED, BatchJob, MiniBatch, Status
from jobs.submit import submit_job
from tests.conftest import wait_for
from tests.fixtures.distributed import count_rows, record
from tests.fixtures.engine import settled
from workspace.models import Datastore

pytestmark = pytest.mark.distributed  # its integration tests run again in distributed mode


@contextmanager
def writes_refused(folder: Path):
    """Permission denied on a folder, for root too (root ignores modes: make the folder immutable)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)


@pytest.fixture
def small_disk(tmp_path, request, studio_home):
    """A local datastore on a tmpfs of the given size (a disk that fills up), in the allowed datastores/ folder;
    unmounted when the test ends."""

    def mount(size: str) -> Datastore:
        folder = studio_home / "datastores" / f"small-disk-{tmp_path.name}"
        folder.mkdir(parents=True)
        if os.geteuid() != 0:
            pytest.skip("a small disk to fill needs `mount -t tmpfs`, which needs root")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
        )
        if done.returncode:
            pytest.skip(f"cannot mount a {size} tmpfs to fill: {done.stderr.strip()}")
        request.addfinalizer(lambda: subprocess.run(["umount", "--lazy", str(folder)], check=True))
        return Datastore.objects.create(name="small-disk", kind=Datastore.LOCAL, root=str(folder))

    return mount


def big_csv_files(files: int, rows: int) -> str:
    """`files` CSV files of `rows` iris rows each on the default datastore; their folder's URI."""
    import pandas as pd
    from sklearn.datasets import load_iris

    X = load_iris(as_frame=True).data
    data = pd.concat([X] * (rows // len(X) + 1)).head(rows).to_csv(index=False).encode()
    store = Datastore.get_default()
    for i in range(files):
        store.client().write(f"faults/big/big-{i + 1}.csv", data)
    return store.uri("faults/big")


def _files_left(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _finished(job):
    job.refresh_from_db()
    return job.status in FINISHED


@pytest.mark.integration
def test_permission_denied_on_the_output_fails_the_job_with_the_reason(endpoint, demo_data, qcluster):
    store = Datastore.get_default()
    out = store.local_root() / "denied"
    # Staging and logs can be written; publishing predictions.csv in the folder cannot.
    for sub in (".staging", "logs/mini-batches"):
        (out / sub).mkdir(parents=True)
    with writes_refused(out):
        job = submit_job(endpoint, input_uri=demo_data, output_path="denied")
        wait_for(lambda: settled(job), message=lambda: qcluster.output()[-3000:])
        staging_left = sorted(p.name for p in (out / ".staging").iterdir()) if (out / ".staging").exists() else []
    record("output_permission_denied", {"status": job.status, "error": job.error, "staging_files_left": staging_left})
    assert job.status == Status.FAILED
    assert "Permission" in job.error or "not permitted" in job.error, job.error
    assert not (out / "predictions.csv").exists()
    assert staging_left == [], "staging must be dropped after a failed publish"


@pytest.mark.integration
def test_deleting_the_endpoint_while_its_job_runs_lets_the_job_complete(endpoint, demo_data, qcluster):
    job = submit_job(endpoint, input_uri=demo_data)
    wait_for(
        lambda: BatchJob.objects.filter(pk=job.pk, status=Status.RUNNING).exists() or _finished(job),
        message=lambda: qcluster.output()[-3000:],
    )
    endpoint.delete()
    wait_for(lambda: _finished(job), message=lambda: qcluster.output()[-3000:])
    assert job.endpoint_id is None and job.deployment_id is None
    assert job.endpoint_name == "iris-endpoint"
    assert job.status == Status.COMPLETED, job.error
    rows = count_rows(job)
    assert (rows["lost"], rows["duplicated"]) == (0, 0), rows


# 4 files of 10 000 rows, mini-batches of 2 files: two parts of ~335 kB each, an output of ~670 kB.
# 128k: the first part does not fit in staging. 1m: both parts fit, the joined output next to them does not.
@pytest.mark.integration
@pytest.mark.parametrize("size,where", [("128k", "staging"), ("1m", "publish")])
def test_a_full_disk_at_the_output_fails_the_job_with_the_reason(endpoint, qcluster, small_disk, size, where):
    disk = small_disk(size)
    source = big_csv_files(files=4, rows=10_000)
    job = submit_job(endpoint, input_uri=source, output_datastore=disk.name, output_path="full")
    wait_for(lambda: settled(job), timeout=180, message=lambda: qcluster.output()[-3000:])
    root = disk.local_root()
    batches = dict(job.mini_batches.values_list("index", "status"))
    left = _files_left(root)
    record(
        f"output_disk_full_{where}",
        {"tmpfs": size, "status": job.status, "error": job.error, "mini_batches": batches, "files_left": left},
    )
    assert job.status == Status.FAILED, (job.status, job.error)
    assert "No space left on device" in job.error and job.output_uri in job.error, job.error
    assert not job.files_failed, "the input files are not at fault"
    assert set(batches.values()) <= {MiniBatch.COMPLETED, MiniBatch.FAILED, MiniBatch.CANCELED}, batches
    if where == "staging":
        assert ".staging/part-000000" in job.error, job.error
        assert batches == {0: MiniBatch.FAILED, 1: MiniBatch.CANCELED}
        assert job.mini_batches.get(index=0).attempts == 1, "a full disk is not retried"
    else:
        assert "full/predictions.csv" in job.error, job.error
        assert set(batches.values()) == {MiniBatch.COMPLETED}
    # Nothing published, staging gone, no half-written temporary file, no part kept for a retry: only the logs.
    assert not (root / "full" / "predictions.csv").exists()
    assert not (root / "full" / ".staging").exists(), left
    assert all(name.startswith("full/logs/") for name in left), left
    assert job.error in (root / "full" / "logs" / "job_result.txt").read_text()
