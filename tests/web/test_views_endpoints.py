"""The endpoint pages: list, Details, Update default deployment, Delete (endpoint and deployment)."""

import pytest

from endpoints.models import BatchDeployment, BatchEndpoint
from jobs.models import BatchJob, Status
from workspace import registry


@pytest.mark.django_db
def test_the_list_says_what_to_do_when_empty(signed_in):
    response = signed_in.get("/endpoints/")
    assert "No batch endpoints yet" in response.content.decode()
    assert 'href="/endpoints/create/"' in response.content.decode()


def test_the_list_shows_endpoints(signed_in, endpoint):
    response = signed_in.get("/endpoints/")
    assert f'href="/endpoints/{endpoint.name}/"' in response.content.decode()


def test_details_show_attributes_and_deployments(signed_in, endpoint):
    page = signed_in.get(f"/endpoints/{endpoint.name}/").content.decode()
    for text in (
        "Iris scoring",
        f"http://testserver/api/v1/endpoints/{endpoint.name}/jobs",
        "Copy scoring URI",
        "Authentication type",
        "Authorization: Bearer",
        "Succeeded",
        "Last updated on",
        "blue",
        'href="/models/iris-classifier/1/"',
        "<td>1</td>",
        "generated (MLflow)",
        "cpu-cluster",
        "Default",
        "+ Create job",
        "+ Add deployment",
        "Update default deployment",
        "Delete",
    ):
        assert text in page, text
    created = endpoint.created.strftime("%Y-%m-%d %H:%M:%S")  # dates read as in the tables, on every page
    assert f"<dt>Created on</dt><dd>{created}</dd>" in page


def test_details_of_an_unknown_endpoint_are_404(signed_in, db):
    assert signed_in.get("/endpoints/nope/").status_code == 404


def test_update_default_deployment(signed_in, endpoint, second_deployment):
    page = signed_in.get(f"/endpoints/{endpoint.name}/default/").content.decode()
    assert '<option value="blue" selected>' in page
    response = signed_in.post(f"/endpoints/{endpoint.name}/default/", {"deployment": "green"})
    assert response.status_code == 302 and response["Location"] == f"/endpoints/{endpoint.name}/"
    endpoint.refresh_from_db()
    assert endpoint.default_deployment == second_deployment


def test_update_default_refuses_unknown_deployments(signed_in, endpoint):
    response = signed_in.post(f"/endpoints/{endpoint.name}/default/", {"deployment": "nope"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_update_default_deployment_of_an_endpoint_without_deployments_says_what_to_do(signed_in, endpoint):
    """It showed an empty choice, and Update answered 'This field is required.'"""
    endpoint.deployments.all().delete()
    page = signed_in.get(f"/endpoints/{endpoint.name}/default/").content.decode()
    assert (
        f"{endpoint.name} has no deployments yet" in page
        and "+ Add deployment</a>: the first one is the default." in page
    )
    assert "<select" not in page and "Update</button>" not in page


def test_delete_endpoint_asks_first_and_keeps_jobs(signed_in, endpoint):
    BatchJob.objects.create(
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment_name="blue",
        input_uri="x",
        output_datastore="workspaceblobstore",
        output_path="jobs/x",
    )
    page = signed_in.get(f"/endpoints/{endpoint.name}/delete/").content.decode()
    assert "deletes all its deployments too" in page and "(blue)" in page
    assert BatchEndpoint.objects.exists()
    response = signed_in.post(f"/endpoints/{endpoint.name}/delete/")
    assert response["Location"] == "/endpoints/"
    assert not BatchEndpoint.objects.exists() and not BatchDeployment.objects.exists()
    job = BatchJob.objects.get()
    assert job.endpoint is None and job.endpoint_name == endpoint.name
    assert endpoint.name in signed_in.get("/jobs/").content.decode()


def test_the_default_deployment_cannot_be_deleted_while_others_exist(signed_in, endpoint, second_deployment):
    url = f"/endpoints/{endpoint.name}/deployments/blue/delete/"
    assert "is the default deployment" in signed_in.get(url).content.decode()
    response = signed_in.post(url)
    assert response.status_code == 200
    assert "Choose another default deployment" in response.content.decode()
    assert endpoint.deployments.count() == 2


def test_delete_confirmations_say_that_unfinished_jobs_run_to_the_end(signed_in, endpoint, second_deployment):
    """They said only that jobs are kept: a job still running on the deployment was left to guess."""
    for status in (Status.RUNNING, Status.QUEUED, Status.COMPLETED):
        BatchJob.objects.create(
            endpoint=endpoint,
            deployment=second_deployment,
            endpoint_name=endpoint.name,
            deployment_name="green",
            input_uri="x",
            output_datastore="workspaceblobstore",
            output_path=f"jobs/{status}",
            status=status,
        )
    page = signed_in.get(f"/endpoints/{endpoint.name}/deployments/green/delete/").content.decode()
    assert "Jobs it ran are kept. 2 jobs on it have not finished: they run to the end all the same." in page
    assert "not finished" not in signed_in.get(f"/endpoints/{endpoint.name}/deployments/blue/delete/").content.decode()
    BatchJob.objects.filter(status=Status.QUEUED).update(status=Status.CANCELED)
    page = signed_in.get(f"/endpoints/{endpoint.name}/delete/").content.decode()
    assert "with their outputs. 1 job on it has not finished: it runs to the end all the same." in page


def test_another_deployment_can_be_deleted(signed_in, endpoint, second_deployment):
    response = signed_in.post(f"/endpoints/{endpoint.name}/deployments/green/delete/")
    assert response["Location"] == f"/endpoints/{endpoint.name}/"
    assert list(endpoint.deployments.values_list("name", flat=True)) == ["blue"]


def test_the_last_deployment_can_be_deleted(signed_in, endpoint):
    assert "only deployment" in signed_in.get(f"/endpoints/{endpoint.name}/deployments/blue/delete/").content.decode()
    signed_in.post(f"/endpoints/{endpoint.name}/deployments/blue/delete/")
    endpoint.refresh_from_db()
    assert endpoint.default_deployment is None
    assert "No deployments yet" in signed_in.get(f"/endpoints/{endpoint.name}/").content.decode()


def test_the_model_page_offers_deploy_to_batch_endpoint(signed_in, demo_model, db):
    page = signed_in.get(f"/models/{demo_model.name}/{demo_model.version}/").content.decode()
    assert f'href="/endpoints/create/?model={demo_model.name}%3A{demo_model.version}"' in page


@pytest.mark.django_db
def test_a_first_visit_leads_to_the_seeded_demo(signed_in, demo_model, demo_data):
    page = signed_in.get("/").content.decode()
    assert "Start with the demo" in page
    # its latest version: another test of this session may have registered one more than the fixture's
    demo_model = registry.get_version(demo_model.name, "latest")
    assert f'The model <a href="/models/{demo_model.name}/{demo_model.version}/">iris-classifier</a>' in page
    assert demo_data in page  # where the demo's data is
    deploy = f'href="/endpoints/create/?model=iris-classifier%3A{demo_model.version}"'
    assert deploy in page
    response = signed_in.get(f"/endpoints/create/?model=iris-classifier:{demo_model.version}", follow=True)
    assert "Create batch endpoint" in response.content.decode()  # the wizard, the model chosen


@pytest.mark.django_db
def test_the_demo_offer_goes_once_there_is_an_endpoint(signed_in, endpoint, demo_data):
    assert "Start with the demo" not in signed_in.get("/").content.decode()
