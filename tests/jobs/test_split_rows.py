"""split_rows (beyond Azure, docs/ENGINE.md "Splitting large files"): a large Parquet file is shared by several
mini-batches, ranges of whole row groups, and the job's output is byte for byte the output of the same job with
splitting off: same rows, same `row` numbers, same order. Off, the mini-batches are Azure's, file by file."""

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError

from endpoints.models import BatchDeployment
from jobs import retries
from jobs.comparison import file_order
from jobs.models import BatchJob, Status
from jobs.schedules.runs import failed_files
from jobs.submit import submit_job
from tests.conftest import wait_for
from tests.fixtures.api import DEPLOYMENT_YML, invoke_body, run
from tests.fixtures.engine import drive, output_exists, read_output
from workspace.models import Datastore

ROWS, GROUP = 10_000, 1000  # 10 row groups
BIG = "big.parquet"


def write_input(folder: str, bad_rows=(), shift: int = 0) -> str:
    """a.csv, big.parquet (x = (row + shift) % ROWS, -1 in bad_rows; 10 row groups) and z.csv; the datastore URI."""
    store = Datastore.get_default()
    client = store.client()
    x = [float(-1 if r in bad_rows else (r + shift) % ROWS) for r in range(ROWS)]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": x}), buffer, row_group_size=GROUP)
    client.write(f"{folder}/a.csv", b"x\n1.5\n2.5\n")
    client.write(f"{folder}/{BIG}", buffer.getvalue())
    client.write(f"{folder}/z.csv", b"x\n7\n")
    return store.uri(folder)


def files_of(job) -> list[list[str]]:
    return [[f.rsplit("/", 1)[-1] for f in mb.files] for mb in job.mini_batches.order_by("index")]


def ranges(split_rows: int) -> list[list[str]]:
    return [[f"{BIG}#rows={start}-{min(start + split_rows, ROWS)}"] for start in range(0, ROWS, split_rows)]


@pytest.mark.django_db
def test_a_split_file_is_shared_by_several_mini_batches_and_the_output_is_byte_identical(picky_endpoint, signed_in):
    uri = write_input("split/in")
    whole = drive(submit_job(picky_endpoint, input_uri=uri, overrides={"mini_batch_size": 10}))
    split = drive(submit_job(picky_endpoint, input_uri=uri, overrides={"mini_batch_size": 10, "split_rows": 2000}))
    assert (whole.status, split.status) == (Status.COMPLETED, Status.COMPLETED), split.error
    # off: Azure's mini-batches, exactly as before; on: the files between split ones keep their own mini-batches
    assert files_of(whole) == [["a.csv", BIG, "z.csv"]]
    assert files_of(split) == [["a.csv"], *ranges(2000), ["z.csv"]]
    assert read_output(split, "predictions.csv") == read_output(whole, "predictions.csv")
    out = pd.read_csv(io.BytesIO(read_output(split, "predictions.csv")))
    assert out[out["file_name"] == BIG]["row"].tolist() == list(range(ROWS))
    assert (split.rows_out, split.files_total, split.files_done()) == (ROWS + 3, 7, 7)
    assert file_order(split) == file_order(whole) == {"a.csv": 0, BIG: 1, "z.csv": 2}  # Compare pairs rows by file
    log = Datastore.get_default().client().read_bytes(split.mini_batches.get(index=2).log_path).decode()
    assert "attempt 1 on " in log and ": split/in/big.parquet rows 2000–3999\n" in log
    page = signed_in.get(split.get_absolute_url()).content.decode()
    assert "<td>big.parquet rows 2000–3999</td>" in page and "<td>1</td>" in page  # a.csv's mini-batch: 1 file


@pytest.mark.django_db
def test_bad_rows_of_a_range_are_set_aside_with_their_row_in_the_whole_file(picky_endpoint):
    uri = write_input("split/bad", bad_rows=(2500, 2501, 7777))
    whole = drive(submit_job(picky_endpoint, input_uri=uri))
    split = drive(submit_job(picky_endpoint, input_uri=uri, overrides={"split_rows": 2000}))
    assert (whole.status, split.status) == (Status.COMPLETED_WITH_ERRORS,) * 2, split.error
    assert split.mini_batches.count() == 7 and split.rows_failed == 3
    assert read_output(split, "predictions.csv") == read_output(whole, "predictions.csv")
    assert read_output(split, "errors.csv") == read_output(whole, "errors.csv")
    errors = pd.read_csv(io.BytesIO(read_output(split, "errors.csv")))
    assert [(f.rsplit("/", 1)[-1], r) for f, r in zip(errors["file"], errors["row"])] == [
        (BIG, 2500),
        (BIG, 2501),
        (BIG, 7777),
    ]


@pytest.mark.django_db
def test_a_retry_scores_again_only_the_range_that_did_not_succeed(picky_endpoint, picky_flag):
    # while the flag exists the model fails on x in 300..399: rows 6300..6399 of the file, in the range 6000-8000
    uri = write_input("split/retry", shift=4000)
    clean = drive(submit_job(picky_endpoint, input_uri=uri))
    picky_flag.touch()
    try:
        job = drive(submit_job(picky_endpoint, input_uri=uri, overrides={"split_rows": 2000, "error_threshold": 0}))
    finally:
        picky_flag.unlink()
    assert job.status == Status.FAILED, job.error
    assert job.mini_batches.get(rows_failed=100).files == ["split/retry/big.parquet#rows=6000-8000"]
    assert failed_files(job) == {"split/retry/big.parquet", "split/retry/z.csv"}  # a schedule scores them again
    retry = drive(retries.retry(job))
    assert retry.status == Status.COMPLETED, retry.error
    attempts = {mb.files[0].rsplit("/", 1)[-1]: mb.attempts for mb in retry.mini_batches.order_by("index")}
    assert attempts == {
        "a.csv": 0,
        **{entry: 0 for (entry,) in ranges(2000)[:3]},
        **{entry: 1 for (entry,) in ranges(2000)[3:]},
        "z.csv": 1,
    }
    assert read_output(retry, "predictions.csv") == read_output(clean, "predictions.csv")


@pytest.mark.django_db
def test_a_range_that_fails_as_a_whole_is_named_with_its_rows(picky_endpoint):
    uri = write_input("split/changed")
    job = submit_job(picky_endpoint, input_uri=uri, overrides={"split_rows": 2000})
    buffer = io.BytesIO()  # the file rewritten after submit, in row groups of 1500 rows: no range is whole any more
    pq.write_table(pa.table({"x": [float(r) for r in range(ROWS)]}), buffer, row_group_size=1500)
    Datastore.get_default().client().write(f"split/changed/{BIG}", buffer.getvalue())
    job = drive(job)
    assert job.status == Status.COMPLETED_WITH_ERRORS and job.files_failed == 5, job.error
    errors = pd.read_csv(io.BytesIO(read_output(job, "errors.csv")), keep_default_na=False)
    assert errors["file"].tolist() == [f"split/changed/{entry}" for (entry,) in ranges(2000)]
    assert set(errors["error_type"]) == {"FileChanged"} and set(errors["row"]) == {""}
    summary = read_output(job, "logs/error_summary.csv").decode()
    assert "split/changed/big.parquet#rows=2000-4000" in summary
    assert "rows 2000–3999 are not whole row groups of the file any more" in summary


@pytest.mark.django_db
def test_a_csv_file_is_split_on_its_lines_and_scores_as_the_whole_file(picky_endpoint):
    lines = [f"{-1 if r in (1999, 2000, 9999) else r}.25" for r in range(ROWS)]
    lines[4321] = "4321.25,oops"  # more fields than the header: set aside by the parser's isolation
    client = Datastore.get_default().client()
    client.write("split/csv/big.csv", ("x\n" + "\n".join(lines) + "\n").encode())
    client.write("split/csv/quoted.csv", ('x\n"1.5"\n' + "\n".join(lines[:5000]) + "\n").encode())
    uri = Datastore.get_default().uri("split/csv")
    whole = drive(submit_job(picky_endpoint, input_uri=uri))
    split = drive(submit_job(picky_endpoint, input_uri=uri, overrides={"split_rows": 2000}))
    assert (whole.status, split.status) == (Status.COMPLETED_WITH_ERRORS,) * 2, split.error
    starts = range(0, ROWS, 2000)
    assert [mb.files[0].rsplit("/", 1)[-1].split("&")[0] for mb in split.mini_batches.order_by("index")] == [
        *(f"big.csv#rows={start}-{start + 2000}" for start in starts),
        "quoted.csv",  # a quote: a value may hold a newline, the file is scored whole
    ]
    assert read_output(split, "predictions.csv") == read_output(whole, "predictions.csv")
    assert read_output(split, "errors.csv") == read_output(whole, "errors.csv")
    errors = pd.read_csv(io.BytesIO(read_output(split, "errors.csv")))
    assert errors[errors["file"] == "split/csv/big.csv"]["row"].tolist() == [1999, 2000, 4321, 9999]


@pytest.mark.django_db
def test_a_file_of_no_more_rows_than_split_rows_and_other_types_are_never_split(picky_endpoint):
    uri = write_input("split/small")
    job = drive(submit_job(picky_endpoint, input_uri=uri, overrides={"split_rows": ROWS}))
    assert job.status == Status.COMPLETED and files_of(job) == [["a.csv"], [BIG], ["z.csv"]]


@pytest.mark.django_db
@pytest.mark.parametrize("value", [1, 999, -5, "2000", True])
def test_split_rows_is_0_or_at_least_1000(picky_endpoint, value):
    with pytest.raises(ValidationError) as refused:
        submit_job(picky_endpoint, input_uri=write_input("split/refused"), overrides={"split_rows": value})
    assert refused.value.code == "invalid_split_rows"
    deployment = picky_endpoint.default_deployment
    deployment.split_rows = value if type(value) is int else 999  # the model field reads "2000" as 2000
    with pytest.raises(ValidationError) as refused:
        deployment.full_clean()
    assert "split_rows" in refused.value.message_dict


@pytest.mark.django_db
def test_split_rows_from_the_yaml_the_api_and_invoke_set(picky_endpoint, api, tmp_path, demo_model):
    uri = write_input("split/ways")
    response = api.post(
        picky_endpoint.scoring_uri_path, invoke_body(uri, split_rows=5000), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert BatchJob.objects.get(name=response.json()["name"]).mini_batches.count() == 4
    refused = api.post(
        picky_endpoint.scoring_uri_path, invoke_body(uri, split_rows=10), content_type="application/json"
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_split_rows"
    shown = json.loads(
        run(
            "batch_endpoint",
            "invoke",
            "--name",
            picky_endpoint.name,
            "--input",
            uri,
            "--set",
            "settings.split_rows=2500",
        )
    )
    assert BatchJob.objects.get(name=shown["name"]).settings["split_rows"] == 2500
    path = tmp_path / "deployment.yml"
    path.write_text(
        DEPLOYMENT_YML.format(endpoint=picky_endpoint.name, model=demo_model.name).replace("blue", "splits")
        + "  split_rows: 4000\n"
    )
    shown = json.loads(run("batch_deployment", "create", "-f", str(path)))
    assert shown["settings"]["split_rows"] == 4000
    assert BatchDeployment.objects.get(name="splits").split_rows == 4000


@pytest.mark.integration
def test_two_workers_share_one_large_file(slow_endpoint, qcluster):
    """slow-doubler takes 1.5 s per call: the 10 ranges of one file are scored by both workers of the cluster."""
    store = Datastore.get_default()
    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": [float(r) for r in range(ROWS)]}), buffer, row_group_size=GROUP)
    store.client().write(f"split/cluster/{BIG}", buffer.getvalue())
    job = submit_job(slow_endpoint, input_uri=store.uri("split/cluster"), overrides={"split_rows": 1000})
    assert job.mini_batches.count() == 10
    wait_for(
        lambda: BatchJob.objects.get(pk=job.pk).is_finished, timeout=180, message=lambda: qcluster.output()[-3000:]
    )
    job.refresh_from_db()
    assert job.status == Status.COMPLETED, job.error
    workers = set(job.mini_batches.values_list("worker", flat=True))
    assert len(workers) == 2, workers
    spans = sorted(job.mini_batches.values_list("started", "finished"))
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))  # two ranges scored at once
    out = pd.read_csv(io.BytesIO(read_output(job, "predictions.csv")))
    assert out["row"].tolist() == list(range(ROWS)) and out["prediction"].tolist() == [2.0 * r for r in range(ROWS)]
    assert not output_exists(job, "errors.csv")
