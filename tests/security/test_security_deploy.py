"""`manage.py check --deploy` is clean under production settings, and the security headers are sent."""

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**env):
    with tempfile.TemporaryDirectory() as home:
        full = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
        }
        full.update(
            {"STUDIO_HOME": home, "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "studio.example.com"}
        )
        full.update(env)
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=full,
            capture_output=True,
            text=True,
            timeout=120,
        )


def test_check_deploy_is_clean_in_production():
    result = _check_deploy(DEBUG="0", HTTPS="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_check_deploy_flags_debug():
    result = _check_deploy(DEBUG="1", HTTPS="1")
    assert result.returncode != 0 and "security.W018" in result.stdout + result.stderr


@pytest.mark.django_db
def test_security_headers_are_sent(client):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_session_cookie_is_http_only(client, user):
    client.post("/accounts/login/", {"username": "alice", "password": "s3cret-pass!"})
    assert client.cookies["sessionid"]["httponly"]
