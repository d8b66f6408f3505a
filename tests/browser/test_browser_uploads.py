"""Upload progress, in headless Chromium on a slow link (Chromium's own network throttling): the forms that send
files show how much has gone, then the page the server answers with, as a plain post would."""

import re

from tests.conftest import sign_in
from workspace.models import Dataset

MB = 1024 * 1024


def _slow_uploads(page, bytes_per_second=512 * 1024):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )
    return cdp


def _csv(megabytes: int) -> bytes:
    row = b"5.1,3.5,1.4,0.2\n"
    return b"sepal_length,sepal_width,petal_length,petal_width\n" + row * (megabytes * MB // len(row))


def test_a_dataset_upload_shows_its_progress_then_the_dataset(page, live_server, user, demo_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/data/datasets/register/")
    page.get_by_label("Name", exact=True).fill("iris-big")
    page.get_by_label("From local files (upload)").check()
    page.get_by_label("Files", exact=True).set_input_files(
        files=[{"name": "iris-big.csv", "mimeType": "text/csv", "buffer": _csv(4)}]
    )
    _slow_uploads(page)
    page.get_by_role("button", name="Create").click()

    status = page.get_by_role("status").filter(has=page.get_by_role("progressbar", name="Upload progress"))
    status.filter(has_text=re.compile(r"Uploading iris-big\.csv: \d+\.\d of 4\.0 MB \(\d+%\)")).wait_for()
    assert page.get_by_role("button", name="Create").is_disabled()  # not sent twice
    page.get_by_role("status").filter(has_text="Registered dataset iris-big version 1.").wait_for(timeout=60_000)
    assert page.url.endswith("/data/datasets/iris-big/1/")
    assert Dataset.objects.get(name="iris-big").version == "1"


def test_a_refused_upload_shows_the_form_again_with_its_errors(page, live_server, user, demo_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/data/datasets/register/")
    page.get_by_label("Name", exact=True).fill("bad name!")
    page.get_by_label("From local files (upload)").check()
    page.get_by_label("Files", exact=True).set_input_files(
        files=[{"name": "a.csv", "mimeType": "text/csv", "buffer": _csv(1)}]
    )
    _slow_uploads(page, 4 * MB)
    page.get_by_role("button", name="Create").click()
    page.locator(".field").filter(has=page.get_by_label("Name", exact=True)).get_by_role("alert").wait_for()
    assert page.get_by_label("Name", exact=True).input_value() == "bad name!"
    assert page.url.endswith("/data/datasets/register/")
