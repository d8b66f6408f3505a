"""The Studio's 404 page: in its layout, with the reason a view gave, never a model class's name."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_missing_endpoint_is_a_studio_page_with_a_way_back(signed_in):
    response = signed_in.get("/endpoints/nope/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in page and 'aria-label="Main"' in page  # the navigation is there
    assert "There is nothing at <code>/endpoints/nope/</code>: it was deleted, or the address is mistyped." in page
    assert "BatchEndpoint" not in page


def test_a_views_reason_is_shown(signed_in):
    signed_in.get("/endpoints/create/")  # a wizard for an MLflow model: it has no Code + environment step
    response = signed_in.get("/endpoints/create/code/")
    assert response.status_code == 404 and "<h1>Not found</h1>" in response.content.decode()
    assert "<p>No such step in this wizard.</p>" in response.content.decode()


def test_an_unknown_address_too(signed_in):
    response = signed_in.get("/no/such/page/")
    assert (
        response.status_code == 404 and "There is nothing at <code>/no/such/page/</code>" in response.content.decode()
    )


def test_an_unknown_api_address_answers_as_the_api_does(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "There is no API address /api/v1/no-such-thing/."}
    }


def test_a_server_error_is_a_studio_page_with_a_way_back(rf):
    """It was Django's bare 'Server Error (500)'."""
    from django.views.defaults import server_error

    response = server_error(rf.get("/endpoints/create/review/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Server error</h1>" in page and "studio.css" in page
    assert '<a href="/">Home</a> · <a href="/endpoints/">Endpoints</a> · <a href="/jobs/">Jobs</a>' in page


def test_a_form_sent_with_an_out_of_date_token_says_so_in_the_studios_look(client, user):
    """A form opened before signing in again in another tab was answered 'CSRF verification failed. Request aborted.'"""
    client.handler.enforce_csrf_checks = True
    client.force_login(user)
    client.cookies["csrftoken"] = "x" * 32
    response = client.post("/endpoints/create/endpoint/", {"csrfmiddlewaretoken": "y" * 32, "endpoint_name": "late"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "<h1>This form is out of date</h1>" in page and "nothing was\nsaved" in page and "studio.css" in page
    assert "CSRF verification failed" not in page
