"""Every POST needs a CSRF token, even from a signed-in user; the API takes no session at all (token only)."""

import pytest
from django.test import Client

from tests.security.test_login_required import ROUTES, _concrete

PAGE_ROUTES = [(r, n) for r, n in ROUTES if not r.startswith("api/")]
API_ROUTES = [(r, n) for r, n in ROUTES if r.startswith("api/")]


@pytest.fixture
def csrf_client(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("route,name", PAGE_ROUTES, ids=[r for r, _ in PAGE_ROUTES])
def test_a_post_without_csrf_token_is_refused(csrf_client, route, name):
    response = csrf_client.post(_concrete(route), {"name": "x", "description": "x"})
    assert response.status_code == 403, (route, response.status_code)


@pytest.mark.django_db
def test_sign_in_itself_needs_the_token(user):
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "alice", "password": "s3cret-pass!"}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in Client().session


@pytest.mark.django_db
@pytest.mark.parametrize("route,name", API_ROUTES, ids=[r for r, _ in API_ROUTES])
def test_the_api_ignores_the_session_cookie(csrf_client, route, name):
    # A signed-in browser session must not be enough to call the API (that would make it CSRF-able).
    for method in ("get", "post"):
        response = getattr(csrf_client, method)("/" + _concrete(route).lstrip("/"))
        assert response.status_code == 401, (method, route, response.status_code)


@pytest.mark.django_db
def test_a_post_with_the_token_gets_through(user):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "s3cret-pass!", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
