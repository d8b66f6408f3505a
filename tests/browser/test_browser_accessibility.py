"""Accessibility basics in headless Chromium: every form control of every main page has an accessible name,
every status says its state in words (not by colour alone), and the create wizard works with the keyboard only."""

from endpoints.models import BatchEndpoint
from jobs.submit import submit_job
from tests.conftest import sign_in

# The accessible name of a form control as assistive technology computes it, for the ways our pages give one:
# aria-labelledby, aria-label, a <label> (for= or wrapping), a title. Controls without one are returned.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter(el => el.type !== "hidden" && !el.closest("[hidden]"))
  .filter(el => {
    const by = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean)
      .map(id => document.getElementById(id)?.textContent.trim()).join("");
    const labels = [...(el.labels || [])].map(l => l.textContent.trim()).join("");
    const own = el.tagName === "BUTTON" ? el.textContent.trim() : "";
    return !(by || (el.getAttribute("aria-label") || "").trim() || labels || own || (el.title || "").trim());
  })
  .map(el => el.outerHTML.slice(0, 160))"""

# A status, state or progress shown with a colour must carry its words too.
SILENT_STATUS = """() => [...document.querySelectorAll(".status, progress")]
  .filter(el => el.tagName === "PROGRESS" ? !(el.getAttribute("aria-label") || el.labels?.length || el.textContent.trim())
                                          : !el.textContent.trim())
  .map(el => el.outerHTML.slice(0, 160))"""


def _check(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")  # htmx fragments (datastore browser, live tables) are in
    assert page.evaluate(UNLABELLED) == [], f"controls without a label on {url}"
    assert page.evaluate(SILENT_STATUS) == [], f"a status shown by colour alone on {url}"


def test_every_control_on_every_main_page_has_a_label(
    page, live_server, user, endpoint, second_deployment, demo_data, custom_model
):
    job = submit_job(endpoint, input_uri=demo_data)
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.evaluate(UNLABELLED) == []
    sign_in(page, live_server)
    base = live_server.url
    pages = [
        "/",
        "/models/",
        f"/models/{custom_model.name}/{custom_model.version}/",
        "/models/register/",
        "/endpoints/",
        f"/endpoints/{endpoint.name}/",
        f"/endpoints/{endpoint.name}/runs/",
        f"/endpoints/{endpoint.name}/jobs/create/",
        f"/endpoints/{endpoint.name}/default/",
        f"/endpoints/{endpoint.name}/delete/",
        f"/endpoints/{endpoint.name}/deployments/green/delete/",
        f"/endpoints/{endpoint.name}/deployments/blue/delete/",
        f"/endpoints/{endpoint.name}/schedules/",
        f"/endpoints/{endpoint.name}/schedules/create/",
        "/jobs/",
        f"/jobs/{job.name}/",
        "/data/",
        "/data/datastores/register/",
        "/data/datastores/workspaceblobstore/browse/",
        "/data/datasets/register/",
        "/environments/",
        "/environments/studio/1/",
        "/compute/",
        "/account/tokens/",
    ]
    for path in pages:
        _check(page, base + path)
    # Every step of the wizard, with the Code + environment step of a Custom model.
    page.goto(f"{base}/endpoints/create/?model={custom_model.label}")
    for step in ("endpoint", "model", "deployment", "code", "compute"):
        page.get_by_role("heading", name={"code": "Code + environment"}.get(step, step.title()), exact=True).wait_for()
        assert page.evaluate(UNLABELLED) == [], f"controls without a label on the {step} step"
        if step == "endpoint":
            page.get_by_label("Endpoint name").fill("a11y-endpoint")
        if step == "deployment":
            page.get_by_label("Deployment name").fill("a11y")
        if step == "code":
            page.get_by_label("Code", exact=True).set_input_files(
                files=[{"name": "score.py", "mimeType": "text/x-python", "buffer": b"def run(b):\n    return b\n"}]
            )
        page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Review").wait_for()
    assert page.evaluate(UNLABELLED) == []


def _tab_to(page, name, limit=60):
    """Press Tab until the focused element is the one named `name` (its label, text or aria-label)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const el = document.activeElement;
            return [el.getAttribute("aria-label"), ...[...(el.labels || [])].map(l => l.textContent),
                    el.tagName === "SELECT" ? "" : el.textContent].map(t => (t || "").trim()); }""")
        if name in focused:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def _at(page, step):
    page.get_by_role("heading", name=step, exact=True).wait_for()


def _go(page, button, step):
    """Press Enter on a button, then wait for the step it leads to."""
    _press_on(page, button)
    _at(page, step)


def _type_into(page, label, text):
    _tab_to(page, label)
    page.keyboard.press("Control+A")  # replace what the field holds
    page.keyboard.type(text)


def _press_on(page, name, key="Enter"):
    _tab_to(page, name)
    page.keyboard.press(key)


def test_the_create_wizard_works_with_the_keyboard_only(page, live_server, user, demo_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/")
    _go(page, "+ Create", "Endpoint")
    _type_into(page, "Endpoint name", "keyboard-endpoint")
    _type_into(page, "Description", "Made without a mouse")
    _go(page, "Next", "Model")
    _tab_to(page, "Model")
    page.keyboard.type(demo_model.name)  # a focused select picks the option typed
    assert page.get_by_label("Model").input_value() == demo_model.label
    _press_on(page, "Next", "Space")

    _at(page, "Deployment")
    _type_into(page, "Deployment name", "keys")
    _type_into(page, "Max retries", "5")
    page.keyboard.press("Enter")  # Enter in a field goes forward (Next comes first in the form)

    _at(page, "Compute")
    _go(page, "Back", "Deployment")
    assert page.get_by_label("Max retries").input_value() == "5"  # kept when going back
    _go(page, "Next", "Compute")
    _type_into(page, "Instance count", "2")
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Review").wait_for()
    _press_on(page, "Create")
    page.get_by_role("heading", name="keyboard-endpoint").wait_for()
    deployment = BatchEndpoint.objects.get(name="keyboard-endpoint").default_deployment
    assert (deployment.name, deployment.max_retries, deployment.instance_count) == ("keys", 5, 2)


def test_a_refused_step_puts_the_keyboard_on_the_field_that_says_what_is_wrong(page, live_server, user, demo_model):
    """The focus was at the top of the page: a dozen Tabs back to the field to correct."""
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/create/")
    _type_into(page, "Endpoint name", "1-starts-with-a-digit")
    page.keyboard.press("Enter")
    page.get_by_role("alert").filter(has_text="Start with a letter").wait_for()
    assert page.evaluate("document.activeElement.id") == "id_endpoint_name"
    page.keyboard.press("Control+A")
    page.keyboard.type("fixed-by-keys")
    page.keyboard.press("Enter")
    _at(page, "Model")


def test_the_endpoint_choice_and_its_radios_work_with_arrow_keys(page, live_server, user, endpoint, demo_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/create/?model={demo_model.label}")
    _tab_to(page, "New")
    page.keyboard.press("ArrowRight")  # radios of one group: arrows move the choice
    assert page.get_by_label("Existing", exact=True).is_checked()
    _type_into(page, "Existing endpoint", endpoint.name)
    _go(page, "Next", "Model")


def test_the_code_step_works_with_the_keyboard_only(page, live_server, user, endpoint, custom_model):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/deployments/add/")
    _type_into(page, "Model", custom_model.name)  # a focused select picks the option typed
    _go(page, "Next", "Deployment")
    _type_into(page, "Deployment name", "by-keys")
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Code + environment").wait_for()
    _tab_to(page, "Code")
    with page.expect_file_chooser(timeout=60_000) as chooser:  # a loaded machine opens it slowly
        page.keyboard.press("Space")  # the file dialog opens from the keyboard
    chooser.value.set_files(
        files=[{"name": "score.py", "mimeType": "text/x-python", "buffer": b"def run(b):\n    return b\n"}]
    )
    _tab_to(page, "Use an existing environment")
    page.keyboard.press("ArrowRight")
    assert page.get_by_label("Create a new environment").is_checked()
    _type_into(page, "Environment name", "typed-env")
    _type_into(page, "Pip requirements", "six")
    _go(page, "Next", "Compute")
    _press_on(page, "Compute cluster")  # Compute's defaults: Enter in a field goes on
    page.get_by_role("heading", name="Review").wait_for()
    for text in ("score.py", "Create a new environment", "typed-env"):
        page.locator("dl.attrs").get_by_text(text, exact=True).wait_for()


def test_skip_to_content_is_the_first_tab_stop_and_jumps_past_the_navigation(page, live_server, user):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    assert page.get_by_role("link", name="Skip to content").is_visible()  # shown while it has the focus
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    _tab_to(page, "+ Create", limit=3)  # the page's own commands come next, not the 10 links before them


def test_pages_read_and_act_without_javascript(browser, live_server, user, endpoint, demo_data):
    job = submit_job(endpoint, input_uri=demo_data)  # no worker: it stays Queued
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        sign_in(page, live_server)
        page.get_by_role("link", name=job.name).wait_for()  # Home: recent jobs
        page.goto(f"{live_server.url}/endpoints/{endpoint.name}/")
        page.get_by_role("row").filter(has_text="blue").get_by_text("Default").wait_for()
        page.get_by_text(f"/api/v1/endpoints/{endpoint.name}/jobs").wait_for()
        assert page.get_by_role("button", name="Copy scoring URI").count() == 0  # it needs JavaScript: not shown
        page.get_by_role("link", name="Runs", exact=True).click()
        row = page.get_by_role("row").filter(has_text=job.name)
        row.get_by_text("Queued").wait_for()
        row.get_by_role("link", name=job.name).click()
        page.get_by_text("Mini-batches: 0 done, 0 failed, 3 total").wait_for()
        # a Logs link opens the log on its own page: not "here"
        assert page.locator("#log-viewer").inner_text() == "Choose a log, or a mini-batch's Logs link, to read it."
        page.get_by_role("button", name="Cancel").click()  # without JavaScript it submits at once
        page.get_by_role("status").filter(has_text="Cancel requested").wait_for()
        page.goto(f"{live_server.url}/jobs/?endpoint={endpoint.name}")
        page.get_by_role("link", name=job.name).wait_for()
    finally:
        context.close()
