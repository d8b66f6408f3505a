"""Holes a signed-in user could use through datastores (issue 15): a local root over the Studio's own files, an
output named .html, a stored secret sent to a new host, a connection string's private endpoint, symlinks out."""

import http.server
import os
import threading
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from jobs.submit import submit_job
from tests.fixtures.azurite import KEY
from workspace.models import Datastore

pytestmark = pytest.mark.django_db


def _local(name, root):
    return {"name": name, "description": "", "kind": "local", "root": str(root), "credential_type": "none"}


def test_a_local_datastore_cannot_be_rooted_at_the_data_directory(signed_in, studio_home):
    r = signed_in.post("/data/datastores/register/", _local("home", studio_home))
    assert f"The folder must be inside {studio_home / 'datastores'}" in r.content.decode()
    assert not Datastore.objects.filter(name="home").exists()


@pytest.mark.parametrize("where", ["home", "static"])
def test_an_allowed_root_still_never_reaches_the_studios_own_files(signed_in, studio_home, settings, where):
    settings.LOCAL_DATASTORE_ROOTS = [str(studio_home)]  # an admin allowed the whole data directory
    settings.STATIC_ROOT = studio_home / "staticfiles"
    root = studio_home if where == "home" else studio_home / "staticfiles" / "studio2"
    r = signed_in.post("/data/datastores/register/", _local("home", root))
    assert "would reach the Studio&#x27;s own files" in r.content.decode()
    assert not Datastore.objects.filter(name="home").exists()


def test_a_datastore_saved_before_the_rule_cannot_list_the_secret_key(signed_in, studio_home):
    (studio_home / "secret_key").write_text("k")
    Datastore.objects.create(name="old", kind="local", root=str(studio_home))
    html = signed_in.get("/data/datastores/old/browse/").content.decode()
    assert "cannot be used: The folder must be inside" in html
    assert "secret_key" not in html


def test_static_root_inside_a_datastore_root_fails_the_system_check(settings, studio_home):
    settings.LOCAL_DATASTORE_ROOTS = [str(studio_home)]
    settings.STATIC_ROOT = studio_home / "staticfiles"
    with pytest.raises(SystemCheckError, match="studio.E001"):
        call_command("check", tags=["security"])
    settings.LOCAL_DATASTORE_ROOTS = []
    call_command("check", tags=["security"])


@pytest.mark.parametrize("name", ["help.html", "scores.txt", "predictions"])
def test_an_output_file_is_named_with_its_formats_extension(endpoint, demo_data, name):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=r"must end in \.csv"):
        submit_job(endpoint, input_uri=demo_data, overrides={"output_file_name": name})
    deployment = endpoint.default_deployment
    deployment.output_file_name = name
    with pytest.raises(ValidationError, match=r"must end in \.csv"):
        deployment.full_clean()


def _blob_form(azurite, container, **overrides):
    form = {
        "name": "lake",
        "description": "",
        "kind": "azure_blob",
        "root": "",
        "account_url": azurite.account_url,
        "container": container,
        "credential_type": "account_key",
        "secret": KEY,
    }
    return {**form, **overrides}


@pytest.mark.parametrize(
    "change",
    [
        {"account_url": "http://127.0.0.1:9/devstoreaccount1"},
        {"container": "other"},
        {"credential_type": "connection_string"},
    ],
)
def test_changing_where_a_secret_goes_asks_for_the_secret_again(signed_in, azurite, change):
    container = f"c{uuid.uuid4().hex[:12]}"
    azurite.container(container)
    assert signed_in.post("/data/datastores/register/", _blob_form(azurite, container)).status_code == 302
    r = signed_in.post("/data/datastores/lake/edit/", {**_blob_form(azurite, container, secret=""), **change})
    assert r.status_code == 200
    assert "again: the account URL, container or authentication changed" in r.content.decode()
    store = Datastore.objects.get(name="lake")
    assert (store.account_url, store.container, store.credential_type) == (
        azurite.account_url,
        container,
        "account_key",
    )


class _NotBlobStorage(http.server.BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self):
        type(self).calls += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>an internal admin page</html>")

    def log_message(self, *args):
        pass


@pytest.fixture
def internal_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotBlobStorage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _NotBlobStorage.calls = 0
    yield f"http://127.0.0.1:{server.server_port}/devstoreaccount1"
    server.shutdown()


def _connection_string_form(endpoint):
    secret = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};BlobEndpoint={endpoint};"
    return {
        "name": "internal",
        "description": "",
        "kind": "azure_blob",
        "root": "",
        "account_url": "",
        "container": "c",
        "credential_type": "connection_string",
        "secret": secret,
    }


def test_a_connection_strings_private_endpoint_is_refused_before_any_call(signed_in, settings, internal_server):
    settings.ALLOW_PRIVATE_URLS = False
    r = signed_in.post("/data/datastores/register/", _connection_string_form(internal_server))
    assert r.status_code == 200
    assert "points at a private, loopback or link-local address (127.0.0.1)" in r.content.decode()
    assert _NotBlobStorage.calls == 0
    assert not Datastore.objects.filter(name="internal").exists()


def test_a_reply_that_is_not_blob_storage_is_a_failed_connection_test(signed_in, settings, internal_server):
    settings.ALLOW_PRIVATE_URLS = True
    r = signed_in.post("/data/datastores/register/", _connection_string_form(internal_server))
    assert r.status_code == 200
    assert "Connection test failed: " in r.content.decode()
    assert not Datastore.objects.filter(name="internal").exists()


def test_a_malformed_connection_string_is_a_failed_connection_test(signed_in):
    form = dict(_connection_string_form("x"), secret="not a connection string")
    r = signed_in.post("/data/datastores/register/", form)
    assert r.status_code == 200
    assert "Connection test failed: The connection string is not valid" in r.content.decode()


@pytest.fixture
def outside_link(tmp_path):
    """The default datastore's folder links/ with a CSV file of its own and a symlink to a CSV file outside it."""
    (tmp_path / "outside.csv").write_text("sepal length (cm),secret\n1,TOP-SECRET\n")
    client = Datastore.get_default().client()
    client.delete("links")
    client.write("links/inside.csv", b"sepal length (cm)\n1\n")
    os.symlink(tmp_path / "outside.csv", Datastore.get_default().local_root() / "links" / "outside.csv")
    return client


def test_a_folder_listing_skips_and_reports_entries_leading_outside(signed_in, outside_link):
    assert [e.path for e in outside_link.files("links")] == ["links/inside.csv"]
    assert outside_link.skipped == ["links/outside.csv"]
    html = signed_in.get("/data/datastores/workspaceblobstore/browse/?path=links").content.decode()
    assert "inside.csv" in html
    assert "Not shown: 1 entry leading outside the datastore (symlinks): links/outside.csv" in html


def test_a_folder_input_does_not_follow_a_symlink_out(endpoint, outside_link):
    job = submit_job(endpoint, input_uri=Datastore.get_default().uri("links"))
    assert list(job.mini_batches.values_list("files", flat=True)) == [["links/inside.csv"]]
    assert job.input_skipped_note == "Not read: 1 entry leading outside the datastore (symlinks): links/outside.csv."
