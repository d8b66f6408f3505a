"""The newcomer's walk in headless Chromium: sign in, see the demo model, create an endpoint,
start a job on the demo data, watch it reach Completed in the Runs tab, download the predictions."""

import io
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import sign_in
from tests.fixtures.ui import screenshot


@pytest.mark.browser
@pytest.mark.integration
def test_newcomer_scores_the_demo_data_in_the_browser(page, live_server, user, demo_model, demo_data, qcluster):
    sign_in(page, live_server)
    page.get_by_role("link", name="Models").click()
    page.get_by_role("link", name=demo_model.name).click()
    page.get_by_role("link", name="Deploy to batch endpoint").click()

    page.get_by_label("Endpoint name").fill("iris-walk")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()  # Model: the demo model, already chosen
    page.get_by_label("Deployment name").fill("blue")
    page.get_by_label("Mini batch size").fill("2")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()  # Compute: cpu-cluster, 1 instance
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="iris-walk").wait_for()

    page.get_by_role("link", name="+ Create job").click()
    page.get_by_label("Input path").fill("demo/iris")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("status").filter(has_text="submitted").wait_for()

    page.get_by_role("link", name="iris-walk", exact=True).click()  # back to the endpoint's Runs tab
    page.get_by_role("cell", name="Completed").wait_for(timeout=90000)
    screenshot(page, "runs-tab")

    page.locator("table.jobs a").first.click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download predictions.csv").click()
    frame = pd.read_csv(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert len(frame) == 150
    assert list(frame.columns) == ["row", "prediction", "file_name"]
