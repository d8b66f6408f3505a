"""The endpoint's Schedules tab, + Create schedule (presets, cron validation, output), the schedule page with its
history, Run now, Enable/Disable and Delete, via the test client."""

import pytest
from django_q.models import Schedule as QSchedule

from jobs.models import BatchJob, Status
from jobs.schedules.models import Schedule, ScheduleRun

FORM = {
    "name": "nightly",
    "input_datastore": "workspaceblobstore",
    "input_path": "demo/iris",
    "recurrence": "0 2 * * *",
}


def _ours():
    """django-q2's schedules of our schedules (the reclaim schedule is always there too)."""
    return QSchedule.objects.filter(func="jobs.schedules.runs.run_schedule")


def _create(client, endpoint, **data):
    return client.post(f"/endpoints/{endpoint.name}/schedules/create/", {**FORM, **data})


def _errors(response):
    return response.context["form"].errors.as_data()


def test_the_schedules_tab_lists_nothing_yet_and_offers_create(signed_in, endpoint):
    page = signed_in.get(f"/endpoints/{endpoint.name}/schedules/").content.decode()
    assert 'aria-current="page">Schedules</a>' in page and "No schedules yet" in page
    assert f'href="/endpoints/{endpoint.name}/schedules/create/"' in page


def test_create_form_offers_the_deployments_the_default_and_the_presets(signed_in, endpoint, second_deployment):
    page = signed_in.get(f"/endpoints/{endpoint.name}/schedules/create/").content.decode()
    assert '<option value="" selected>Default deployment (blue)</option>' in page and '<option value="green">' in page
    for label in (
        "Schedule name",
        "Input datastore",
        "Input path",
        "Enable output configuration",
        "Output path",
        "Every hour",
        "Every day at 02:00",
        "Custom (cron expression)",
        "Cron expression",
    ):
        assert label in page, label
    assert "/data/datastores/workspaceblobstore/browse/?target=id_input_path" in page


def test_a_preset_becomes_a_django_q_cron_schedule_of_our_task(signed_in, endpoint):
    response = _create(signed_in, endpoint, cron="this is ignored")
    schedule = Schedule.objects.get()
    assert response.status_code == 302 and response["Location"] == "/schedules/nightly/"
    assert schedule.cron == "0 2 * * *" and schedule.enabled and schedule.created_by.username == "alice"
    assert schedule.input_uri == "azureml://datastores/workspaceblobstore/paths/demo/iris"
    assert (schedule.output_datastore, schedule.output_path, schedule.deployment_name) == ("", "", "")
    q = _ours().get()
    assert (q.func, q.schedule_type, q.cron, q.args, q.cluster) == (
        "jobs.schedules.runs.run_schedule",
        QSchedule.CRON,
        "0 2 * * *",
        f"({schedule.pk},)",
        "cpu-cluster",
    )
    assert (q.next_run.hour, q.next_run.minute) == (2, 0)
    page = signed_in.get(f"/endpoints/{endpoint.name}/schedules/").content.decode()
    assert "Every day at 02:00" in page and q.next_run.strftime("%Y-%m-%d %H:%M") in page


def test_a_custom_cron_expression_is_kept(signed_in, endpoint, second_deployment):
    _create(
        signed_in,
        endpoint,
        recurrence="custom",
        cron=" 30  6 * * 1-5 ",
        deployment_name="green",
        enable_output="on",
        output_datastore="workspaceblobstore",
        output_path="scored/weekdays",
    )
    schedule = Schedule.objects.get()
    assert (schedule.cron, schedule.deployment_name, schedule.output_path) == (
        "30 6 * * 1-5",
        "green",
        "scored/weekdays",
    )
    assert schedule.next_run.weekday() < 5 and (schedule.next_run.hour, schedule.next_run.minute) == (6, 30)


@pytest.mark.parametrize(
    "cron, code, says",
    [
        ("", "cron_required", "Give a cron expression"),
        ("0 2 * *", "cron_fields", "has 4"),
        (
            "61 * * * *",
            "cron_invalid",
            "not a valid cron expression: the minute field &#x27;61&#x27; is wrong (it takes 0-59)",
        ),
        ("0 2 * * mon-funday", "cron_invalid", "the day-of-week field &#x27;mon-funday&#x27; is wrong"),
        ("0 0 30 2 *", "cron_never", "never runs: no date matches its day-of-month and month"),  # 30 February
    ],
)
def test_a_bad_cron_expression_is_refused_with_what_to_fix(signed_in, endpoint, cron, code, says):
    response = _create(signed_in, endpoint, recurrence="custom", cron=cron)
    assert response.status_code == 200 and not Schedule.objects.exists() and not _ours().exists()
    [error] = _errors(response)["cron"]
    assert error.code == code and says in response.content.decode()


@pytest.mark.parametrize(
    "data, field, code",
    [
        ({"name": "1bad"}, "name", "invalid_endpoint_name"),
        ({"input_path": "../etc"}, "input_path", "path_traversal"),
        ({"enable_output": "on", "output_path": ""}, "output_path", None),
    ],
)
def test_other_bad_inputs_are_refused(signed_in, endpoint, data, field, code):
    response = _create(signed_in, endpoint, **data)
    assert field in _errors(response) and not Schedule.objects.exists()
    assert code is None or _errors(response)[field][0].code == code


def test_schedule_names_are_unique(signed_in, endpoint):
    _create(signed_in, endpoint)
    response = _create(signed_in, endpoint)
    assert "already exists" in response.content.decode() and Schedule.objects.count() == 1


def test_run_now_records_a_queued_run_and_sends_its_task(signed_in, endpoint, django_capture_on_commit_callbacks):
    from django_q.models import OrmQ

    _create(signed_in, endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post("/schedules/nightly/run/")
    run = ScheduleRun.objects.get()
    assert response.status_code == 302 and run.trigger == "Run now" and run.status == "Queued"
    [task] = [q.task for q in OrmQ.objects.all()]
    assert task["func"] == "jobs.schedules.runs.run_schedule" and task["kwargs"]["run_id"] == run.pk
    page = signed_in.get("/schedules/nightly/").content.decode()
    assert "Run now" in page and 'hx-trigger="every 2s"' in page  # the history follows the queued run
    visit = signed_in.get("/schedules/nightly/run/", follow=True)  # not a bare 405: the schedule's page
    assert visit.redirect_chain == [("/schedules/nightly/", 302)] and ScheduleRun.objects.count() == 1
    assert "Nothing was done: press Run now on this page to do it." in visit.content.decode()


def test_the_schedule_page_shows_its_history_with_each_runs_job(signed_in, endpoint):
    _create(signed_in, endpoint)
    schedule = Schedule.objects.get()
    job = BatchJob.objects.create(
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri=schedule.input_uri,
        output_datastore="workspaceblobstore",
        output_path="jobs/x",
        status=Status.COMPLETED,
    )
    ScheduleRun.objects.create(
        schedule=schedule,
        outcome=ScheduleRun.SUBMITTED,
        files_found=5,
        files={"demo/iris/a.csv": "0" * 64},
        job=job,
        job_name=job.name,
    )
    many = ScheduleRun.objects.create(
        schedule=schedule,
        outcome=ScheduleRun.SUBMITTED,
        files_found=25,
        job=job,
        files={f"demo/iris/f{i:02d}.csv": "0" * 64 for i in range(25)},
    )
    ScheduleRun.objects.create(schedule=schedule, outcome=ScheduleRun.NO_NEW_FILES, files_found=5)
    page = signed_in.get("/schedules/nightly/").content.decode()
    assert f'<a href="/jobs/{job.name}/">{job.name}</a>' in page and "Completed" in page and "No new files" in page
    assert "<details><summary>1</summary>a.csv</details>" in page  # which files each run took
    assert "<summary>25</summary>f00.csv, f01.csv," in page and "f19.csv and 5 more</details>" in page
    assert many.new_file_names == ([f"f{i:02d}.csv" for i in range(20)], 5)
    assert 'hx-trigger="every 2s"' not in page  # nothing left to follow
    tab = signed_in.get(f"/endpoints/{endpoint.name}/schedules/").content.decode()
    assert "No new files" in tab  # the last status
    job_page = signed_in.get(f"/jobs/{job.name}/").content.decode()
    assert 'Started by</dt><dd>Schedule <a href="/schedules/nightly/">nightly</a>' in job_page  # and back


def test_a_run_not_started_before_it_listed_shows_no_file_counts(signed_in, endpoint):
    """A run refused before listing (another run listing, a folder gone) read 'Files found 0 · New files 0', as if the
    folder were empty."""
    _create(signed_in, endpoint)
    schedule = Schedule.objects.get()
    ScheduleRun.objects.create(schedule=schedule, outcome=ScheduleRun.NOT_STARTED, message="Path 'x' does not exist.")
    page = signed_in.get("/schedules/nightly/").content.decode()
    assert "<td>—</td><td>—</td>" in page and "<td>0</td>" not in page
    ScheduleRun.objects.create(schedule=schedule, outcome=ScheduleRun.NO_NEW_FILES, files_found=0)
    page = signed_in.get("/schedules/nightly/").content.decode()
    assert "<td>0</td><td>0</td>" in page  # an empty folder, listed


def test_disable_removes_the_django_q_schedule_and_enable_brings_it_back(signed_in, endpoint):
    _create(signed_in, endpoint)
    signed_in.post("/schedules/nightly/toggle/")
    schedule = Schedule.objects.get()
    assert not schedule.enabled and not _ours().exists() and schedule.next_run is None
    assert ">Enable</button>" in signed_in.get("/schedules/nightly/").content.decode()
    signed_in.post("/schedules/nightly/toggle/")
    schedule.refresh_from_db()
    assert schedule.enabled and _ours().get().pk == schedule.q_schedule_id


def test_delete_asks_then_removes_the_schedule_but_keeps_its_jobs(signed_in, endpoint):
    _create(signed_in, endpoint)
    assert "stops its runs" in signed_in.get("/schedules/nightly/delete/").content.decode()
    response = signed_in.post("/schedules/nightly/delete/")
    assert response["Location"] == f"/endpoints/{endpoint.name}/schedules/"
    assert not Schedule.objects.exists() and not _ours().exists()
    assert signed_in.get("/schedules/nightly/").status_code == 404


def test_schedule_pages_need_a_signed_in_user(client, endpoint):
    for url in (f"/endpoints/{endpoint.name}/schedules/", f"/endpoints/{endpoint.name}/schedules/create/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")


def test_a_deployment_a_schedule_runs_on_cannot_be_deleted(signed_in, endpoint, second_deployment):
    _create(signed_in, endpoint, deployment_name="green")
    response = signed_in.post(f"/endpoints/{endpoint.name}/deployments/green/delete/")
    assert response.status_code == 200 and "Schedule nightly runs on &#x27;green&#x27;" in response.content.decode()
    assert endpoint.deployments.filter(name="green").exists()


def test_deleting_the_endpoint_deletes_its_schedules_and_what_fires_them(signed_in, endpoint):
    _create(signed_in, endpoint)
    assert "Its schedules are deleted too." in signed_in.get(f"/endpoints/{endpoint.name}/delete/").content.decode()
    signed_in.post(f"/endpoints/{endpoint.name}/delete/")
    assert not Schedule.objects.exists() and not _ours().exists()


def test_edit_changes_the_recurrence_and_the_deployment_but_not_the_name(signed_in, endpoint, second_deployment):
    _create(signed_in, endpoint)
    page = signed_in.get("/schedules/nightly/edit/").content.decode()
    assert 'value="0 2 * * *" selected' in page and "Edit schedule nightly" in page and ">Save</button>" in page
    response = signed_in.post(
        "/schedules/nightly/edit/",
        {**FORM, "name": "renamed", "recurrence": "custom", "cron": "15 3 * * 6", "deployment_name": "green"},
    )
    assert response["Location"] == "/schedules/nightly/"
    schedule = Schedule.objects.get()
    assert (schedule.name, schedule.cron, schedule.deployment_name, schedule.created_by.username) == (
        "nightly",
        "15 3 * * 6",
        "green",
        "alice",
    )
    q = _ours().get()
    assert q.pk == schedule.q_schedule_id and q.cron == "15 3 * * 6"
    assert (q.next_run.weekday(), q.next_run.hour, q.next_run.minute) == (5, 3, 15)
    page = signed_in.get("/schedules/nightly/edit/").content.decode()
    assert '<option value="custom" selected>' in page and 'value="15 3 * * 6"' in page
