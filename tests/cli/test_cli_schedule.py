"""`manage.py schedule` mirrors `az ml schedule`: create (with the form's checks), list, show, run, disable,
enable, delete."""

import json

import pytest
from django.core.management.base import CommandError

from jobs.schedules.models import Schedule
from tests.fixtures.api import run

pytestmark = pytest.mark.django_db
INPUT = "azureml://datastores/workspaceblobstore/paths/incoming"


def test_create_list_show_run_disable_enable_delete(endpoint, django_capture_on_commit_callbacks):
    created = json.loads(
        run("schedule", "create", "-n", "hourly", "-e", endpoint.name, "--input", INPUT, "--cron", "0 * * * *")
    )
    assert (created["recurrence"], created["enabled"], created["deployment_name"]) == ("Every hour", True, None)
    assert [s["name"] for s in json.loads(run("schedule", "list", "-e", endpoint.name))] == ["hourly"]
    assert json.loads(run("schedule", "list", "-e", "another")) == []
    with django_capture_on_commit_callbacks(execute=True):
        queued = json.loads(run("schedule", "run", "-n", "hourly"))
    assert (queued["trigger"], queued["status"]) == ("Run now", "Queued")
    assert [r["id"] for r in json.loads(run("schedule", "show", "-n", "hourly"))["runs"]] == [queued["id"]]
    assert json.loads(run("schedule", "disable", "-n", "hourly"))["next_run"] is None
    assert json.loads(run("schedule", "enable", "-n", "hourly"))["next_run"]
    assert "deleted" in run("schedule", "delete", "-n", "hourly") and not Schedule.objects.exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--cron", "every day"], "A cron expression has 5 fields"),
        (["--cron", "0 2 * * *", "-d", "purple"], "Select a valid choice"),
    ],
)
def test_create_refusals_say_what_to_fix(endpoint, args, says):
    with pytest.raises(CommandError) as err:
        run("schedule", "create", "-n", "nightly", "-e", endpoint.name, "--input", INPUT, *args)
    assert says in str(err.value) and not Schedule.objects.exists()


def test_unknown_names_are_errors(endpoint):
    with pytest.raises(CommandError, match="no schedule named 'nope'"):
        run("schedule", "show", "-n", "nope")
    with pytest.raises(CommandError, match="no endpoint named 'nope'"):
        run("schedule", "create", "-n", "nightly", "-e", "nope", "--input", INPUT, "--cron", "0 2 * * *")
