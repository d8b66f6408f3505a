"""Compare deployments in the browser: from the endpoint page, pick the candidate and the input, watch both jobs,
read the report (agreement rate, confusion matrix for classifiers, histogram of differences for regressors, rows
that differ most), then Update default deployment."""

import pytest

from endpoints.models import BatchEndpoint
from tests.browser.test_browser_accessibility import SILENT_STATUS, UNLABELLED
from tests.conftest import sign_in
from tests.fixtures.ui import screenshot

pytestmark = pytest.mark.integration


def test_compare_deployments_then_update_the_default(
    page, live_server, user, endpoint, demo_data, forest_deployment, qcluster
):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/")
    page.get_by_role("link", name="Compare deployments").click()
    assert page.evaluate(UNLABELLED) == [] and page.evaluate(SILENT_STATUS) == []
    page.get_by_label("Candidate deployment").select_option("green")
    page.get_by_label("Datastore", exact=True).check()
    page.get_by_label("Input path").fill("demo/iris")
    page.get_by_role("button", name="Compare").click()

    page.get_by_role("status").filter(has_text="two jobs submitted").wait_for()
    jobs = page.get_by_role("table", name="Jobs compared")
    jobs.get_by_role("rowheader", name="Baseline (default)").wait_for()
    jobs.get_by_role("rowheader", name="Candidate").wait_for()
    page.get_by_text("Agreement rate").wait_for(timeout=240000)  # htmx polling until the report is computed
    matrix = page.get_by_role("table", name="Rows: blue (default) · columns: green")
    assert matrix.get_by_role("columnheader").count() == 4  # the corner and classes 0, 1, 2
    page.get_by_role("heading", name="Rows that differ most").wait_for()
    assert page.evaluate(UNLABELLED) == [] and page.evaluate(SILENT_STATUS) == []
    screenshot(page, "compare-deployments")

    page.get_by_role("button", name="Update default deployment").click()
    page.get_by_role("status").filter(has_text="green is now the default deployment of").wait_for()
    assert BatchEndpoint.objects.get(pk=endpoint.pk).default_deployment.name == "green"


def test_compare_two_regressors_shows_the_distribution_of_differences(
    page, live_server, user, regressor_endpoint, qcluster
):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{regressor_endpoint.name}/compare/")
    page.get_by_label("Candidate deployment").select_option("forest")
    page.get_by_label("Datastore", exact=True).check()
    page.get_by_label("Input path").fill("diabetes")
    page.get_by_role("button", name="Compare").click()

    page.get_by_text("Regressor (numeric predictions)").wait_for(timeout=240000)  # htmx polling until computed
    assert page.get_by_role("table", name="Rows: linear (default) · columns: forest").count() == 0  # no matrix
    histogram = page.get_by_role("img", name="Distribution of differences")
    assert histogram.locator("rect").count() == 20
    assert "over 442 rows, 20 bars from" in histogram.locator("desc").text_content()
    page.get_by_text("Mean absolute difference").wait_for()
    largest = page.get_by_role("table", name="20 rows, largest difference first")
    headers = largest.get_by_role("columnheader").all_inner_texts()
    assert headers == ["File", "Row", "linear (default)", "forest", "Difference"]
    differences = [abs(float(text)) for text in largest.locator("tbody tr td:last-child").all_inner_texts()]
    assert differences == sorted(differences, reverse=True) and differences[0] > 0

    page.get_by_role("button", name="Update default deployment").click()
    page.get_by_role("status").filter(has_text="forest is now the default deployment of").wait_for()
    assert BatchEndpoint.objects.get(pk=regressor_endpoint.pk).default_deployment.name == "forest"
