"""split_rows on Azure Blob and S3 datastores (a real Azurite, moto's S3 server): a large Parquet file is split from
its footer alone, fetched by ranged reads at submit, and each range's worker fetches only the footer and the row
groups of its range, never the whole file; the output is byte for byte the unsplit job's. A CSV file of Blob or S3
is scored whole (its ranges would need a scan of all of it at submit). See docs/ENGINE.md "Splitting large files"."""

import io
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.models import Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, read_output
from workspace import blob
from workspace import s3 as s3_module
from workspace.models import Datastore

ROWS, GROUP, SPLIT = 100_000, 10_000, 20_000  # 10 row groups, 5 ranges
BIG = "big.parquet"


def big_parquet(row_group_size: int = GROUP) -> bytes:
    """x = the row's number; pad: random doubles (incompressible), so the file is ~1.6 MB, its footer a few KB."""
    pad = np.random.default_rng(7).random(ROWS)
    buffer = io.BytesIO()
    table = pa.table({"x": [float(r) for r in range(ROWS)], "pad": pad})
    pq.write_table(table, buffer, row_group_size=row_group_size)
    return buffer.getvalue()


@pytest.fixture(params=["azure_blob", "s3"])
def lake(request, db):
    """A Blob (Azurite) or S3 (moto) datastore 'lake' holding split/a.csv, split/big.parquet, split/big.csv and
    split/z.csv."""
    if request.param == "azure_blob":
        azurite = request.getfixturevalue("azurite")
        name = f"split{uuid.uuid4().hex[:8]}"
        azurite.container(name)
        store = Datastore(
            name="lake",
            kind="azure_blob",
            account_url=azurite.account_url,
            container=name,
            credential_type="account_key",
        )
        store.set_secret(azurite.key)
    else:
        s3 = request.getfixturevalue("s3")
        store = Datastore(
            name="lake",
            kind="s3",
            endpoint_url=s3.endpoint_url,
            bucket=s3.bucket("split"),
            region=s3.region,
            access_key_id=s3.access_key_id,
        )
        store.set_secret(s3.secret_access_key)
    store.save()
    client = store.client()
    client.write("split/a.csv", b"x\n1.5\n2.5\n")
    client.write(f"split/{BIG}", big_parquet())
    client.write("split/big.csv", ("x\n" + "".join(f"{r}.25\n" for r in range(3000))).encode())
    client.write("split/z.csv", b"x\n7\n")
    return store


@pytest.fixture
def reads(monkeypatch):
    """What the Blob and S3 clients fetch: reads['range'] [(path, start, length, bytes)], reads['whole'] [path]."""
    seen = {"range": [], "whole": []}
    for cls in (blob.BlobStore, s3_module.S3Store):
        read_range, whole = cls.read_range, cls.open

        def counted(self, path, start, length, read_range=read_range):
            data = read_range(self, path, start, length)
            seen["range"].append((path, start, length, len(data)))
            return data

        def opened(self, path, whole=whole):
            seen["whole"].append(path)
            return whole(self, path)

        monkeypatch.setattr(cls, "read_range", counted)
        monkeypatch.setattr(cls, "open", opened)
    return seen


def range_bytes(reads) -> int:
    return sum(got for path, _, _, got in reads["range"] if path == f"split/{BIG}")


@pytest.mark.integration
def test_a_blob_or_s3_parquet_file_is_split_by_ranged_reads_and_scores_byte_identical(picky_endpoint, lake, reads):
    size = len(big_parquet())
    uri = lake.uri("split")
    whole = drive(submit_job(picky_endpoint, input_uri=uri))
    assert whole.status == Status.COMPLETED, whole.error
    assert [mb.files for mb in whole.mini_batches.order_by("index")] == [
        ["split/a.csv"],
        ["split/big.csv"],
        [f"split/{BIG}"],
        ["split/z.csv"],
    ]
    assert f"split/{BIG}" in reads["whole"] and not reads["range"]  # split_rows 0: copied whole, as before
    reads["range"].clear(), reads["whole"].clear()

    job = submit_job(picky_endpoint, input_uri=uri, overrides={"split_rows": SPLIT})
    # at submit: the footer alone, by ranged reads (pyarrow's last 64 KB), never the file
    assert 0 < range_bytes(reads) <= 64 << 10 and range_bytes(reads) < size / 20, (range_bytes(reads), size)
    assert len(reads["range"]) == 1 and not reads["whole"]  # one request: the size is the listing's
    assert [mb.files for mb in job.mini_batches.order_by("index")] == [
        ["split/a.csv"],
        ["split/big.csv"],  # a CSV file of Blob or S3 is scored whole
        *([f"split/{BIG}#rows={start}-{start + SPLIT}"] for start in range(0, ROWS, SPLIT)),
        ["split/z.csv"],
    ]
    reads["range"].clear()
    split = drive(job)
    assert split.status == Status.COMPLETED, split.error
    # each range's worker: the footer and its own row groups; the file is never downloaded whole
    assert f"split/{BIG}" not in reads["whole"] and set(reads["whole"]) == {
        "split/a.csv",
        "split/big.csv",
        "split/z.csv",
    }
    assert range_bytes(reads) < size + 5 * (64 << 10), (range_bytes(reads), size)
    assert read_output(split, "predictions.csv") == read_output(whole, "predictions.csv")
    out = pd.read_csv(io.BytesIO(read_output(split, "predictions.csv")))
    assert out[out["file_name"] == BIG]["row"].tolist() == list(range(ROWS))
    assert out[out["file_name"] == BIG]["prediction"].tolist() == [2.0 * r for r in range(ROWS)]
    assert (split.rows_out, split.files_total) == (ROWS + 3000 + 3, 8)


@pytest.mark.integration
def test_a_blob_or_s3_range_whose_file_changed_since_submit_fails_as_a_file(picky_endpoint, lake, reads):
    job = submit_job(picky_endpoint, input_uri=lake.uri("split"), overrides={"split_rows": SPLIT})
    lake.client().write(f"split/{BIG}", big_parquet(row_group_size=15_000))  # no range is whole row groups now
    job = drive(job)
    assert job.status == Status.COMPLETED_WITH_ERRORS and job.files_failed == 5, job.error
    errors = pd.read_csv(io.BytesIO(read_output(job, "errors.csv")), keep_default_na=False)
    assert set(errors["error_type"]) == {"FileChanged"}
    assert "split/big.parquet#rows=20000-40000" in set(errors["file"])
