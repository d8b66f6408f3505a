"""The schedules' REST API: create (the form's checks, as coded errors), list, show with runs, run now, enable,
disable, delete; every answer checked against openapi.yaml."""

import pytest
from django_q.models import OrmQ

from jobs.schedules.models import Schedule, ScheduleRun
from tests.fixtures.api import check_response

pytestmark = pytest.mark.django_db
BODY = {"name": "nightly", "input": "azureml://datastores/workspaceblobstore/paths/incoming", "cron": "0 2 * * *"}


def _create(api, endpoint, **body):
    return check_response(
        api.post(f"/api/v1/endpoints/{endpoint.name}/schedules", {**BODY, **body}, content_type="application/json")
    )


def test_create_then_list_and_show(api, endpoint, second_deployment):
    created = _create(api, endpoint, deployment_name="green", output_path="scored/nightly")
    assert created.status_code == 201
    data = created.json()
    assert (data["cron"], data["recurrence"], data["enabled"], data["deployment_name"]) == (
        "0 2 * * *",
        "Every day at 02:00",
        True,
        "green",
    )
    assert data["input"]["uri"] == BODY["input"] and data["output"] == {
        "datastore": "workspaceblobstore",
        "path": "scored/nightly",
    }
    assert data["next_run"].endswith("T02:00:00+00:00") and data["last_status"] is None
    assert Schedule.objects.get().created_by.username == "alice"

    listed = check_response(api.get(f"/api/v1/endpoints/{endpoint.name}/schedules")).json()["value"]
    assert [s["name"] for s in listed] == ["nightly"]
    shown = check_response(api.get("/api/v1/schedules/nightly")).json()
    assert shown["runs"] == [] and shown["studio_url"].endswith("/schedules/nightly/")


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"cron": "0 2 * *"}, 400, "cron_fields"),
        ({"cron": "0 25 * * *"}, 400, "cron_invalid"),
        ({"cron": "0 0 31 4 *"}, 400, "cron_never"),
        ({"cron": ""}, 400, "cron_required"),
        ({"input": "https://example.com/data/"}, 400, "input_not_datastore_path"),
        ({"input": "azureml://datastores/workspaceblobstore/paths/../etc"}, 400, "path_traversal"),
        ({"name": "x"}, 400, "endpoint_name_length"),
        ({"deployment_name": "purple"}, 400, "invalid_choice"),
        ({"every": "day"}, 400, "unknown_field"),
    ],
)
def test_refusals_say_what_to_fix(api, endpoint, body, status, code):
    response = _create(api, endpoint, **body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert not Schedule.objects.exists()


def test_a_second_schedule_with_the_same_name_is_a_conflict(api, endpoint):
    _create(api, endpoint)
    response = _create(api, endpoint)
    assert response.status_code == 409 and response.json()["error"]["code"] == "schedule_exists"


def test_run_now_queues_a_run(api, endpoint, django_capture_on_commit_callbacks):
    _create(api, endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        response = check_response(api.post("/api/v1/schedules/nightly/run"))
    assert response.status_code == 202
    run = response.json()
    assert (run["trigger"], run["status"], run["job_name"]) == ("API", "Queued", None)
    assert [q.task["kwargs"]["run_id"] for q in OrmQ.objects.all()] == [run["id"]]
    shown = check_response(api.get("/api/v1/schedules/nightly")).json()
    assert shown["last_status"] == "Queued" and [r["id"] for r in shown["runs"]] == [run["id"]]


def test_disable_enable_and_delete(api, endpoint):
    _create(api, endpoint)
    disabled = check_response(api.post("/api/v1/schedules/nightly/disable")).json()
    assert disabled["enabled"] is False and disabled["next_run"] is None
    enabled = check_response(api.post("/api/v1/schedules/nightly/enable")).json()
    assert enabled["enabled"] is True and enabled["next_run"]
    ScheduleRun.objects.create(schedule=Schedule.objects.get(), outcome=ScheduleRun.NO_NEW_FILES)
    assert check_response(api.delete("/api/v1/schedules/nightly")).status_code == 204
    assert check_response(api.get("/api/v1/schedules/nightly")).status_code == 404
    assert not ScheduleRun.objects.exists()


def test_a_token_is_required(client, endpoint):
    assert check_response(client.get(f"/api/v1/endpoints/{endpoint.name}/schedules")).status_code == 401
    assert check_response(client.post("/api/v1/schedules/nightly/run")).status_code == 401
