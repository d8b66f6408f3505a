"""+ Create job, the Runs tab, the job page (progress, errors, logs, outputs, Cancel) and /jobs/, via the test client."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import BatchJob, MiniBatch, Status
from workspace.models import Datastore

INPUT = {"input_type": "datastore", "input_datastore": "workspaceblobstore", "input_path": "demo/iris"}


def _create(client, endpoint, **data):
    return client.post(f"/endpoints/{endpoint.name}/jobs/create/", {"deployment": "blue", **INPUT, **data})


def _finished_job(endpoint, **fields):
    """A Completed job with its output and logs written, as the engine leaves them."""
    job = BatchJob.objects.create(
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri="azureml://datastores/x/paths/y",
        output_datastore="workspaceblobstore",
        output_path="jobs/done",
        status=Status.COMPLETED,
        files_total=2,
        files_failed=1,
        started=timezone.now() - timedelta(seconds=2),
        finished=timezone.now(),
        mini_batches_total=1,
        mini_batches_done=1,
        rows_out=3,
        settings={"output_file_name": "predictions.csv"},
        **fields,
    )
    MiniBatch.objects.create(
        job=job,
        index=0,
        files=["a.csv", "b.csv"],
        status=MiniBatch.COMPLETED,
        attempts=1,
        rows_out=3,
        files_failed=1,
        file_errors=[{"file": "b.csv", "type": "ValueError", "message": "invalid literal for int()"}],
    )
    store = Datastore.get_default().client()
    store.write("jobs/done/predictions.csv", b"row,prediction,file_name\n0,1,a.csv\n1,2,a.csv\n2,0,a.csv\n")
    store.write("jobs/done/logs/mini-batches/0.log", b"2026-01-01 INFO scored a.csv\n")
    return job


def test_create_job_preselects_the_default_deployment(signed_in, endpoint, second_deployment):
    page = signed_in.get(f"/endpoints/{endpoint.name}/jobs/create/").content.decode()
    assert '<option value="blue" selected>blue (default)</option>' in page
    for label in (
        "Override deployment settings",
        "Enable output configuration",
        "Registered dataset",
        "Input datastore",
        "Input path",
        "Public URL",
        "Output datastore",
        "Output path",
        "Scoring timeout (seconds)",
    ):
        assert label in page, label
    assert "/data/datastores/workspaceblobstore/browse/?target=id_input_path" in page


def test_create_job_shows_what_the_chosen_deployment_keeps(signed_in, endpoint, second_deployment):
    """The default deployment's settings were shown as what an empty field keeps whichever deployment was chosen."""
    type(second_deployment).objects.filter(pk=second_deployment.pk).update(
        output_format="parquet", output_file_name="predictions.parquet", mini_batch_size=7
    )
    page = signed_in.get(f"/endpoints/{endpoint.name}/jobs/create/").content.decode()
    assert '<option value="" selected>As the deployment (CSV (predictions.csv))</option>' in page
    assert 'placeholder="2"' in page and 'data-defaults="deployment-defaults"' in page
    assert '"green": {"instance_count": "1", "mini_batch_size": "7"' in page  # for the page's script
    refused = _create(signed_in, endpoint, deployment="green", input_path="demo/missing").content.decode()
    assert '<option value="" selected>As the deployment (Parquet)</option>' in refused
    assert 'placeholder="7"' in refused and 'placeholder="predictions.parquet"' in refused


def test_a_deployment_whose_environment_failed_is_marked_and_refused(signed_in, endpoint, demo_data):
    from endpoints.models import BatchDeployment
    from jobs.models import Environment

    Environment.objects.create(
        name="broken",
        requirements="nope-zz==1",
        state=Environment.FAILED,
        build_log="ERROR: No matching distribution found for nope-zz==1",
    )
    BatchDeployment.objects.create(
        endpoint=endpoint, name="broken", model_name="m", model_version="1", environment="broken:1"
    )
    page = signed_in.get(f"/endpoints/{endpoint.name}/jobs/create/").content.decode()
    assert '<option value="broken">broken (Failed)</option>' in page
    response = _create(signed_in, endpoint, deployment="broken")
    assert response.status_code == 200
    assert (
        "environment broken:1 failed to build: ERROR: No matching distribution found for nope-zz==1"
        in response.content.decode()
    )
    assert not BatchJob.objects.exists()


def test_create_job_without_deployments_says_what_to_do(signed_in, endpoint):
    endpoint.deployments.all().delete()
    page = signed_in.get(f"/endpoints/{endpoint.name}/jobs/create/").content.decode()
    assert "has no deployments yet" in page and "+ Add deployment" in page


def test_create_job_goes_to_the_job_page(signed_in, endpoint, demo_data):
    response = _create(signed_in, endpoint)
    job = BatchJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.name}/"
    assert job.input_uri == "azureml://datastores/workspaceblobstore/paths/demo/iris"
    assert job.deployment_name == "blue" and job.overrides == {} and job.created_by.username == "alice"
    assert job.output_path == f"jobs/{job.name}"


def test_overrides_count_only_when_asked(signed_in, endpoint, demo_data):
    _create(signed_in, endpoint, mini_batch_size=1, timeout=90)
    assert BatchJob.objects.get().overrides == {}
    _create(signed_in, endpoint, override="on", mini_batch_size=1, timeout=90, output_file_name="")
    job = BatchJob.objects.first()
    assert job.overrides == {"mini_batch_size": 1, "timeout": 90}
    assert job.mini_batches_total == 5 and job.settings["timeout"] == 90


def test_output_configuration(signed_in, endpoint, demo_data, second_deployment):
    _create(
        signed_in,
        endpoint,
        deployment="green",
        enable_output="on",
        output_datastore="workspaceblobstore",
        output_path="results/run-1",
    )
    job = BatchJob.objects.get()
    assert (job.deployment_name, job.output_path) == ("green", "results/run-1")


@pytest.mark.parametrize(
    "data,message",
    [
        ({"input_path": ""}, "Choose the input data for the job."),
        ({"input_type": "dataset"}, "Choose the input data for the job."),
        ({"input_type": "url"}, "Choose the input data for the job."),
        ({"input_path": "../etc"}, "may not contain"),
        ({"input_path": "missing"}, "does not exist"),
        ({"enable_output": "on", "output_path": ""}, "Give the output folder"),
        ({"override": "on", "error_threshold": -2}, "greater than or equal to -1"),
        # it said 'less than or equal to 9223372036854775807' (SQLite's bound of an integer column)
        ({"override": "on", "error_threshold": 10**12}, "less than or equal to 2000000000"),
    ],
)
def test_create_job_refusals_are_shown_on_the_form(signed_in, endpoint, demo_data, data, message):
    response = _create(signed_in, endpoint, **data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BatchJob.objects.exists()


def test_an_existing_output_file_is_refused_at_submit(signed_in, endpoint, demo_data):
    Datastore.get_default().client().write("taken/predictions.csv", b"x")
    response = _create(
        signed_in, endpoint, enable_output="on", output_datastore="workspaceblobstore", output_path="taken"
    )
    assert "already exists" in response.content.decode()


def test_refusals_are_next_to_their_field_and_shown_with_the_other_errors_at_once(signed_in, endpoint, demo_data):
    """They were a banner above the form, and only once every other field was right."""
    Datastore.get_default().client().write("taken/predictions.csv", b"x")
    response = _create(
        signed_in,
        endpoint,
        input_path="missing",
        override="on",
        error_threshold=-2,  # a field error of its own
        enable_output="on",
        output_datastore="workspaceblobstore",
        output_path="taken",
    )
    errors = response.context["form"].errors
    assert "greater than or equal to -1" in " ".join(errors["error_threshold"])
    assert "does not exist" in " ".join(errors["input_path"])
    assert "already exists" in " ".join(errors["output_path"])
    assert "__all__" not in errors


def test_a_refusal_at_submit_is_next_to_its_field(signed_in, endpoint, demo_data):
    Datastore.get_default().client().write("taken/predictions.csv", b"x")
    response = _create(
        signed_in, endpoint, enable_output="on", output_datastore="workspaceblobstore", output_path="taken"
    )
    assert "already exists" in " ".join(response.context["form"].errors["output_path"])
    response = _create(signed_in, endpoint, input_path="missing")
    assert "does not exist" in " ".join(response.context["form"].errors["input_path"])
    response = _create(signed_in, endpoint, override="on", output_file_name="../x.csv")
    assert list(response.context["form"].errors) == ["output_file_name"]


@pytest.mark.parametrize(
    "output_path,message",
    [
        ("taken/predictions.csv", "paths/taken/predictions.csv is a file. Choose a folder"),
        ("taken/predictions.csv/run-1", "is inside the file taken/predictions.csv. Choose a folder"),
    ],
)
def test_an_output_path_that_is_a_file_is_refused_at_submit(signed_in, endpoint, demo_data, output_path, message):
    Datastore.get_default().client().write("taken/predictions.csv", b"x")
    response = _create(
        signed_in, endpoint, enable_output="on", output_datastore="workspaceblobstore", output_path=output_path
    )
    assert message in response.content.decode()
    assert not BatchJob.objects.exists()


def test_the_job_page_says_which_input_files_were_skipped_and_why(signed_in, endpoint, demo_data):
    Datastore.get_default().client().write("demo/iris/notes.txt", b"not data")
    _create(signed_in, endpoint)
    job = BatchJob.objects.get()
    assert not any(f.endswith("notes.txt") for mb in job.mini_batches.all() for f in mb.files)
    page = signed_in.get(job.get_absolute_url()).content.decode()
    assert (
        "Skipped 1 file of an unsupported type (.txt): notes.txt; the engine reads .csv, .json, .jsonl, .parquet, .pqt"
        " and images (" in page
    )


def test_an_output_file_name_with_folders_is_refused_as_typed(signed_in, endpoint, demo_data):
    response = _create(signed_in, endpoint, override="on", output_file_name="../../evil.csv")
    assert (
        "Output file name &#x27;../../evil.csv&#x27; is not valid: a file name, without folders or &#x27;..&#x27;."
        in response.content.decode()
    )
    assert "batchjob-" not in response.content.decode()
    assert not BatchJob.objects.exists()


def test_a_dataset_input(signed_in, endpoint, demo_data):
    from workspace.models import Dataset

    create_page = f"/endpoints/{endpoint.name}/jobs/create/"
    assert "No datasets yet: create one under Data → + Create dataset." in signed_in.get(create_page).content.decode()
    Dataset.objects.create(name="iris", version=1, datastore=Datastore.get_default(), path="demo/iris")
    page = signed_in.get(create_page).content.decode()
    assert '<option value="azureml:iris:1">iris:1</option>' in page and "No datasets yet" not in page
    _create(signed_in, endpoint, input_type="dataset", dataset="azureml:iris:1")
    assert BatchJob.objects.get().files_total == 5


def test_runs_tab_lists_jobs_newest_first_and_polls_while_one_runs(signed_in, endpoint, demo_data):
    old = _finished_job(endpoint)
    _create(signed_in, endpoint)
    new = BatchJob.objects.exclude(pk=old.pk).get()
    page = signed_in.get(f"/endpoints/{endpoint.name}/runs/").content.decode()
    assert page.index(new.name) < page.index(old.name)
    assert 'hx-trigger="every 2s"' in page
    for text in ("Queued", "Completed", "blue", "azureml://datastores/workspaceblobstore/paths/demo/iris"):
        assert text in page
    fragment = signed_in.get(f"/endpoints/{endpoint.name}/runs/", headers={"HX-Request": "true", "HX-Target": "runs"})
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    new.status = Status.COMPLETED
    new.save()
    stopped = signed_in.get(f"/endpoints/{endpoint.name}/runs/", headers={"HX-Request": "true", "HX-Target": "runs"})
    assert stopped.status_code == 286
    assert "hx-trigger" not in stopped.content.decode()


def _completed_jobs(endpoint, n):
    for i in range(n):
        BatchJob.objects.create(
            endpoint=endpoint,
            endpoint_name=endpoint.name,
            deployment_name="blue",
            input_uri="x",
            output_datastore="workspaceblobstore",
            output_path=f"jobs/{i}",
            status=Status.COMPLETED,
        )


def test_runs_tab_pages(signed_in, endpoint):
    _completed_jobs(endpoint, 30)
    page = signed_in.get(f"/endpoints/{endpoint.name}/runs/").content.decode()
    assert "Page 1 of 2" in page and 'href="?page=2"' in page
    assert "Page 2 of 2" in signed_in.get(f"/endpoints/{endpoint.name}/runs/?page=2").content.decode()


def test_runs_tab_empty_state(signed_in, endpoint):
    assert "No jobs yet" in signed_in.get(f"/endpoints/{endpoint.name}/runs/").content.decode()


def test_job_page_shows_progress_errors_outputs_and_logs(signed_in, endpoint):
    job = _finished_job(endpoint)
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    for text in (
        "Completed",
        "Mini-batches: 1 done, 0 failed, 1 total",
        "Files: 1 done, 1 failed, 2 total",
        "1.5 rows/s",
        "Error summary",
        "invalid literal for int()",
        "Download predictions.csv",
        "First rows of predictions.csv",
        '<th scope="col">prediction</th>',
        "logs/job_result.txt",
        "Logs of mini-batch 0",
    ):
        assert text in page, text
    assert "Cancel</button>" not in page


def test_job_page_counts_every_mini_batch_beyond_those_it_lists(signed_in, endpoint):
    job = _finished_job(endpoint)
    BatchJob.objects.filter(pk=job.pk).update(files_total=522, mini_batches_total=521, mini_batches_done=521)
    MiniBatch.objects.bulk_create(
        MiniBatch(job=job, index=i, files=[f"f{i}.csv"], status=MiniBatch.COMPLETED, attempts=1) for i in range(1, 520)
    )
    MiniBatch.objects.create(
        job=job,
        index=520,
        files=["late.csv"],
        status=MiniBatch.COMPLETED,
        attempts=1,
        files_failed=1,
        file_errors=[{"file": "late.csv", "type": "SchemaMismatch", "message": "missing column 'x'"}],
    )
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert "Files: 520 done, 1 failed, 522 total" in page  # a.csv and f1..f519; b.csv failed
    assert "late.csv" in page and "missing column &#x27;x&#x27;" in page and "2 errors." in page
    assert "Page 1 of 11" in page and "logs/mini-batches.csv</a> lists every mini-batch." in page


@pytest.mark.django_db
def test_the_mini_batch_table_pages_and_filters_failed_only(signed_in, endpoint):
    """150 mini-batches made a 6,500 px page: 50 a page, and Failed only."""
    job = _finished_job(endpoint)
    job.mini_batches.all().delete()
    BatchJob.objects.filter(pk=job.pk).update(mini_batches_total=150, mini_batches_done=147, mini_batches_failed=3)
    failed = {7, 88, 140}
    MiniBatch.objects.bulk_create(
        MiniBatch(
            job=job,
            index=i,
            files=[f"f{i}.csv"],
            status=MiniBatch.FAILED if i in failed else MiniBatch.COMPLETED,
            attempts=1,
            error="boom" if i in failed else "",
        )
        for i in range(1, 151)
    )

    def indexes(page):
        return [int(i) for i in re.findall(r'aria-label="Logs of mini-batch (\d+)"', page)]

    first = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert indexes(first) == list(range(1, 51)) and "Page 1 of 3" in first
    assert "All (150)" in first and f'href="/jobs/{job.name}/?mini_batches=failed#mini-batches"' in first
    assert "Failed only (3)" in first
    second = signed_in.get(f"/jobs/{job.name}/?page=2").content.decode()
    assert indexes(second) == list(range(51, 101)) and "Page 2 of 3" in second
    only_failed = signed_in.get(f"/jobs/{job.name}/?mini_batches=failed").content.decode()
    assert indexes(only_failed) == sorted(failed) and "Page 1 of" not in only_failed
    # htmx (the pager and the filter swap the status region in place) gets the region only
    region = signed_in.get(f"/jobs/{job.name}/?page=3", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-status")
    assert indexes(region.content.decode()) == list(range(101, 151))
    assert "<html" not in region.content.decode()


def test_the_error_summary_counts_all_and_lists_the_first_50(signed_in, endpoint):
    job = _finished_job(endpoint)
    MiniBatch.objects.bulk_create(
        MiniBatch(
            job=job,
            index=i,
            files=[f"f{i}.csv"],
            status=MiniBatch.COMPLETED,
            attempts=1,
            files_failed=1,
            file_errors=[{"file": f"f{i}.csv", "type": "SchemaMismatch", "message": "missing column"}],
        )
        for i in range(1, 2000)
    )
    MiniBatch.objects.filter(job=job, index=7).update(rows_failed=3)
    MiniBatch.objects.filter(job=job, index=9).update(status=MiniBatch.FAILED, error="timed out")
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert "2002 errors (the first 50 shown; all in" in page  # 2000 failed files, rows set aside once, one failure
    assert "f49.csv" in page and "f50.csv" not in page


def test_job_page_polls_until_finished(signed_in, endpoint, demo_data):
    _create(signed_in, endpoint)
    job = BatchJob.objects.get()
    page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert 'hx-trigger="every 2s"' in page and "Cancel</button>" in page
    headers = {"HX-Request": "true", "HX-Target": "job-status"}
    assert signed_in.get(f"/jobs/{job.name}/", headers=headers).status_code == 200
    job.mark_failed("boom")
    response = signed_in.get(f"/jobs/{job.name}/", headers=headers)
    assert response.status_code == 286 and "boom" in response.content.decode()


def test_cancel_a_running_job(signed_in, endpoint, demo_data):
    _create(signed_in, endpoint)
    job = BatchJob.objects.get()
    # a visit (the sign-in page sends back there when the session expired as Cancel was pressed): it was a bare 405
    visit = signed_in.get(f"/jobs/{job.name}/cancel/", follow=True)
    assert visit.redirect_chain == [(f"/jobs/{job.name}/", 302)]
    assert "Nothing was done: press Cancel on this page to do it." in visit.content.decode()
    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert signed_in.get(f"/jobs/{job.name}/retry/")["Location"] == f"/jobs/{job.name}/"
    assert (
        signed_in.get(f"/endpoints/{endpoint.name}/jobs/preview/")["Location"]
        == f"/endpoints/{endpoint.name}/jobs/create/"
    )
    response = signed_in.post(f"/jobs/{job.name}/cancel/")
    assert response["Location"] == f"/jobs/{job.name}/"
    job.refresh_from_db()
    assert job.status in (Status.CANCEL_REQUESTED, Status.CANCELED)


def test_logs_viewer(signed_in, endpoint):
    job = _finished_job(endpoint)
    page = signed_in.get(f"/jobs/{job.name}/logs/logs/mini-batches/0.log").content.decode()
    assert "scored a.csv" in page and "<html" in page
    fragment = signed_in.get(f"/jobs/{job.name}/logs/logs/mini-batches/0.log", headers={"HX-Request": "true"})
    assert "scored a.csv" in fragment.content.decode() and "<html" not in fragment.content.decode()
    assert "not written yet" in signed_in.get(f"/jobs/{job.name}/logs/logs/job_result.txt").content.decode()
    assert signed_in.get(f"/jobs/{job.name}/logs/../secret.txt").status_code == 404
    assert signed_in.get(f"/jobs/{job.name}/logs/other.txt").status_code == 404


def test_a_log_under_a_file_is_a_404_with_a_message(signed_in, endpoint):
    job = _finished_job(endpoint)
    BatchJob.objects.filter(pk=job.pk).update(output_path="jobs/done/predictions.csv")  # as before paths were checked
    url = f"/jobs/{job.name}/logs/logs/mini-batches/0.log"
    response = signed_in.get(url)
    assert response.status_code == 404 and "not written yet" in response.content.decode()
    assert "not written yet" in signed_in.get(url, headers={"HX-Request": "true"}).content.decode()


def test_download_predictions(signed_in, endpoint):
    job = _finished_job(endpoint)
    response = signed_in.get(f"/jobs/{job.name}/download/predictions.csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"row,prediction,file_name")


def test_jobs_list_filters_by_status_and_endpoint(signed_in, endpoint, demo_data):
    done = _finished_job(endpoint)
    _create(signed_in, endpoint)
    queued = BatchJob.objects.exclude(pk=done.pk).get()
    BatchJob.objects.create(
        endpoint_name="gone", deployment_name="x", input_uri="x", output_datastore="w", output_path="o"
    )
    link = 'href="/jobs/{}/"'.format
    page = signed_in.get("/jobs/?status=Completed").content.decode()
    assert link(done.name) in page and link(queued.name) not in page
    page = signed_in.get(f"/jobs/?endpoint={endpoint.name}").content.decode()
    assert link(done.name) in page and link(queued.name) in page and "gone</td>" not in page
    assert "No jobs match" in signed_in.get("/jobs/?status=Failed").content.decode()
    page = signed_in.get("/jobs/?status=Bogus").content.decode()  # a filter that is no choice says so
    assert "Select a valid choice. Bogus is not one of the available choices." in page
    assert link(done.name) not in page and "No jobs match" in page


@pytest.mark.django_db
def test_home_says_what_to_do_first(signed_in):
    page = signed_in.get("/").content.decode()
    assert "No jobs yet" in page and "No batch endpoints yet" in page


def test_runs_tab_pager_turns_pages_in_place_with_htmx_and_stays_plain_links(signed_in, endpoint):
    _completed_jobs(endpoint, 30)
    page = signed_in.get(f"/endpoints/{endpoint.name}/runs/").content.decode()
    assert '<a href="?page=2" hx-get="?page=2">Next</a>' in page  # a link without JavaScript, a swap with it
    assert 'hx-target="#runs" hx-swap="outerHTML" hx-push-url="true"' in page
    htmx = {"HX-Request": "true", "HX-Target": "runs"}
    fragment = signed_in.get(f"/endpoints/{endpoint.name}/runs/?page=2", headers=htmx)
    text = fragment.content.decode()
    assert fragment.status_code == 286 and "<html" not in text  # every job finished: no polling either
    assert "Page 2 of 2" in text and text.startswith('<div id="runs"') and "hx-trigger" not in text
    assert '<a href="?page=1" hx-get="?page=1">Previous</a>' in text
    assert "HX-Request" in fragment["Vary"]
    # Back/forward to a pushed URL: htmx asks for the whole page again.
    restored = signed_in.get(
        f"/endpoints/{endpoint.name}/runs/?page=2", headers={**htmx, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.content.decode() and "Page 2 of 2" in restored.content.decode()


def test_a_comparisons_jobs_link_back_to_its_report(signed_in, endpoint, demo_data, second_deployment):
    from jobs import comparison

    started = comparison.start(endpoint, input_uri=demo_data, candidate="green")
    report = f"/endpoints/{endpoint.name}/comparisons/{started.pk}/"
    for job, side in ((started.baseline, "baseline"), (started.candidate, "candidate")):
        page = signed_in.get(f"/jobs/{job.name}/").content.decode()
        assert f'Started by</dt><dd>Comparison ({side}) <a href="{report}">blue vs green</a>' in page
    assert "Started by" not in signed_in.get(f"/jobs/{_finished_job(endpoint).name}/").content.decode()


@pytest.mark.django_db
def test_create_job_fills_input_path_with_the_demo_data_when_it_is_the_only_data(signed_in, endpoint, demo_data):
    page = signed_in.get(f"/endpoints/{endpoint.name}/jobs/create/").content.decode()
    assert 'name="input_path" value="demo/iris"' in page


@pytest.mark.django_db
def test_create_job_leaves_input_path_empty_without_the_demo_data(signed_in, endpoint):
    from workspace import demo
    from workspace.models import Datastore

    Datastore.get_default().client().delete(demo.DEMO_FOLDER)
    page = signed_in.get(f"/endpoints/{endpoint.name}/jobs/create/").content.decode()
    assert 'name="input_path" value=' not in page
