"""docs/screenshots/*.png are written by `make screenshots` only (STUDIO_SCREENSHOTS=1), not by every test run that
passes through a page: `make test` rewrote the tracked files. Also the home page's screenshot on a first visit."""

from tests.conftest import sign_in
from tests.fixtures import ui as fixtures_ui
from tests.fixtures.ui import screenshot


def test_a_test_run_leaves_the_screenshots_alone_unless_asked(page, tmp_path, monkeypatch):
    monkeypatch.setattr(fixtures_ui, "SHOTS", tmp_path)
    page.set_content("<h1>Batch Studio</h1>")
    monkeypatch.delenv(fixtures_ui.SCREENSHOTS_ENV, raising=False)
    screenshot(page, "home")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(fixtures_ui.SCREENSHOTS_ENV, "1")  # what make screenshots sets
    screenshot(page, "home")
    assert (tmp_path / "home.png").read_bytes().startswith(b"\x89PNG")


def test_the_home_page_of_a_first_visit_leads_to_the_demo(page, live_server, user, demo_model, demo_data):
    sign_in(page, live_server)
    page.get_by_role("heading", name="Start with the demo").wait_for()
    page.get_by_role("link", name=f"Deploy {demo_model.name} to a batch endpoint").wait_for()
    screenshot(page, "home-first-visit")
