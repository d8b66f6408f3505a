"""Code + environment takes a code folder in the browser: a .zip of it (its entries checked), or several files, the
scoring script chosen inside it; the deployment shows the folder as a tree with the scoring script marked."""

import io
import zipfile

from endpoints.models import BatchDeployment
from tests.conftest import sign_in
from tests.fixtures.ui import JOBLIB_SCORE, screenshot

LABELS = b'NAMES = {0: "setosa", 1: "versicolor", 2: "virginica"}\n'


def _zip(entries: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _upload(page, *files):
    page.get_by_label("Code", exact=True).set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content} for name, content in files]
    )
    page.get_by_role("button", name="Next").click()


def _field_error(page, label):
    """The error shown in the field of that label (not a banner at the top)."""
    return page.locator(".field").filter(has=page.get_by_label(label, exact=True)).get_by_role("alert")


def test_a_zipped_code_folder_is_checked_deployed_and_shown_as_a_tree(page, live_server, user, custom_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/create/")
    page.get_by_label("Endpoint name").fill("iris-folder")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Model").select_option(custom_model.label)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Deployment name").fill("blue")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Code + environment").wait_for()

    _upload(page, ("code.zip", _zip({"score.py": JOBLIB_SCORE, "../escape.py": b"import os"})))
    _field_error(page, "Code").filter(has_text="'../escape.py' points outside the code folder").wait_for()

    _upload(page, ("batch_driver.py", JOBLIB_SCORE), ("labels.py", LABELS))  # several files: which one scores?
    _field_error(page, "Scoring script").filter(
        has_text="Name the scoring script: the code has batch_driver.py, labels.py."
    ).wait_for()

    folder = {
        "iris-code/score.py": JOBLIB_SCORE,
        "iris-code/labels.py": LABELS,
        "iris-code/lib/__init__.py": b"",
        "iris-code/lib/rounding.py": b"def rounded(x):\n    return round(x)\n",
    }
    _upload(page, ("iris-code.zip", _zip(folder)))  # Scoring script left empty: score.py
    page.get_by_role("heading", name="Compute").wait_for()
    page.get_by_role("button", name="Next").click()

    page.get_by_role("heading", name="Review").wait_for()
    page.get_by_role("definition").filter(
        has_text="4 files: lib/__init__.py, lib/rounding.py, labels.py, score.py"
    ).wait_for()
    page.get_by_role("definition").filter(has_text="score.py").first.wait_for()
    page.get_by_role("button", name="Create").click()

    page.get_by_role("heading", name="iris-folder").wait_for()
    page.get_by_text("Code folder (5 entries)").click()
    tree = page.get_by_role("list", name="Code of blue")
    items = [t.split("\n")[0].strip() for t in tree.get_by_role("listitem").all_inner_texts()]
    assert [i.split(" ")[0] for i in items] == ["lib/", "__init__.py", "rounding.py", "labels.py", "score.py"]
    tree.get_by_role("listitem").filter(has_text="score.py (scoring script)").wait_for()
    screenshot(page, "deployment-code-folder")
    deployment = BatchDeployment.objects.get(endpoint__name="iris-folder", name="blue")
    assert deployment.scoring_script == "score.py"
