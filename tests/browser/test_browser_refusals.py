"""What the Studio refuses or doubts, said where the user looks, in headless Chromium: a mistyped compute cluster in
the endpoint wizard, and a URL at a private address (with the setting that allows it)."""

from endpoints.models import BatchDeployment
from tests.conftest import sign_in
from workspace.compute.models import ComputeCluster


def _to_compute_step(page, live_server, model):
    page.goto(f"{live_server.url}/endpoints/create/")
    page.get_by_label("Endpoint name").fill("iris-typo")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Model").select_option(model.label)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Deployment name").fill("blue")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Compute").wait_for()


def test_a_mistyped_compute_cluster_is_warned_about_with_the_known_ones(page, live_server, user, demo_model, endpoint):
    ComputeCluster.objects.create(name="gpu-cluster")  # registered (compute create), no worker yet
    BatchDeployment.objects.filter(pk=endpoint.default_deployment_id).update(compute="nightly-pool")
    sign_in(page, live_server)
    _to_compute_step(page, live_server, demo_model)
    page.get_by_label("Compute cluster").fill("cpu-clustr")
    page.get_by_role("button", name="Next").click()
    warning = page.locator(".field").filter(has=page.get_by_label("Compute cluster")).get_by_role("alert")
    warning.filter(
        has_text="No worker serves compute cluster 'cpu-clustr'. Known clusters: cpu-cluster, gpu-cluster, nightly-pool."
    ).wait_for()
    warning.filter(has_text="Did you mean 'cpu-cluster'?").wait_for()
    assert page.get_by_label("Compute cluster").input_value() == "cpu-clustr"  # kept, to fix or to confirm

    page.get_by_label("Compute cluster").fill("cpu-cluster")  # fixed: goes on
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Review").wait_for()
    page.get_by_role("list", name="Wizard steps").get_by_role("link", name="Compute").click()

    page.get_by_label("Compute cluster").fill("new-pool")  # a new cluster on purpose: Next twice
    page.get_by_role("button", name="Next").click()
    page.get_by_role("alert").filter(has_text="No worker serves compute cluster 'new-pool'").wait_for()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Review").wait_for()
    page.get_by_role("definition").filter(has_text="new-pool").wait_for()
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="iris-typo").wait_for()
    assert BatchDeployment.objects.get(endpoint__name="iris-typo").compute == "new-pool"


def test_a_private_address_refused_names_the_setting_that_allows_it(page, live_server, user, endpoint, settings):
    settings.ALLOW_PRIVATE_URLS = False
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/jobs/create/")
    page.get_by_label("Public path").check()  # Input data type
    page.get_by_role("textbox", name="Public URL").fill("http://10.1.2.3/iris.csv")
    page.get_by_role("button", name="Create").click()
    error = page.locator(".field").filter(has=page.get_by_role("textbox", name="Public URL")).get_by_role("alert")
    error.filter(has_text="points at a private, loopback or link-local address (10.1.2.3)").wait_for()
    error.filter(has_text="starting the Studio with ALLOW_PRIVATE_URLS=1").wait_for()
