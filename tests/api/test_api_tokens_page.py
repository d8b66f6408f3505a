"""The Access tokens page: a token is shown once, listed by name afterwards, and can be revoked."""

import pytest

from api.models import AccessToken


@pytest.mark.django_db
def test_it_creates_a_token_and_shows_it_once(signed_in, user):
    response = signed_in.post("/account/tokens/", {"name": "nightly"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("bst_")
    assert secret in response.content.decode()
    assert 'data-copy="#new-token" aria-label="Copy the new token" hidden>Copy</button>' in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert AccessToken.authenticate(secret).user == user
    again = signed_in.get("/account/tokens/")
    assert "nightly" in again.content.decode() and secret not in again.content.decode()


@pytest.mark.django_db
def test_it_revokes_a_token(signed_in, user):
    access, secret = AccessToken.issue(user, "ci")
    response = signed_in.post("/account/tokens/revoke/", {"token": access.pk})
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.revoked is not None
    assert AccessToken.authenticate(secret) is None


@pytest.mark.django_db
def test_it_cannot_revoke_another_users_token(signed_in, django_user_model):
    bob = django_user_model.objects.create_user("bob", password="x-pass-123!")
    access, _ = AccessToken.issue(bob, "bob's")
    assert signed_in.post("/account/tokens/revoke/", {"token": access.pk}).status_code == 404
    access.refresh_from_db()
    assert access.revoked is None


@pytest.mark.django_db
def test_every_page_links_to_the_tokens_page(signed_in):
    assert '<a href="/account/tokens/" class="topbar-link">Access tokens</a>' in signed_in.get("/").content.decode()


@pytest.mark.django_db
def test_the_api_reference_page_lists_every_operation_of_the_openapi_document(signed_in):
    page = signed_in.get("/account/tokens/").content.decode()
    assert 'href="/account/api/"' in page  # the tokens page leads to the reference
    response = signed_in.get("/account/api/")
    assert response.status_code == 200
    html = response.content.decode()
    for method, path in [
        ("POST", "/api/v1/endpoints/{name}/jobs"),
        ("GET", "/api/v1/jobs/{job}"),
        ("POST", "/api/v1/jobs/{job}/cancel"),
        ("GET", "/api/v1/models"),
    ]:
        assert f"<code>{method} {path}</code>" in html
    assert "<code>name</code>" in html  # a shared path parameter, resolved from components
    assert "Missing, wrong or revoked token" in html
