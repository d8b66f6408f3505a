"""Secrets never show up in HTML: API tokens are stored as digests and shown once; the Django secret key never."""

import pytest
from django.conf import settings

from studio.api.models import AccessToken

PAGES = ["/", "/models/", "/endpoints/", "/jobs/", "/data/", "/compute/"]


@pytest.mark.django_db
def test_an_api_token_is_stored_as_a_digest_and_never_rendered(signed_in, user):
    token, secret = AccessToken.issue(user, "ci")
    token.refresh_from_db()
    assert secret not in token.digest and len(token.digest) == 64
    for url in PAGES + ["/account/tokens/"]:
        response = signed_in.get(url)
        if response.status_code == 404:
            continue
        assert secret.encode() not in response.content, url
        assert settings.SECRET_KEY.encode() not in response.content, url


@pytest.mark.django_db
def test_the_secret_key_is_not_in_any_page(signed_in, endpoint):
    for url in PAGES + [f"/endpoints/{endpoint.name}/"]:
        assert settings.SECRET_KEY.encode() not in signed_in.get(url).content, url
