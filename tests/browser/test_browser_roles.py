"""A Reader and a Contributor in the browser: who created each job is shown, the buttons a role may not press are not
there, and a Contributor cancels their own job but is offered nothing on another user's."""

from playwright.sync_api import expect

from jobs.models import BatchJob, Status
from tests.conftest import sign_in
from workspace import roles


def _job(endpoint, name, owner):
    return BatchJob.objects.create(
        name=name,
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment=endpoint.default_deployment,
        deployment_name="blue",
        input_uri="azureml:iris:1",
        output_datastore="workspaceblobstore",
        output_path=f"jobs/{name}",
        status=Status.QUEUED,
        created_by=owner,
    )


def test_a_reader_sees_who_created_a_job_and_no_button_to_press(page, live_server, user, make_user, endpoint):
    _job(endpoint, "alices-job", user)
    make_user(roles.READER, "rita")
    sign_in(page, live_server, username="rita")
    page.get_by_text("rita (Reader)").wait_for()
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/runs/")
    row = page.get_by_role("row").filter(has_text="alices-job")
    expect(row.get_by_role("cell", name="alice", exact=True)).to_be_visible()  # the Created by column
    for link in ("+ Create job", "+ Add deployment", "Update default deployment", "Compare deployments", "Delete"):
        expect(page.get_by_role("link", name=link, exact=True)).to_have_count(0)
    row.get_by_role("link", name="alices-job").click()
    page.get_by_role("heading", name="alices-job").wait_for()
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data").click()
    expect(page.get_by_role("link", name="+ Register datastore")).to_have_count(0)
    expect(page.get_by_role("link", name="+ Create dataset")).to_have_count(0)


def test_a_contributor_cancels_their_own_job_and_is_offered_nothing_on_anothers(
    page, live_server, user, make_user, endpoint
):
    bob = make_user(roles.CONTRIBUTOR, "bob")
    _job(endpoint, "alices-job", user)
    _job(endpoint, "bobs-job", bob)
    sign_in(page, live_server, username="bob")
    page.goto(f"{live_server.url}/jobs/alices-job/")
    page.get_by_role("heading", name="alices-job").wait_for()
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    page.goto(f"{live_server.url}/jobs/bobs-job/")
    page.once("dialog", lambda dialog: dialog.accept())  # "Cancel job bobs-job? ..."
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("status").filter(has_text="Cancel requested for bobs-job").wait_for()
    assert BatchJob.objects.get(name="bobs-job").status != Status.QUEUED
    assert BatchJob.objects.get(name="alices-job").status == Status.QUEUED
