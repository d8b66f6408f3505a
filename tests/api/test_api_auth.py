"""Every API route refuses a request without a valid token: a 401 JSON error, never a redirect."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from api.models import AccessToken, digest
from tests.fixtures.api import check_response


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


API_ROUTES = [(route, p) for route, p in _walk(get_resolver().url_patterns) if route.startswith("api/")]


def _concrete(route):
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "x1", route)


def test_the_walk_found_the_api():
    routes = {r for r, _ in API_ROUTES}
    assert {"api/v1/endpoints/<str:name>/jobs", "api/v1/jobs/<str:job>", "api/v1/openapi.json"} <= routes


@pytest.mark.parametrize("route,pattern", API_ROUTES, ids=[r for r, _ in API_ROUTES])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic YWxpY2U6czNjcmV0", "Bearer "])
@pytest.mark.django_db
def test_it_refuses_requests_without_a_valid_token(client, route, pattern, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    for method in pattern.callback.api_methods:
        response = getattr(client, method.lower())(_concrete(route), **headers)
        assert response.status_code == 401, (method, route)
        assert response.json()["error"]["code"] == "unauthorized"
        assert "Location" not in response


@pytest.mark.django_db
def test_a_revoked_token_is_refused(client, user):
    access, secret = AccessToken.issue(user, "ci")
    assert client.get("/api/v1/endpoints", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    access.revoke()
    response = check_response(client.get("/api/v1/endpoints", HTTP_AUTHORIZATION=f"Bearer {secret}"))
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_deactivated_users_token_is_refused(client, user):
    _, secret = AccessToken.issue(user, "ci")
    user.is_active = False
    user.save()
    assert client.get("/api/v1/endpoints", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


@pytest.mark.django_db
def test_the_secret_is_stored_only_as_its_digest(user):
    access, secret = AccessToken.issue(user, "ci")
    access.refresh_from_db()
    assert access.digest == digest(secret) and secret not in access.digest
    assert AccessToken.authenticate(secret) == access


@pytest.mark.django_db
def test_a_wrong_method_is_a_json_405_after_auth(api):
    response = api.delete("/api/v1/endpoints")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_the_openapi_description_is_served(api):
    response = check_response(api.get("/api/v1/openapi.json"))
    assert response.json()["openapi"].startswith("3.1")
    assert "/endpoints/{name}/jobs" in response.json()["paths"]


@pytest.mark.django_db
def test_the_openapi_description_is_valid_openapi_3_1(api):
    """The hand-written document once had unquoted commas in descriptions (YAML made stray keys of them)."""
    from openapi_spec_validator import OpenAPIV31SpecValidator

    document = api.get("/api/v1/openapi.json").json()
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in OpenAPIV31SpecValidator(document).iter_errors()
    ]
    assert errors == []
