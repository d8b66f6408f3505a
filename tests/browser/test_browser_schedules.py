"""+ Create schedule from the endpoint's Schedules tab (a bad cron expression first), then Run now twice on a real
qcluster: the first run scores the folder's files, the second finds no new files; Disable, Delete."""

import pytest

from jobs.schedules.models import Schedule
from tests.conftest import sign_in
from tests.fixtures.ui import screenshot
from tests.jobs.test_schedule_runs import write_iris
from workspace.models import Datastore

pytestmark = pytest.mark.integration


def test_create_a_schedule_and_run_it_now(page, live_server, user, endpoint, qcluster):
    folder = "scheduled/browser"
    write_iris(folder, "monday.csv", 0)
    write_iris(folder, "tuesday.csv", 10)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/")
    page.get_by_role("navigation", name="Endpoint").get_by_role("link", name="Schedules").click()
    page.get_by_text("No schedules yet").wait_for()
    page.get_by_role("link", name="+ Create schedule").click()

    page.get_by_label("Schedule name").fill("daily-scoring")
    assert page.get_by_label("Deployment").input_value() == ""  # the endpoint's default deployment
    page.get_by_label("Input datastore").select_option(Datastore.get_default().name)
    page.get_by_label("Input path").fill(folder)
    assert not page.get_by_label("Cron expression").is_visible()
    page.get_by_label("Recurrence").select_option(label="Custom (cron expression)")
    page.get_by_label("Cron expression").fill("61 * * * *")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("alert").filter(has_text="'61 * * * *' is not a valid cron expression").wait_for()

    page.get_by_label("Cron expression").fill("0 */6 * * *")
    screenshot(page, "create-schedule")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Schedule daily-scoring").wait_for()
    page.get_by_role("status").filter(has_text="Schedule daily-scoring created").wait_for()
    assert Schedule.objects.get().q_schedule.cron == "0 */6 * * *"

    page.get_by_role("button", name="Run now").click()
    history = page.get_by_role("table", name="Runs of daily-scoring")
    history.get_by_role("cell", name="Completed").wait_for(timeout=120000)  # htmx follows the run and its job
    first = history.get_by_role("row").nth(1)
    assert first.get_by_role("cell").nth(2).inner_text() == "2"  # files found
    assert first.get_by_role("cell").nth(3).inner_text() == "2"  # new files
    screenshot(page, "schedule-page")

    page.get_by_role("button", name="Run now").click()
    history.get_by_role("cell", name="No new files").wait_for(timeout=120000)
    assert history.get_by_role("row").nth(1).get_by_role("cell").nth(3).inner_text() == "0"

    page.get_by_role("button", name="Disable").click()
    page.get_by_role("button", name="Enable").wait_for()
    page.get_by_role("link", name="Schedules of iris-endpoint").click()
    row = page.get_by_role("table", name=f"Schedules of {endpoint.name}").get_by_role("row", name="daily-scoring")
    assert "Disabled" in row.inner_text() and "No new files" in row.inner_text()
    row.get_by_role("link", name="daily-scoring").click()
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    page.get_by_text("No schedules yet").wait_for()
    assert not Schedule.objects.exists()
