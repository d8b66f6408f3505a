"""Sign-in throttling (django-axes: 5 wrong passwords lock the username, and separately the address, for 15 minutes)
and password reset, which exists only when an e-mail backend is configured."""

import re

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-ins: after 5 wrong passwords this account, or the address you sign in from, is locked for 15 minutes."


def _sign_in(client, username, password, address="192.0.2.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address, follow=True
    )


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, user):
    for _ in range(4):
        r = _sign_in(client, "alice", "wrong")
        assert "Your username and password didn" in r.content.decode()
    r = _sign_in(client, "alice", "wrong")
    assert r.status_code == 429 and LOCKED in r.content.decode()
    r = _sign_in(client, "alice", "s3cret-pass!")
    assert r.status_code == 429 and LOCKED in r.content.decode()
    assert not _signed_in(client)


def test_the_lock_follows_the_username_across_addresses(client, user):
    for n in range(5):
        _sign_in(client, "alice", "wrong", address=f"198.51.100.{n}")
    r = _sign_in(client, "alice", "s3cret-pass!", address="203.0.113.9")
    assert r.status_code == 429 and not _signed_in(client)


def test_the_lock_follows_the_address_across_usernames(client, user):
    for n in range(5):
        _sign_in(client, f"guess{n}", "wrong", address="198.51.100.7")
    r = _sign_in(client, "alice", "s3cret-pass!", address="198.51.100.7")
    assert r.status_code == 429 and not _signed_in(client)
    assert _sign_in(client, "alice", "s3cret-pass!", address="198.51.100.8").status_code == 200
    assert _signed_in(client)


def test_a_successful_sign_in_clears_the_count(client, user):
    for _ in range(4):
        _sign_in(client, "alice", "wrong")
    _sign_in(client, "alice", "s3cret-pass!")
    client.logout()
    for _ in range(4):
        _sign_in(client, "alice", "wrong")
    assert _sign_in(client, "alice", "s3cret-pass!").status_code == 200 and _signed_in(client)


def test_password_reset_does_not_exist_without_e_mail(client, user, settings):
    settings.PASSWORD_RESET_ENABLED = False
    assert "Forgot your password?" not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/password_reset/").status_code == 404
    r = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert r.status_code == 404 and not mail.outbox


def test_password_reset_sends_a_link_that_sets_a_new_password(client, user, settings):
    settings.PASSWORD_RESET_ENABLED = True  # EMAIL_BACKEND: the test run's in-memory outbox
    user.email = "alice@example.com"
    user.save()
    assert "Forgot your password?" in client.get("/accounts/login/").content.decode()
    r = client.post("/accounts/password_reset/", {"email": "alice@example.com"}, follow=True)
    assert "Check your e-mail" in r.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    new = {"new_password1": "a-new-pass-42", "new_password2": "a-new-pass-42"}
    assert "Your new password is set" in client.post(form.redirect_chain[-1][0], new, follow=True).content.decode()
    assert _sign_in(client, "alice", "a-new-pass-42").status_code == 200 and _signed_in(client)
