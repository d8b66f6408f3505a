"""Preview (dry run) of + Create job (jobs/preview.py, jobs/heads.py): queued on the workers, nothing written."""

import io
import re

import pandas as pd
import pytest

from jobs import heads
from jobs.models import BatchJob, Preview
from tests.conftest import wait_for
from workspace.models import Datastore

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def _post_preview(client, endpoint, path, htmx=False, **extra):
    return client.post(
        f"/endpoints/{endpoint.name}/jobs/preview/",
        {
            "deployment": "blue",
            "input_type": "datastore",
            "input_datastore": "workspaceblobstore",
            "input_path": path,
            **extra,
        },
        headers={"HX-Request": "true"} if htmx else {},
    )


def _finished(preview):
    preview.refresh_from_db()
    return preview.is_finished


@pytest.mark.integration
def test_preview_scores_the_first_rows_on_a_worker_and_writes_nothing(signed_in, endpoint, demo_data, qcluster):
    store = Datastore.get_default().client()
    bad = pd.DataFrame(
        {"sepal length (cm)": [5, 6], "sepal width (cm)": ["3.1", "wide"], "petal length (cm)": [1.4, 4.0]}
    )
    store.write("odd/a.csv", bad.to_csv(index=False).encode())
    files_before = sorted(store.root.rglob("*"))

    response = _post_preview(signed_in, endpoint, "demo/iris", passthrough_columns="sepal length (cm)")
    preview = Preview.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/previews/{preview.name}/"
    wait_for(
        lambda: _finished(preview), message=lambda: f"preview to finish; qcluster said:\n{qcluster.output()[-3000:]}"
    )
    assert preview.status == Preview.COMPLETED, preview.error
    result = preview.result
    assert [c["status"] for c in result["schema"][0]["columns"]] == ["ok"] * 4
    assert result["rows_scored"] == 60  # 20 rows of each of the first 3 files
    header = result["predictions"]["header"]
    assert header == ["row", "sepal length (cm)", "prediction", "file_name"]
    assert {row[-1] for row in result["predictions"]["rows"]} == {"iris-1.csv", "iris-2.csv", "iris-3.csv"}
    assert {row[2] for row in result["predictions"]["rows"]} <= {"0", "1", "2"}
    estimate = result["estimate"]
    assert estimate["files"] == 5 and 120 <= estimate["total_rows"] <= 180  # 150 rows, estimated from file sizes
    assert estimate["rate"] > 0 and estimate["text"]
    page = signed_in.get(f"/jobs/previews/{preview.name}/").content.decode()
    assert "Schema check of iris-1.csv" in page and "Predictions for the first rows (60 scored)" in page

    _post_preview(signed_in, endpoint, "odd")
    odd = Preview.objects.exclude(pk=preview.pk).get()
    wait_for(lambda: _finished(odd), message=lambda: f"preview to finish; qcluster said:\n{qcluster.output()[-3000:]}")
    checks = {c["column"]: c for c in odd.result["schema"][0]["columns"]}
    assert checks["sepal length (cm)"]["status"] == "coerced"
    assert checks["sepal width (cm)"]["status"] == "wrong" and "'wide'" in checks["sepal width (cm)"]["message"]
    assert checks["petal length (cm)"]["status"] == "ok"
    assert checks["petal width (cm)"]["status"] == "wrong"
    assert "the model needs this column" in checks["petal width (cm)"]["message"]
    assert "missing column(s) 'petal width (cm)'" in odd.result["file_errors"][0]["message"]
    assert odd.result["estimate"] is None

    assert not BatchJob.objects.exists()
    assert sorted(store.root.rglob("*")) == files_before  # nothing written to any datastore


@pytest.mark.django_db
def test_the_preview_names_the_rows_the_job_would_set_aside(signed_in, endpoint, demo_data):
    """A row the model refuses (a missing value) is not silently left out of the predictions: the preview lists it."""
    from sklearn.datasets import load_iris

    from jobs import preview as previews

    frame = load_iris(as_frame=True).data.head(8)
    frame.loc[3, "petal width (cm)"] = None
    Datastore.get_default().client().write("holes/a.csv", frame.to_csv(index=False).encode())
    _post_preview(signed_in, endpoint, "holes")
    preview = Preview.objects.get()
    previews.run(preview.pk)  # what the worker runs
    preview.refresh_from_db()
    assert preview.status == Preview.COMPLETED and preview.result["rows_scored"] == 7, preview.error
    [row] = preview.result["rows_set_aside"]
    assert (row["file"], row["row"]) == ("a.csv", 3) and "NaN" in row["message"]
    page = signed_in.get(f"/jobs/previews/{preview.name}/").content.decode()
    assert "Rows the job would set aside (in errors.csv)" in page and "<td>3</td>" in page


@pytest.mark.django_db
def test_the_estimate_of_a_fast_model_on_big_files_is_not_its_sample_s_overhead(signed_in, endpoint):
    """20 rows of a fast model take the time of one call: rows/s from them made a job of seconds 'About 17 min'.
    The host's cost per file and per row, timed apart (on the first file without bad rows), estimate 10 files of
    30000 iris rows within seconds."""
    from sklearn.datasets import load_iris

    from jobs import preview as previews

    iris = load_iris(as_frame=True).data
    data = pd.concat([iris] * 200, ignore_index=True).to_csv(index=False).encode()
    store = Datastore.get_default().client()
    for i in range(10):
        store.write(f"big/b{i}.csv", data)
    dirty = iris.head(5).copy()
    dirty.loc[2, "sepal width (cm)"] = None  # a row the model refuses: not a file to time
    store.write("big/a.csv", dirty.to_csv(index=False).encode())
    _post_preview(signed_in, endpoint, "big")
    preview = Preview.objects.get()
    previews.run(preview.pk)
    preview.refresh_from_db()
    estimate = preview.result["estimate"]
    assert estimate["files"] == 11 and 150000 <= estimate["total_rows"] <= 300000
    assert estimate["seconds"] < 30 and estimate["rate"] > 20000, estimate
    page = signed_in.get(f"/jobs/previews/{preview.name}/").content.decode()
    assert "ms per file" in page
    measured = re.search(r"at the measured ([\d,.]+) rows/s", page)
    if estimate["rate_measured"]:
        assert re.fullmatch(r"\d{1,3}(,\d{3})+", measured[1]), measured  # a big rate in whole rows: 2,583,071
    else:  # below the timing noise: no rate is claimed (it read "10,000,000 rows/s", the floor)
        assert measured is None and "the cost per row was below what a preview can measure" in page


def test_the_estimate_adds_the_cost_per_file_to_the_cost_per_row():
    from types import SimpleNamespace

    from jobs.preview import estimate

    samples = [SimpleNamespace(rows=30000, exact=False)] * 3
    preview = SimpleNamespace(files_total=60, settings={"instance_count": 2, "max_concurrency_per_instance": 1})
    found = estimate(samples, 60, 0.03, preview, costs=(0.01, 1e-6))
    assert found["seconds"] == pytest.approx((60 * 0.01 + 1_800_000 * 1e-6) / 2) and found["text"] == "1 s"
    assert found["rate"] == pytest.approx(1e6) and found["per_file_ms"] == pytest.approx(10)
    assert estimate(samples, 60, 0.03, preview)["rate"] == pytest.approx(2000)  # without costs: the sample's rate
    assert found["rate_measured"]
    noise = estimate(samples, 60, 0.03, preview, costs=(0.01, 0.0))  # no measurable cost per row
    assert not noise["rate_measured"] and noise["seconds"] > 0


@pytest.mark.django_db
def test_a_preview_where_nothing_matches_the_schema_is_not_a_green_completed(signed_in, endpoint):
    """Every column failed the schema check and the badge read a green Completed, without the file's columns."""
    from jobs import preview as previews

    Datastore.get_default().client().write("other/x.csv", b"height,weight\n1.0,2.0\n3.0,4.0\n")
    _post_preview(signed_in, endpoint, "other")
    preview = Preview.objects.get()
    previews.run(preview.pk)
    preview.refresh_from_db()
    assert preview.status == Preview.COMPLETED and preview.result["rows_scored"] == 0
    page = signed_in.get(f"/jobs/previews/{preview.name}/").content.decode()
    assert 'status-failed"><span aria-hidden="true" class="dot"></span>Failed</span>\n Nothing could be scored.' in page
    assert "Columns in x.csv: <code>height</code>, <code>weight</code>" in page


@pytest.mark.django_db
def test_the_preview_needs_an_input_and_says_so(signed_in, endpoint):
    response = _post_preview(signed_in, endpoint, "", htmx=True)
    assert "Input path: Choose the input data for the job." in response.content.decode()
    assert not Preview.objects.exists()


@pytest.mark.django_db
def test_a_preview_waiting_on_a_cluster_without_workers_says_so(signed_in, endpoint, demo_data):
    page = _post_preview(signed_in, endpoint, "demo/iris", htmx=True).content.decode()
    assert "No worker of compute cluster cpu-cluster is running: the preview starts when one does." in page
    preview = Preview.objects.get()
    assert preview.status == Preview.QUEUED and preview.files == [f"demo/iris/iris-{i}.csv" for i in (1, 2, 3)]


@pytest.mark.django_db
def test_a_missing_passthrough_column_is_reported_by_the_preview_form(signed_in, endpoint, demo_data):
    response = _post_preview(signed_in, endpoint, "demo/iris", passthrough_columns="customer_id", htmx=True)
    assert (
        "Passthrough column &#x27;customer_id&#x27; is not in the input: iris-1.csv has the columns"
        in response.content.decode()
    )
    assert not Preview.objects.exists()


@pytest.mark.django_db
def test_read_head_reads_the_first_rows_and_counts_or_estimates_the_rest():
    store = Datastore.get_default().client()
    frame = pd.DataFrame({"x": range(1000, 2000), "y": [f"v{i:04d}" for i in range(1000)]})
    store.write("h/big.csv", frame.to_csv(index=False).encode())
    store.write("h/small.jsonl", frame.head(5).to_json(orient="records", lines=True).encode())
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    store.write("h/big.parquet", buffer.getvalue())

    big = heads.read_head(store, "h/big.csv", 20)
    assert big.frame["x"].tolist() == list(range(1000, 1020)) and not big.exact and big.rows == 1000
    small = heads.read_head(store, "h/small.jsonl", 20)
    assert len(small.frame) == 5 and small.exact and small.rows == 5
    parquet = heads.read_head(store, "h/big.parquet", 20)
    assert len(parquet.frame) == 20 and parquet.exact and parquet.rows == 1000
    assert pd.read_parquet(io.BytesIO(parquet.data))["y"].tolist()[:2] == ["v0000", "v0001"]


@pytest.mark.django_db
def test_a_preview_whose_worker_died_fails_and_says_to_run_it_again(signed_in, endpoint, demo_data):
    """A worker machine killed while it scored a preview left it Running for ever, the page polling without end:
    once the preview's lease has passed, the page says it was lost and what to do."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs import preview as previews

    _post_preview(signed_in, endpoint, "demo/iris")
    preview = Preview.objects.get()
    Preview.objects.filter(pk=preview.pk).update(
        status=Preview.RUNNING, progress="Scoring 60 rows", lease_until=timezone.now() + timedelta(seconds=30)
    )
    response = signed_in.get(f"/jobs/previews/{preview.name}/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Scoring 60 rows" in response.content.decode()  # its worker is alive

    Preview.objects.filter(pk=preview.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    response = signed_in.get(f"/jobs/previews/{preview.name}/", headers={"HX-Request": "true"})
    preview.refresh_from_db()
    assert preview.status == Preview.FAILED and preview.error == previews.LOST
    assert response.status_code == 286  # htmx stops polling
    assert "click Preview to run it again" in response.content.decode()


@pytest.mark.django_db
def test_a_queued_preview_whose_task_was_lost_is_sent_again(signed_in, endpoint, demo_data, monkeypatch):
    """A worker that took the preview's task and died before starting it: past the lease, the task is sent again."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs import preview as previews
    from jobs import queue

    _post_preview(signed_in, endpoint, "demo/iris")
    preview = Preview.objects.get()
    assert preview.lease_until > timezone.now()
    sent = []
    monkeypatch.setattr(queue, "preview_later", lambda p: sent.append(p.pk))
    previews.settle_if_lost(preview)
    assert sent == []
    Preview.objects.filter(pk=preview.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    preview.refresh_from_db()
    previews.settle_if_lost(preview)
    assert sent == [preview.pk] and preview.status == Preview.QUEUED and preview.lease_until > timezone.now()
    previews.run(preview.pk)  # the resent task
    previews.run(preview.pk)  # a duplicate finds it done
    preview.refresh_from_db()
    assert preview.status == Preview.COMPLETED and preview.lease_until is None, preview.error


@pytest.mark.django_db
def test_the_preview_s_heartbeat_renews_its_lease(signed_in, endpoint, demo_data, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from jobs import hosting
    from jobs import preview as previews

    _post_preview(signed_in, endpoint, "demo/iris")
    preview = Preview.objects.get()
    Preview.objects.filter(pk=preview.pk).update(status=Preview.RUNNING, lease_until=timezone.now())
    monkeypatch.setattr(hosting, "heartbeat_seconds", lambda: 0)
    previews.Heartbeat(preview.pk)()
    preview.refresh_from_db()
    assert preview.lease_until > timezone.now() + timedelta(seconds=hosting.lease_seconds() - 5)
