"""Output options (jobs/outputs.py): predictions.csv, Parquet or JSON lines; passthrough columns; the manifest."""

import hashlib
import io
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError

from engine import formats
from jobs import outputs
from jobs.models import BatchJob, Status
from jobs.submit import submit_job
from tests.conftest import wait_for
from tests.fixtures.engine import drive, script_deployment
from workspace.models import Datastore

READERS = {
    "csv": lambda data: pd.read_csv(io.BytesIO(data)),
    "parquet": lambda data: pd.read_parquet(io.BytesIO(data)),
    "jsonl": lambda data: pd.read_json(io.BytesIO(data), lines=True),
}


def iris_with_ids(folder: str, files: int = 4, rows: int = 10) -> str:
    """Iris rows with a key column 'id' (not in the model's signature) in front; returns the datastore URI."""
    from sklearn.datasets import load_iris

    X = load_iris(as_frame=True).data
    store = Datastore.get_default()
    for i in range(files):
        part = X.iloc[i * 37 : i * 37 + rows].copy()
        part.insert(0, "id", [f"k{i}-{r}" for r in range(rows)])
        store.client().write(f"{folder}/part-{i}.csv", part.to_csv(index=False).encode())
    return store.uri(folder)


def _finished(job):
    job.refresh_from_db()
    return job.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED)


@pytest.mark.integration
@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_each_format_with_a_passthrough_key_and_a_manifest(endpoint, demo_model, qcluster, fmt):
    uri = iris_with_ids("keyed-4")
    job = submit_job(
        endpoint,
        input_uri=uri,
        overrides={"output_format": fmt, "passthrough_columns": ["id"], "write_manifest": True, "mini_batch_size": 1},
    )
    name = f"predictions.{fmt}"
    assert job.settings["output_file_name"] == name  # the default name follows the format
    wait_for(lambda: _finished(job), message=lambda: f"job to finish; qcluster said:\n{qcluster.output()[-3000:]}")
    assert job.status == Status.COMPLETED, job.error

    store = Datastore.get_default().client()
    data = store.read_bytes(f"jobs/{job.name}/{name}")
    out = READERS[fmt](data)
    assert list(out.columns) == ["row", "id", "prediction", "file_name"]
    # parts joined in input order, each key next to its own row's prediction
    assert out["id"].tolist() == [f"k{i}-{r}" for i in range(4) for r in range(10)]
    assert out["file_name"].tolist() == [f"part-{i}.csv" for i in range(4) for _ in range(10)]
    assert out["row"].tolist() == list(range(10)) * 4
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    expected = [int(iris.target.iloc[i * 37 + r]) for i in range(4) for r in range(10)]
    agreement = sum(int(p) == e for p, e in zip(out["prediction"], expected)) / len(expected)
    assert agreement > 0.8  # the real model's predictions, not placeholders
    if fmt == "parquet":
        assert pq.ParquetFile(io.BytesIO(data)).num_row_groups == 4  # streamed part by part

    manifest = json.loads(store.read_bytes(f"jobs/{job.name}/manifest.json"))
    assert manifest["files"] == [
        {"path": name, "rows": 40, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    ]
    assert manifest["output_format"] == fmt and manifest["passthrough_columns"] == ["id"]
    assert store.read_bytes(f"jobs/{job.name}/_SUCCESS") == b""
    assert job.output_files()[:3] == (name, "manifest.json", "_SUCCESS")


@pytest.mark.django_db
def test_the_manifest_lists_errors_csv_and_the_status_when_rows_were_set_aside(endpoint):
    uri = iris_with_ids("keyed-bad", files=2)
    store = Datastore.get_default().client()
    bad = store.read_bytes("keyed-bad/part-1.csv").decode().splitlines()
    bad[3] = bad[3].split(",", 1)[0] + ",not-a-number," + bad[3].split(",", 2)[2]
    store.write("keyed-bad/part-1.csv", ("\n".join(bad) + "\n").encode())
    job = drive(submit_job(endpoint, input_uri=uri, overrides={"passthrough_columns": ["id"], "write_manifest": True}))
    assert job.status == Status.COMPLETED_WITH_ERRORS, job.error

    manifest = json.loads(store.read_bytes(f"jobs/{job.name}/manifest.json"))
    data, errors = (store.read_bytes(f"jobs/{job.name}/{name}") for name in ("predictions.csv", "errors.csv"))
    assert manifest["status"] == "CompletedWithErrors"
    assert manifest["files"] == [
        {"path": "predictions.csv", "rows": 19, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        {"path": "errors.csv", "rows": 1, "bytes": len(errors), "sha256": hashlib.sha256(errors).hexdigest()},
    ]


@pytest.mark.django_db
def test_a_parquet_output_holds_a_key_typed_differently_in_each_file(endpoint):
    """An id of numbers in one file, of text in another, empty in a third: one Parquet file, the ids as text."""
    uri = iris_with_ids("keyed-mixed", files=3)
    store = Datastore.get_default().client()
    for i, ids in ((0, [""] * 10), (1, [str(r) for r in range(10)])):
        frame = pd.read_csv(io.BytesIO(store.read_bytes(f"keyed-mixed/part-{i}.csv")))
        frame["id"] = ids
        store.write(f"keyed-mixed/part-{i}.csv", frame.to_csv(index=False).encode())
    job = drive(
        submit_job(
            endpoint,
            input_uri=uri,
            overrides={"output_format": "parquet", "passthrough_columns": ["id"], "mini_batch_size": 1},
        )
    )
    assert job.status == Status.COMPLETED, job.error

    out = pd.read_parquet(io.BytesIO(store.read_bytes(f"jobs/{job.name}/predictions.parquet")))
    assert out["id"].isna().tolist() == [True] * 10 + [False] * 20
    assert out["id"].tolist()[10:] == [str(r) for r in range(10)] + [f"k2-{r}" for r in range(10)]
    assert len(out) == 30 and out["prediction"].notna().all()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, fmt, expected",
    [
        ("scores.csv", "parquet", "scores.parquet"),
        ("scores.CSV", "jsonl", "scores.jsonl"),
        ("scores.parquet", "csv", "scores.csv"),
    ],
)  # a name with no format's extension (scores.txt, help.html) is refused: tests/test_security_datastores.py
def test_a_chosen_output_file_name_takes_the_formats_extension_in_place_of_another_formats(
    endpoint, name, fmt, expected
):
    job = submit_job(
        endpoint,
        input_uri=iris_with_ids("keyed-1", files=1),
        overrides={"output_file_name": name, "output_format": fmt},
    )
    assert job.settings["output_file_name"] == expected


SUMMARY_ONLY_SCRIPT = """
import os
from pathlib import Path

import pandas as pd


def run(mini_batch):
    for path in mini_batch:
        frame = pd.read_csv(path)
        frame.to_parquet(os.path.join(os.environ["AZUREML_BI_OUTPUT_PATH"], Path(path).stem + ".parquet"))
    os.makedirs(os.path.join(os.environ["AZUREML_BI_OUTPUT_PATH"], "notes"), exist_ok=True)
    Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "notes", "seen.txt").write_text("ok\\n")
    return mini_batch
"""


@pytest.mark.django_db
def test_the_manifest_of_a_summary_only_script_lists_the_files_it_wrote(endpoint, tmp_path):
    script_deployment(
        endpoint, tmp_path, SUMMARY_ONLY_SCRIPT, output_action="summary_only", output_file_name="", write_manifest=True
    )
    job = drive(submit_job(endpoint, input_uri=iris_with_ids("keyed-2", files=2), deployment_name="script"))
    assert job.status == Status.COMPLETED, job.error

    store = Datastore.get_default().client()
    manifest = json.loads(store.read_bytes(f"jobs/{job.name}/manifest.json"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert sorted(listed) == ["notes/seen.txt", "part-0.parquet", "part-1.parquet"]
    data = store.read_bytes(f"jobs/{job.name}/part-1.parquet")
    assert listed["part-1.parquet"] == {
        "path": "part-1.parquet",
        "rows": 10,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert listed["notes/seen.txt"]["rows"] is None and listed["notes/seen.txt"]["bytes"] == 3


@pytest.mark.django_db
def test_a_missing_passthrough_column_is_refused_at_submit_naming_it(endpoint):
    uri = iris_with_ids("keyed-1", files=1)
    with pytest.raises(ValidationError) as err:
        submit_job(endpoint, input_uri=uri, overrides={"passthrough_columns": ["customer_id"]})
    assert err.value.code == "passthrough_column_missing"
    assert (
        "Passthrough column 'customer_id' is not in the input: part-0.csv has the columns id, sepal length"
        in err.value.messages[0]
    )
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides,code",
    [
        ({"output_format": "xlsx"}, "invalid_output_format"),
        ({"passthrough_columns": ["row"]}, "reserved_passthrough"),
        ({"passthrough_columns": ["id", "id"]}, "invalid_passthrough"),
    ],
)
def test_bad_output_options_are_refused_with_a_reason(endpoint, overrides, code):
    uri = iris_with_ids("keyed-1", files=1)
    with pytest.raises(ValidationError) as err:
        submit_job(endpoint, input_uri=uri, overrides=overrides)
    assert err.value.code == code


@pytest.mark.django_db
def test_passthrough_needs_an_mlflow_deployment(endpoint, tmp_path):
    script_deployment(endpoint, tmp_path, "def run(mini_batch):\n    return mini_batch\n")
    with pytest.raises(ValidationError) as err:
        submit_job(
            endpoint,
            input_uri=iris_with_ids("keyed-1", files=1),
            deployment_name="script",
            overrides={"passthrough_columns": ["id"]},
        )
    assert err.value.code == "passthrough_needs_mlflow"


@pytest.mark.django_db
def test_an_existing_manifest_is_never_overwritten(endpoint):
    store = Datastore.get_default().client()
    store.write("manifest-taken/_SUCCESS", b"")
    with pytest.raises(ValidationError) as err:
        submit_job(
            endpoint,
            input_uri=iris_with_ids("keyed-1", files=1),
            output_path="manifest-taken",
            overrides={"write_manifest": True},
        )
    assert err.value.code == "output_exists" and "manifest-taken/_SUCCESS already exists" in err.value.messages[0]


def _parts(store, frames, fmt):
    paths = []
    for i, frame in enumerate(frames):
        paths.append(f"staging/part-{i}{formats.EXTENSIONS[fmt]}")
        store.write(paths[-1], formats.encode(frame, fmt))
    return paths


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_parts_join_in_order_and_read_back_for_the_job_page(fmt, tmp_path):
    store = Datastore.get_default().client()
    frames = [
        pd.DataFrame({"row": [0, 1], "prediction": [1.5, 2.5], "file_name": ["a.csv"] * 2}),
        pd.DataFrame(),  # a mini-batch whose files all failed: an empty part
        pd.DataFrame({"row": [0], "prediction": [None], "file_name": ["b.csv"]}),
    ]  # all-null predictions
    target = tmp_path / "out"
    with open(target, "wb") as out:
        outputs.write_joined(fmt, store, _parts(store, frames, fmt), out)
    joined = READERS[fmt](target.read_bytes())
    assert joined["file_name"].tolist() == ["a.csv", "a.csv", "b.csv"]
    assert joined["prediction"].tolist()[:2] == [1.5, 2.5] and pd.isna(joined["prediction"].iloc[2])
    assert outputs.count_rows(target, fmt) == 3

    store.write(f"out/predictions.{fmt}", target.read_bytes())
    head = outputs.head(store, f"out/predictions.{fmt}", fmt, 2)
    assert head["header"] == ["row", "prediction", "file_name"]
    assert [row[2] for row in head["rows"]] == ["a.csv", "a.csv"]


@pytest.mark.django_db
def test_parquet_parts_with_other_columns_fail_with_a_reason(tmp_path):
    store = Datastore.get_default().client()
    frames = [pd.DataFrame({"result": [1]}), pd.DataFrame({"other": [2]})]
    with (
        open(tmp_path / "out", "wb") as out,
        pytest.raises(ValueError, match="has the columns other, unlike the first part"),
    ):
        outputs.write_joined("parquet", store, _parts(store, frames, "parquet"), out)


@pytest.mark.django_db
def test_the_deployment_wizard_sets_the_output_options(signed_in, demo_model):
    from endpoints.models import BatchEndpoint
    from tests.fixtures.ui import DEPLOYMENT_DEFAULTS, run_wizard

    run_wizard(
        signed_in,
        "/endpoints/create/",
        [
            ("endpoint", {"endpoint_name": "keyed-out", "description": ""}),
            ("model", {"model": demo_model.label}),
            (
                "deployment",
                {
                    **DEPLOYMENT_DEFAULTS,
                    "output_format": "parquet",
                    "passthrough_columns": "id, region",
                    "write_manifest": "on",
                },
            ),
            ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
        ],
    )
    deployment = BatchEndpoint.objects.get(name="keyed-out").default_deployment
    assert (deployment.output_format, deployment.output_file_name) == ("parquet", "predictions.parquet")
    assert deployment.passthrough_columns == ["id", "region"] and deployment.write_manifest
    page = signed_in.get("/endpoints/keyed-out/").content.decode()
    assert "<dt>Output format</dt><dd>Parquet</dd>" in page and "id, region" in page


def test_the_api_takes_the_output_options_of_their_types():
    from api import invoke

    settings = {"output_format": "jsonl", "passthrough_columns": ["id"], "write_manifest": True}
    assert invoke.parse_settings(settings) == settings
    with pytest.raises(ValidationError, match="'write_manifest' must be true or false"):
        invoke.parse_settings({"write_manifest": "yes"})
    with pytest.raises(ValidationError, match="'passthrough_columns' must be a list of column names"):
        invoke.parse_settings({"passthrough_columns": "id"})
