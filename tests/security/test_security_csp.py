"""The Content-Security-Policy: on every answer (pages, fragments, static files, the API, refusals); the pages carry
no inline script, style or event handler for it to refuse; in Chromium the main pages and htmx work under it."""

import re
from pathlib import Path

import pytest

from tests.conftest import sign_in

POLICY = "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
MAIN_PAGES = ["/", "/models/", "/endpoints/", "/data/", "/environments/", "/compute/", "/jobs/", "/account/tokens/"]
# A script element without src (a JSON data block is data, not run), a style element or attribute, an on... handler.
INLINE = re.compile(
    r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.I
)


@pytest.mark.django_db
def test_every_answer_carries_the_policy(client, signed_in, api, endpoint):
    answers = [
        client.get("/accounts/login/"),
        client.get("/static/studio/studio.js"),
        signed_in.get("/"),
        signed_in.get("/data/datastores/workspaceblobstore/browse/", HTTP_HX_REQUEST="true"),
        signed_in.get("/no-such-page/"),
        api.get("/api/v1/endpoints"),
    ]
    for r in answers:
        assert r["Content-Security-Policy"] == POLICY, (r.wsgi_request.path, r.status_code)


@pytest.mark.django_db
def test_the_pages_hold_nothing_inline_for_the_policy_to_refuse(signed_in, endpoint, demo_data):
    pages = MAIN_PAGES + [
        f"/endpoints/{endpoint.name}/",
        f"/endpoints/{endpoint.name}/jobs/create/",
        "/data/datastores/workspaceblobstore/browse/?path=demo&target=id_input",
        "/data/datastores/register/",
    ]
    for url in pages:
        r = signed_in.get(url)
        assert r.status_code == 200, url
        found = INLINE.findall(r.content.decode())
        assert not found, (url, found)


@pytest.mark.django_db
def test_the_admins_pages_hold_nothing_inline_either(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="s3cret-pass!"))
    for url in ["/admin/", "/admin/auth/user/", "/admin/auth/user/1/change/", "/admin/axes/accessattempt/"]:
        r = client.get(url)
        assert r.status_code == 200 and not INLINE.findall(r.content.decode()), url


def test_no_template_has_an_inline_script_style_or_handler():
    templates = Path(__file__).resolve().parents[2] / "templates"
    found = {str(t.relative_to(templates)): INLINE.findall(t.read_text()) for t in templates.rglob("*.html")}
    assert not {name: hits for name, hits in found.items() if hits}


@pytest.mark.browser
def test_the_main_pages_and_htmx_work_under_the_policy(page, live_server, user, endpoint, demo_data):
    refused = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    sign_in(page, live_server)
    for url in MAIN_PAGES:
        response = page.goto(f"{live_server.url}{url}")
        assert response.headers["content-security-policy"] == POLICY
        page.get_by_role("navigation", name="Main").wait_for()
    page.goto(f"{live_server.url}/endpoints/{endpoint.name}/jobs/create/")
    browser = page.locator("#datastore-browser")
    browser.get_by_text("demo").click()  # htmx loads the folder in place
    browser.locator('.datastore-browser[data-path="demo"]').locator("li", has_text="iris").get_by_role(
        "button", name="Pick"
    ).click()  # studio.js fills the input: no inline onclick
    assert page.get_by_label("Input path").input_value() == "demo/iris/"
    assert refused == []
