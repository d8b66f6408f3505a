"""jobs/comparison.py: aligning two outputs, agreement, confusion matrix, differences and their histogram, the
rows that differ most; starting a comparison; and a real comparison of two models through a qcluster."""

import io

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from jobs import comparison, lifecycle
from jobs.comparison import Tally, align, histogram
from jobs.models import BatchJob, Comparison, MiniBatch, Status
from jobs.results import Prediction
from tests.conftest import wait_for
from workspace.models import Datastore


def preds(values, file="a.csv"):
    return [Prediction(file, str(i), str(v)) for i, v in enumerate(values)]


def tally(base, cand, order=None):
    t = Tally()
    t.add_all(align(base, cand, order or {"a.csv": 0, "b.csv": 1}))
    return t


def test_align_pairs_rows_by_file_and_row_and_reports_the_unmatched():
    base = preds([1, 2], "a.csv") + preds([3], "b.csv")
    cand = preds([1], "a.csv") + preds([3, 4], "b.csv")  # a.csv row 1 failed in the candidate; b.csv has an extra row
    pairs = list(align(base, cand, {"a.csv": 0, "b.csv": 1}))
    assert [(a and (a.file, a.row), b and (b.file, b.row)) for a, b in pairs] == [
        (("a.csv", "0"), ("a.csv", "0")),
        (("a.csv", "1"), None),
        (("b.csv", "0"), ("b.csv", "0")),
        (None, ("b.csv", "1")),
    ]


def test_align_orders_rows_numerically_within_a_file():
    rows = [Prediction("a.csv", str(i), "x") for i in (0, 2, 10)]
    assert all(a and b for a, b in align(rows, rows, {"a.csv": 0}))


def test_classifier_agreement_and_confusion_matrix():
    base = [0, 0, 1, 1, 2, 2, 2]
    cand = [0, 1, 1, 1, 2, 0, "2.0"]  # 2.0 is class 2
    report = tally(preds(base), preds(cand)).report()
    assert report["kind"] == "classifier"
    assert (report["agreed"], report["compared"]) == (5, 7) and report["agreement"] == pytest.approx(5 / 7)
    assert report["matrix"] == {"labels": ["0", "1", "2"], "counts": [[1, 1, 0], [0, 2, 0], [1, 0, 2]]}
    assert [(r["row"], r["baseline"], r["candidate"]) for r in report["top"]] == [("1", "0", "1"), ("5", "2", "0")]
    assert report["differences"] is None


def test_text_labels_are_a_classifier_and_too_many_classes_give_no_matrix():
    report = tally(preds(["cat", "dog"]), preds(["cat", "cat"])).report()
    assert report["kind"] == "classifier" and report["matrix"]["labels"] == ["cat", "dog"]
    many = [f"c{i}" for i in range(comparison.MAX_CLASSES + 5)]
    report = tally(preds(many), preds(many)).report()
    assert report["kind"] == "classifier" and report["matrix"] is None and report["agreement"] == 1


def test_regressor_differences_and_the_rows_that_differ_most():
    rng = np.random.default_rng(0)
    base = rng.normal(10, 3, 500)
    cand = base + rng.normal(0, 0.5, 500)
    cand[:100] = base[:100]  # 100 rows agree exactly
    t = tally(preds(base.round(6)), preds(cand.round(6)))
    report = t.report()
    d = cand.round(6) - base.round(6)
    assert report["kind"] == "regressor" and report["matrix"] is None
    assert report["agreed"] == 100 and report["agreement"] == pytest.approx(0.2)
    diffs = report["differences"]
    assert diffs["mean"] == pytest.approx(d.mean()) and diffs["std"] == pytest.approx(d.std())
    assert diffs["mean_abs"] == pytest.approx(np.abs(d).mean())
    assert (diffs["min"], diffs["max"]) == pytest.approx((d.min(), d.max()))
    top = report["top"]
    assert len(top) == comparison.TOP_ROWS
    assert [r["row"] for r in top] == [str(i) for i in np.argsort(-np.abs(d))[: comparison.TOP_ROWS]]
    counts = histogram(t.differences(align(preds(base.round(6)), preds(cand.round(6)), {"a.csv": 0})), t.low, t.high)
    assert counts == np.histogram(d, bins=comparison.BINS, range=(d.min(), d.max()))[0].tolist()


def test_histogram_edges_and_a_single_value():
    assert histogram([0, 1, 2, 3, 4], 0, 4, bins=2) == [2, 3]  # the top edge goes in the last bin
    assert histogram([5, 5, 5], 5, 5) == [3]
    assert comparison.edges(0, 4, bins=2) == [0, 2, 4]
    bars = comparison.histogram_chart([1, 4], width=100, height=40)
    assert [(b["height"], b["count"]) for b in bars] == [(10.0, 1), (40.0, 4)]


def _job_with_output(endpoint, name, text):
    store = Datastore.get_default()
    store.client().write(f"jobs/{name}/predictions.csv", text.encode())
    job = BatchJob.objects.create(
        name=name,
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name=name,
        input_uri="x",
        output_datastore=store.name,
        output_path=f"jobs/{name}",
        status=Status.COMPLETED,
        settings={"output_file_name": "predictions.csv"},
    )
    MiniBatch.objects.create(job=job, index=0, files=["in/a.csv", "in/b.csv"], status=MiniBatch.COMPLETED)
    return job


@pytest.mark.django_db
def test_build_report_streams_both_outputs_from_the_datastore(endpoint):
    base = _job_with_output(endpoint, "base", "row,prediction,file_name\n0,1.5,a.csv\n1,2.0,a.csv\n0,3.0,b.csv\n")
    cand = _job_with_output(endpoint, "cand", "row,prediction,file_name\n0,1.5,a.csv\n1,2.5,a.csv\n0,2.0,b.csv\n")
    report = comparison.build_report(base, cand)
    assert report["kind"] == "regressor" and report["agreed"] == 1 and report["compared"] == 3
    assert (
        report["differences"]["histogram"]["counts"][0] == 1 and sum(report["differences"]["histogram"]["counts"]) == 3
    )
    assert [(r["file"], r["row"], r["difference"]) for r in report["top"]] == [
        ("b.csv", "0", -1.0),
        ("a.csv", "1", 0.5),
    ]


@pytest.mark.django_db
def test_an_output_without_predictions_is_refused_with_a_reason(endpoint):
    base = _job_with_output(endpoint, "base", "a,b\n1,2\n")
    with pytest.raises(ValidationError) as err:
        comparison.build_report(base, base)
    assert err.value.code == "no_prediction_column"


@pytest.mark.django_db
def test_a_report_task_lost_is_sent_again_once(
    endpoint, demo_data, second_deployment, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import OrmQ

    started = comparison.start(endpoint, input_uri=demo_data, candidate="green")
    BatchJob.objects.filter(pk__in=[started.baseline_id, started.candidate_id]).update(status=Status.COMPLETED)
    sent = OrmQ.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        assert comparison.refresh(started).state == Comparison.COMPUTING
    assert OrmQ.objects.count() == sent + 1  # the report's task
    assert comparison.resend_if_lost(started) is False  # just sent: not lost
    long_ago = (timezone.now() - comparison.RESEND_AFTER - timedelta(seconds=1)).isoformat()
    Comparison.objects.filter(pk=started.pk).update(report={"queued_at": long_ago})
    started.refresh_from_db()
    assert comparison.refresh(started).state == Comparison.COMPUTING
    assert OrmQ.objects.count() == sent + 2  # sent again
    assert started.report["queued_at"] > long_ago
    assert comparison.resend_if_lost(started) is False


@pytest.mark.django_db
def test_start_refuses_the_default_deployment_and_an_unknown_one(endpoint, demo_data):
    with pytest.raises(ValidationError) as err:
        comparison.start(endpoint, input_uri=demo_data, candidate="blue")
    assert err.value.code == "candidate_is_default"
    with pytest.raises(ValidationError) as err:
        comparison.start(endpoint, input_uri=demo_data, candidate="nope")
    assert err.value.code == "unknown_deployment"
    assert not BatchJob.objects.exists() and not Comparison.objects.exists()


@pytest.mark.django_db
def test_a_comparison_fails_when_one_of_its_jobs_fails(endpoint, demo_data, second_deployment):
    started = comparison.start(endpoint, input_uri=demo_data, candidate="green")
    assert (started.baseline.deployment_name, started.candidate.deployment_name) == ("blue", "green")
    assert started.baseline.input_uri == started.candidate.input_uri == started.input_uri
    started.candidate.mark_failed("boom")
    settled = comparison.refresh(started)
    assert settled.state == Comparison.FAILED and "The job on green ended Failed: boom" in settled.error


@pytest.mark.integration
def test_compare_two_models_through_the_queue(endpoint, demo_data, forest_deployment, qcluster):
    started = comparison.start(endpoint, input_uri=demo_data, candidate="green")

    def done():
        started.refresh_from_db()
        return started.state in (Comparison.COMPLETED, Comparison.FAILED)

    wait_for(done, timeout=240, message=lambda: f"the comparison; qcluster said:\n{qcluster.output()[-3000:]}")
    assert started.state == Comparison.COMPLETED, started.error

    store = Datastore.get_default().client()
    base, cand = (
        pd.read_csv(io.BytesIO(store.read_bytes(job.output_file_path))) for job in (started.baseline, started.candidate)
    )
    both = base.merge(cand, on=["file_name", "row"], suffixes=("_base", "_cand"))
    assert len(both) == 150
    report = started.report
    assert report["kind"] == "classifier" and report["compared"] == 150
    assert report["agreement"] == pytest.approx((both.prediction_base == both.prediction_cand).mean())
    expected = pd.crosstab(both.prediction_base, both.prediction_cand)
    labels = sorted(set(expected.index) | set(expected.columns))
    expected = expected.reindex(index=labels, columns=labels, fill_value=0)
    assert report["matrix"]["labels"] == [str(label) for label in labels]
    assert report["matrix"]["counts"] == expected.values.tolist()
    differing = both[both.prediction_base != both.prediction_cand]
    assert [(r["file"], int(r["row"])) for r in report["top"]] == list(zip(differing.file_name, differing.row))[
        : comparison.TOP_ROWS
    ]


@pytest.mark.django_db
def test_memory_stays_flat_for_big_outputs(endpoint):
    """40 000 rows a side (a regressor: two streamed passes): the report's peak memory stays far below the size
    of either output held in memory."""
    import tracemalloc

    rows = 40_000
    base_values = np.arange(rows) / 7
    # rows are numbered within their file, as the engine writes them
    lines = [
        f"{i if i < rows // 2 else i - rows // 2},{v:.6f},{'a.csv' if i < rows // 2 else 'b.csv'}"
        for i, v in enumerate(base_values)
    ]
    base = _job_with_output(endpoint, "base", "row,prediction,file_name\n" + "\n".join(lines) + "\n")
    shifted = [
        f"{i if i < rows // 2 else i - rows // 2},{v + (i % 3) * 0.5:.6f},{'a.csv' if i < rows // 2 else 'b.csv'}"
        for i, v in enumerate(base_values)
    ]
    cand = _job_with_output(endpoint, "cand", "row,prediction,file_name\n" + "\n".join(shifted) + "\n")
    size = len("\n".join(lines))
    del lines, shifted

    tracemalloc.start()
    try:
        report = comparison.build_report(base, cand)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report["compared"] == rows and report["agreed"] == len(range(0, rows, 3))
    assert report["differences"]["histogram"]["counts"][0] == report["agreed"]
    assert peak < size / 4, (peak, size)  # measured: about 1/8


@pytest.mark.django_db
def test_a_comparison_fails_as_soon_as_the_engine_ends_one_of_its_jobs(endpoint, demo_data, second_deployment):
    """Nobody opens the report: the engine settles it when the job ends (here: canceled while it ran)."""

    started = comparison.start(endpoint, input_uri=demo_data, candidate="green")
    BatchJob.objects.filter(pk=started.candidate_id).update(status=Status.CANCEL_REQUESTED)
    lifecycle.finish_canceled(started.candidate_id)
    settled = Comparison.objects.get(pk=started.pk)
    assert settled.state == Comparison.FAILED and "The job on green ended Canceled" in settled.error
