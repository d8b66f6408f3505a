"""Every deployment setting, with Azure's defaults, changes what a job does."""

import io
import math

import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from endpoints.models import BatchDeployment
from jobs import tasks
from jobs.models import MiniBatch, Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_exists, output_frame, read_output, script_deployment, write_inputs

pytestmark = pytest.mark.django_db

ECHO = """
import os
def run(mini_batch):
    return [{"file": os.path.basename(p), "greeting": os.environ.get("GREETING", "")} for p in mini_batch]
"""


def write_iris_inputs(folder: str, good: int, bad: int) -> str:
    """Bad files come first, so a low threshold stops the job before the good ones run."""
    from sklearn.datasets import load_iris

    from workspace.models import Datastore

    store = Datastore.get_default()
    for i in range(bad):
        store.client().write(f"{folder}/a-bad-{i}.csv", b"colour,size\nred,3\n")
    for i in range(good):
        store.client().write(
            f"{folder}/b-good-{i}.csv", load_iris(as_frame=True).data.iloc[:10].to_csv(index=False).encode()
        )
    return store.uri(folder)


def test_the_defaults_are_azures():
    d = BatchDeployment()
    assert (
        d.instance_count,
        d.max_concurrency_per_instance,
        d.mini_batch_size,
        d.output_action,
        d.output_file_name,
        d.max_retries,
        d.timeout,
        d.error_threshold,
        d.logging_level,
        d.environment_variables,
    ) == (1, 1, 10, "append_row", "predictions.csv", 3, 30, -1, "info", {})


@pytest.mark.parametrize("size", [1, 2, 5, 10])
def test_mini_batch_size_counts_files(endpoint, size):
    uri = write_inputs("sizes", files=7)
    job = submit_job(endpoint, input_uri=uri, overrides={"mini_batch_size": size})
    assert job.mini_batches_total == math.ceil(7 / size)
    assert [len(mb.files) for mb in job.mini_batches.order_by("index")] == [min(size, 7 - i) for i in range(0, 7, size)]


@pytest.mark.parametrize("instances,concurrency,in_flight", [(1, 1, 1), (2, 1, 2), (2, 3, 6), (4, 4, 8)])
def test_instances_times_concurrency_is_the_most_in_flight(endpoint, instances, concurrency, in_flight):
    BatchDeployment.objects.filter(pk=endpoint.default_deployment_id).update(max_concurrency_per_instance=concurrency)
    endpoint.default_deployment.refresh_from_db()
    job = submit_job(
        endpoint,
        input_uri=write_inputs("flight", files=8),
        overrides={"instance_count": instances, "mini_batch_size": 1},
    )
    tasks.dispatch(job.pk)
    assert job.mini_batches.filter(status=MiniBatch.QUEUED).count() == in_flight
    tasks.dispatch(job.pk)  # a second dispatch adds nothing while they are in flight
    assert job.mini_batches.filter(status=MiniBatch.QUEUED).count() == in_flight


def test_a_finished_mini_batch_frees_its_slot(endpoint, settings):
    settings.JOBS_LANE_SECONDS = 0  # one mini-batch per task (else the task takes the next one itself)
    job = submit_job(endpoint, input_uri=write_inputs("slot", files=3), overrides={"mini_batch_size": 1})
    tasks.dispatch(job.pk)
    first = job.mini_batches.get(status=MiniBatch.QUEUED)
    tasks.run_minibatch(first.pk)
    assert list(
        job.mini_batches.exclude(status=MiniBatch.PENDING).order_by("index").values_list("status", flat=True)
    ) == [MiniBatch.COMPLETED, MiniBatch.QUEUED]


@pytest.mark.parametrize(
    "action,file_name,predictions",
    [
        ("append_row", "predictions.csv", True),
        ("summary_only", "", False),
    ],
)
def test_output_action(endpoint, demo_data, action, file_name, predictions):
    BatchDeployment.objects.filter(pk=endpoint.default_deployment_id).update(
        output_action=action, output_file_name=file_name
    )
    endpoint.default_deployment.refresh_from_db()
    job = drive(submit_job(endpoint, input_uri=demo_data))
    assert job.status == Status.COMPLETED and job.rows_out == 150
    assert output_exists(job, "predictions.csv") == predictions
    assert output_exists(job, "logs/job_progress_overview.txt") and output_exists(job, "logs/mini-batches/0.log")


def test_output_file_name_override(endpoint, demo_data):
    job = drive(submit_job(endpoint, input_uri=demo_data, overrides={"output_file_name": "scores.csv"}))
    assert len(output_frame(job, "scores.csv")) == 150 and not output_exists(job, "predictions.csv")


def test_summary_only_refuses_an_output_file_name(endpoint):
    deployment = BatchDeployment(
        endpoint=endpoint,
        name="summary",
        model_name="m",
        model_version="1",
        output_action="summary_only",
        output_file_name="out.csv",
    )
    with pytest.raises(ValidationError) as err:
        deployment.full_clean()
    assert err.value.error_dict["output_file_name"][0].code == "output_file_with_summary_only"


@pytest.mark.parametrize("name", ["../../evil.csv", "a/b.csv", "..", "a\\b.csv"])
def test_an_output_file_name_is_a_name_not_a_path(endpoint, name):
    deployment = BatchDeployment(
        endpoint=endpoint, name="named", model_name="m", model_version="1", output_file_name=name
    )
    with pytest.raises(ValidationError) as err:
        deployment.full_clean()
    assert err.value.error_dict["output_file_name"][0].messages == [
        f"Output file name '{name}' is not valid: a file name, without folders or '..'."
    ]


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_max_retries_gives_each_failing_mini_batch_one_plus_max_retries_attempts(endpoint, tmp_path, retries):
    script_deployment(
        endpoint, tmp_path, "def run(mini_batch):\n    raise RuntimeError('always')\n", max_retries=retries
    )
    job = drive(submit_job(endpoint, input_uri=write_inputs("retries", files=2), deployment_name="script"))
    mb = job.mini_batches.get()
    assert (mb.status, mb.attempts) == (MiniBatch.FAILED, 1 + retries)
    assert "RuntimeError: always" in mb.error
    # nothing was scored: Failed with the mini-batch's error (error_threshold -1 fails no job that scored something)
    assert job.files_failed == 2 and job.status == Status.FAILED and "RuntimeError: always" in job.error


def test_a_retry_that_succeeds_writes_its_rows_once(endpoint, tmp_path):
    marker = tmp_path / "failed-once"
    script_deployment(
        endpoint,
        tmp_path,
        f"""
        from pathlib import Path
        def run(mini_batch):
            marker = Path({str(marker)!r})
            if not marker.exists():
                marker.touch()
                raise RuntimeError("first attempt fails")
            return [{{"file": p}} for p in mini_batch]
    """,
    )
    job = drive(submit_job(endpoint, input_uri=write_inputs("retry-once", files=3), deployment_name="script"))
    assert job.status == Status.COMPLETED and job.mini_batches.get().attempts == 2
    assert len(output_frame(job)) == 3 and job.files_failed == 0


def test_timeout_stops_a_sleeping_script_retries_it_then_counts_its_files(endpoint, tmp_path):
    script_deployment(
        endpoint,
        tmp_path,
        "import time\ndef run(mini_batch):\n    time.sleep(60)\n",
        timeout=1,
        max_retries=1,
        error_threshold=0,
    )
    job = drive(submit_job(endpoint, input_uri=write_inputs("sleepy", files=2), deployment_name="script"))
    mb = job.mini_batches.get()
    assert (mb.status, mb.attempts) == (MiniBatch.FAILED, 2)
    assert "did not finish within the timeout of 1 s" in mb.error
    assert job.status == Status.FAILED and "2 files failed, above the error threshold of 0" in job.error


def test_a_crashing_script_fails_its_attempts_only(endpoint, tmp_path):
    script_deployment(endpoint, tmp_path, "import os\ndef run(mini_batch):\n    os._exit(7)\n", max_retries=1)
    job = drive(submit_job(endpoint, input_uri=write_inputs("crashy", files=2), deployment_name="script"))
    mb = job.mini_batches.get()
    assert (mb.status, mb.attempts) == (MiniBatch.FAILED, 2) and "exited with code 7" in mb.error
    assert job.status == Status.FAILED and job.files_failed == 2 and "exited with code 7" in job.error


@pytest.mark.parametrize(
    "threshold,status",
    [(-1, Status.COMPLETED_WITH_ERRORS), (2, Status.COMPLETED_WITH_ERRORS), (1, Status.FAILED), (0, Status.FAILED)],
)
def test_error_threshold_counts_failed_files(endpoint, threshold, status):
    uri = write_iris_inputs("threshold", good=3, bad=2)
    job = drive(submit_job(endpoint, input_uri=uri, overrides={"error_threshold": threshold, "mini_batch_size": 1}))
    assert job.status == status, job.error
    summary = pd.read_csv(io.BytesIO(read_output(job, "logs/error_summary.csv")))
    assert set(summary["error_type"]) == {"SchemaMismatch"}
    if status == Status.FAILED:
        assert f"above the error threshold of {threshold}" in job.error
        assert not output_exists(job, "predictions.csv")
        assert job.mini_batches.filter(status=MiniBatch.CANCELED).exists()  # the good files never ran
        assert set(summary["file"]) <= {"threshold/a-bad-0.csv", "threshold/a-bad-1.csv"}
    else:
        assert sorted(summary["file"]) == ["threshold/a-bad-0.csv", "threshold/a-bad-1.csv"]
        assert len(output_frame(job)) == 30


@pytest.mark.parametrize(
    "level,present,absent",
    [
        ("debug", ["DEBUG", "INFO"], []),
        ("info", ["INFO"], ["DEBUG"]),
        ("warning", [], ["DEBUG", "INFO"]),
    ],
)
def test_logging_level_filters_the_mini_batch_log(endpoint, demo_data, level, present, absent):
    BatchDeployment.objects.filter(pk=endpoint.default_deployment_id).update(logging_level=level)
    endpoint.default_deployment.refresh_from_db()
    job = drive(submit_job(endpoint, input_uri=demo_data))
    log = read_output(job, "logs/mini-batches/0.log").decode()
    assert all(f" {word} " in log for word in present)
    assert not any(f" {word} " in log for word in absent)


def test_environment_variables_reach_the_scoring_code(endpoint, tmp_path):
    script_deployment(endpoint, tmp_path, ECHO, environment_variables={"GREETING": "hello from the deployment"})
    job = drive(submit_job(endpoint, input_uri=write_inputs("greet", files=2), deployment_name="script"))
    assert set(output_frame(job)["greeting"]) == {"hello from the deployment"}


def test_only_azures_settings_can_be_overridden_per_job(endpoint, demo_data):
    with pytest.raises(ValidationError) as err:
        submit_job(endpoint, input_uri=demo_data, overrides={"logging_level": "debug"})
    assert err.value.code == "not_overridable"
