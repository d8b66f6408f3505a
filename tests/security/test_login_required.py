"""Every page refuses anonymous visitors: walk the URLconf and try each pattern."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {"login", "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete"}
PROBES = {"healthz", "readyz"}  # for process managers and load balancers: nothing secret (tests/test_health.py)
PUBLIC |= PROBES | {"metrics"}  # a scraper's token or a signed-in user, else 401 (tests/test_health.py)


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name


def _concrete(route):
    route = re.sub(r"<path:\w+>", "some/file.csv", route)
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:\w+:)?\w+>", "x1", route)
    route = route.replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + route


ROUTES = [(r, n) for r, n in _walk(get_resolver().url_patterns) if n not in PUBLIC and not r.startswith("admin/")]


@pytest.mark.django_db
@pytest.mark.parametrize("route,name", ROUTES, ids=[r for r, _ in ROUTES])
def test_anonymous_requests_are_sent_to_sign_in(client, route, name):
    url = _concrete(route)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if route.startswith("api/"):
            assert response.status_code == 401, url
        else:
            assert response.status_code == 302, (method, url, response.status_code)
            assert response["Location"].startswith("/accounts/login/"), url


def test_the_walk_found_the_studio_pages():
    routes = {r for r, _ in ROUTES}
    assert {"", "models/", "endpoints/", "endpoints/<str:name>/runs/", "jobs/<str:name>/"} <= routes


@pytest.mark.django_db
def test_an_htmx_request_of_an_expired_session_sends_the_whole_page_to_sign_in(client):
    """The Runs tab's polling swapped the sign-in page into the table, Preview into its panel."""
    response = client.get(
        "/endpoints/iris/runs/?page=2",
        headers={
            "HX-Request": "true",
            "HX-Target": "runs",
            "HX-Current-URL": "http://testserver/endpoints/iris/runs/?page=2",
        },
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fendpoints%2Firis%2Fruns%2F%3Fpage%3D2"
    assert client.get("/endpoints/iris/runs/")["Location"].startswith("/accounts/login/")  # a plain visit: as before
