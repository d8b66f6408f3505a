"""Bad-record isolation end to end (jobs/bad_records.py): bad rows are set aside in errors.csv, every good row is
scored, the job ends Completed with errors, and the error threshold counts files, rows or a percentage."""

import io
import json

import pandas as pd
import pytest
from django.urls import reverse

from jobs.models import BatchJob, Status
from jobs.submit import submit_job
from tests.conftest import wait_for
from tests.fixtures.api import check_response, run
from tests.fixtures.engine import drive, output_exists, output_frame, read_output
from tests.fixtures.resume import good_rows, input_frames, write_frames

BAD = {1: [2], 2: [0, 5]}  # file f01 row 2, file f02 rows 0 and 5


def errors_frame(job) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(read_output(job, "errors.csv")), keep_default_na=False)


def assert_equals_clean_run_over_good_rows(job, clean):
    """Same predictions, files and order as the clean run; each row keeps its number in the input file."""
    out, expected = output_frame(job), output_frame(clean)
    pd.testing.assert_frame_equal(out[["prediction", "file_name"]], expected[["prediction", "file_name"]])
    for name, frame in input_frames(bad=BAD).items():
        kept = [r for r in range(len(frame)) if frame["x"][r] >= 0]
        assert out[out["file_name"] == name]["row"].tolist() == kept


@pytest.mark.django_db
def test_bad_rows_are_set_aside_and_the_output_equals_a_clean_run_over_the_good_rows(picky_endpoint):
    frames = input_frames(bad=BAD)
    job = drive(submit_job(picky_endpoint, input_uri=write_frames("iso/in", frames)))
    clean = drive(submit_job(picky_endpoint, input_uri=write_frames("iso/good", good_rows(frames))))
    assert clean.status == Status.COMPLETED and not output_exists(clean, "errors.csv")
    assert job.status == Status.COMPLETED_WITH_ERRORS, job.error
    assert (job.rows_failed, job.files_partial, job.files_failed, job.rows_out) == (3, 2, 0, 21)
    assert_equals_clean_run_over_good_rows(job, clean)
    errors = errors_frame(job)
    assert list(errors.columns) == ["file", "row", "error_type", "message"]
    assert [(f.rsplit("/", 1)[-1], r) for f, r in zip(errors["file"], errors["row"])] == [
        ("f01.csv", 2),
        ("f02.csv", 0),
        ("f02.csv", 5),
    ]
    assert set(errors["error_type"]) == {"ValueError"}
    assert errors["message"].str.contains("x must not be negative").all()
    assert b"rows set aside: 3" in read_output(job, "logs/job_progress_overview.txt")


@pytest.mark.django_db
def test_dozens_of_bad_rows_among_thousands_lose_only_those_rows(picky_endpoint):
    """40 bad rows in a 3000-row file (more model calls than isolation's budget): the other 2960 are scored."""
    bad = {1: list(range(7, 3000, 75))}
    frames = input_frames(files=2, rows=3000, bad=bad)
    job = drive(submit_job(picky_endpoint, input_uri=write_frames("iso/dozens", frames)))
    clean = drive(submit_job(picky_endpoint, input_uri=write_frames("iso/dozens-good", good_rows(frames))))
    assert job.status == Status.COMPLETED_WITH_ERRORS and (job.rows_failed, job.files_failed) == (40, 0), job.error
    out = output_frame(job)
    pd.testing.assert_frame_equal(out[["prediction", "file_name"]], output_frame(clean)[["prediction", "file_name"]])
    assert out[out["file_name"] == "f01.csv"]["row"].tolist() == [r for r in range(3000) if r not in bad[1]]
    assert errors_frame(job)["row"].tolist() == bad[1]


@pytest.mark.django_db
def test_the_api_and_the_command_line_say_completed_with_errors_and_offer_errors_csv(api, picky_endpoint):
    job = drive(submit_job(picky_endpoint, input_uri=write_frames("iso/api", input_frames(bad={1: [2]}))))
    shown = check_response(api.get(f"/api/v1/jobs/{job.name}")).json()
    assert shown["status"] == "CompletedWithErrors"
    assert (shown["counts"]["rows_failed"], shown["counts"]["files_partial"], shown["counts"]["files_failed"]) == (
        1,
        1,
        0,
    )
    errors = check_response(api.get(shown["urls"]["outputs"]["errors.csv"]))
    assert b"".join(errors.streaming_content).startswith(b"file,row,error_type,message")
    assert json.loads(run("job", "show", "-n", job.name))["status"] == "CompletedWithErrors"
    streamed = run("job", "stream", "-n", job.name)  # exits 0: the job published its output
    assert f"Job {job.name} Completed with errors:" in streamed
    assert f"1 row and 0 files set aside: {job.output_uri}errors.csv" in streamed


@pytest.mark.django_db
def test_a_file_that_fails_as_a_whole_is_listed_in_errors_csv_without_a_row(picky_endpoint):
    frames = input_frames(files=2)
    uri = write_frames("iso/whole", frames)
    write_frames("iso/whole", {"f09.csv": pd.DataFrame({"colour": ["red"]})})
    job = drive(submit_job(picky_endpoint, input_uri=uri))
    assert job.status == Status.COMPLETED_WITH_ERRORS and job.files_failed == 1
    errors = errors_frame(job)
    assert errors["file"].str.endswith("f09.csv").tolist() == [True] and errors["row"].tolist() == [""]
    assert errors["error_type"].tolist() == ["SchemaMismatch"]


# 2 files with bad rows (3 rows) in 4 files of 6 rows: 3 of 24 rows = 12.5%.
@pytest.mark.parametrize(
    "unit,threshold,status",
    [
        (None, -1, Status.COMPLETED_WITH_ERRORS),  # Azure's default: failures never fail the job
        (None, 2, Status.COMPLETED_WITH_ERRORS),
        (None, 1, Status.FAILED),  # files is the default unit
        ("files", 2, Status.COMPLETED_WITH_ERRORS),
        ("files", 1, Status.FAILED),
        ("rows", 3, Status.COMPLETED_WITH_ERRORS),
        ("rows", 2, Status.FAILED),
        ("percent", 13, Status.COMPLETED_WITH_ERRORS),
        ("percent", 12, Status.FAILED),
    ],
)
@pytest.mark.django_db
def test_the_error_threshold_counts_files_rows_or_a_percentage(picky_endpoint, unit, threshold, status):
    overrides = {"error_threshold": threshold, **({"error_threshold_unit": unit} if unit else {})}
    job = drive(
        submit_job(picky_endpoint, input_uri=write_frames("iso/threshold", input_frames(bad=BAD)), overrides=overrides)
    )
    assert job.status == status, job.error
    if status == Status.FAILED:
        assert "above the error threshold" in job.error and not output_exists(job, "predictions.csv")
        assert not output_exists(job, ".staging")


@pytest.mark.django_db
def test_a_job_failing_on_its_threshold_keeps_the_rows_set_aside_so_far_and_its_page_says_why(
    picky_endpoint, signed_in
):
    job = drive(
        submit_job(
            picky_endpoint,
            input_uri=write_frames("iso/fail", input_frames(bad={1: [2, 4]})),
            overrides={"error_threshold": 0},
        )
    )
    assert job.status == Status.FAILED
    assert job.error == (
        "1 file with rows set aside, above the error threshold of 0. "
        "See errors.csv and logs/error_summary.csv for what failed."
    )
    errors = errors_frame(job)
    assert [(f.rsplit("/", 1)[-1], r) for f, r in zip(errors["file"], errors["row"])] == [
        ("f01.csv", 2),
        ("f01.csv", 4),
    ]
    summary = pd.read_csv(io.BytesIO(read_output(job, "logs/error_summary.csv")))
    assert [
        (f.rsplit("/", 1)[-1], t, m) for f, t, m in zip(summary["file"], summary["error_type"], summary["message"])
    ] == [("f01.csv", "RowsSetAside", "2 rows set aside: see errors.csv")]
    assert not output_exists(job, ".staging")

    page = signed_in.get(job.get_absolute_url()).content.decode()
    assert "Files: 2 done, 0 failed, 1 with rows set aside, 4 total" in page
    assert f"<dt>Rows scored</dt><dd>{job.rows_out} (no output published) · 2 rows set aside in 1 file" in page
    assert "Rows written" not in page
    assert "0 (2 rows set aside)" in page  # the mini-batch of f01
    assert "Download errors.csv" in page and "Rows and files set aside, from errors.csv" in page
    assert "Download predictions.csv" not in page
    assert signed_in.get(reverse("jobs:download", args=[job.name, "errors.csv"])).status_code == 200
    BatchJob.objects.filter(pk=job.pk).update(error="Too many rows set aside.")  # the job knows why, not its wording
    assert "Download errors.csv" in signed_in.get(job.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    "failed,partial,unit,threshold,message",
    [
        (1, 0, "files", 0, "1 file failed, above the error threshold of 0."),
        (2, 1, "files", 2, "2 files failed and 1 file with rows set aside, above the error threshold of 2."),
        (1, 0, "rows", 0, "1 row failed, above the error threshold of 0 rows."),
        (0, 0, "rows", 1, "2 rows failed, above the error threshold of 1 row."),
    ],
)
def test_the_threshold_s_reason_counts_in_good_english(failed, partial, unit, threshold, message):
    from jobs.bad_records import threshold_exceeded

    job = BatchJob(
        files_failed=failed,
        files_partial=partial,
        rows_failed=0 if failed else 2,
        settings={"error_threshold": threshold, "error_threshold_unit": unit},
    )
    assert threshold_exceeded(job).startswith(message)


@pytest.mark.django_db
def test_the_deployment_setting_applies_when_the_job_does_not_override_it(picky_endpoint):
    deployment = picky_endpoint.default_deployment
    deployment.error_threshold, deployment.error_threshold_unit = 2, "rows"
    deployment.save()
    job = drive(submit_job(picky_endpoint, input_uri=write_frames("iso/dep", input_frames(bad=BAD))))
    assert job.status == Status.FAILED and "3 rows failed, above the error threshold of 2 rows" in job.error


@pytest.mark.django_db
def test_a_percentage_above_100_is_refused_for_a_job_and_a_deployment(picky_endpoint):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="in percent of rows is at most 100 \\(-1: never fail\\), not 150"):
        submit_job(
            picky_endpoint,
            input_uri=write_frames("iso/pct", input_frames()),
            overrides={"error_threshold": 150, "error_threshold_unit": "percent"},
        )
    deployment = picky_endpoint.default_deployment
    deployment.error_threshold, deployment.error_threshold_unit = 101, "percent"
    with pytest.raises(ValidationError, match="at most 100"):
        deployment.full_clean()


@pytest.mark.django_db
def test_an_unknown_threshold_unit_is_refused(picky_endpoint):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="error_threshold_unit must be one of files, rows, percent"):
        submit_job(
            picky_endpoint,
            input_uri=write_frames("iso/unit", input_frames()),
            overrides={"error_threshold_unit": "lines"},
        )


@pytest.mark.integration
def test_a_real_cluster_sets_bad_rows_aside_and_completes_with_errors(picky_endpoint, qcluster):
    frames = input_frames(bad=BAD)
    job = submit_job(picky_endpoint, input_uri=write_frames("iso/cluster", frames))
    clean = submit_job(picky_endpoint, input_uri=write_frames("iso/cluster-good", good_rows(frames)))
    for each in (job, clean):
        wait_for(
            lambda: BatchJob.objects.get(pk=each.pk).is_finished, timeout=180, message=lambda: qcluster.output()[-3000:]
        )
        each.refresh_from_db()
    assert (job.status, clean.status) == (Status.COMPLETED_WITH_ERRORS, Status.COMPLETED), job.error
    assert_equals_clean_run_over_good_rows(job, clean)
    assert len(errors_frame(job)) == 3
