"""/data/ datastores: register (connection tested first), edit, delete when unused, set default; secrets stay secret."""

import uuid

import pytest

from tests.fixtures.azurite import KEY
from workspace.models import Dataset, Datastore

pytestmark = pytest.mark.django_db


def _container(azurite, **kwargs):
    name = f"c{uuid.uuid4().hex[:12]}"
    azurite.container(name, **kwargs)
    return name


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
    form.update(overrides)
    return form


def test_it_registers_a_blob_datastore_with_an_encrypted_key(signed_in, azurite):
    r = signed_in.post("/data/datastores/register/", _blob_form(azurite, _container(azurite)))
    assert r.status_code == 302
    store = Datastore.objects.get(name="lake")
    assert store.kind == "azure_blob" and store.credential_type == "account_key"
    assert KEY not in store.secret_encrypted and store.get_secret() == KEY
    page = signed_in.get("/data/datastores/lake/edit/").content.decode()
    listing = signed_in.get("/data/").content.decode()
    assert KEY not in page and KEY not in listing and store.secret_encrypted not in page
    assert "lake" in listing


def test_editing_without_a_new_secret_keeps_the_stored_one(signed_in, azurite):
    container = _container(azurite)
    signed_in.post("/data/datastores/register/", _blob_form(azurite, container))
    r = signed_in.post("/data/datastores/lake/edit/", _blob_form(azurite, container, secret="", description="Lake"))
    assert r.status_code == 302
    store = Datastore.objects.get(name="lake")
    assert store.description == "Lake" and store.get_secret() == KEY


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"secret": "d3Jvbmcta2V5"}, "authentication failed"),
        ({"container": "missing2"}, "The container &#x27;missing2&#x27; does not exist"),
        ({"account_url": "http://127.0.0.1:9/acct"}, "Cannot reach the storage account http://127.0.0.1:9/acct"),
        ({"secret": ""}, "Give the account key."),
        ({"container": ""}, "Give the container name."),
    ],
)
def test_a_failing_connection_test_saves_nothing(signed_in, azurite, overrides, message):
    r = signed_in.post("/data/datastores/register/", {**_blob_form(azurite, _container(azurite)), **overrides})
    assert r.status_code == 200
    assert message in r.content.decode()
    assert not Datastore.objects.filter(name="lake").exists()


def test_private_account_urls_are_refused_unless_allowed(signed_in, azurite, settings):
    settings.ALLOW_PRIVATE_URLS = False
    r = signed_in.post("/data/datastores/register/", _blob_form(azurite, _container(azurite)))
    assert "points at a private, loopback or link-local address (127.0.0.1)" in r.content.decode()
    assert not Datastore.objects.filter(name="lake").exists()


def test_a_local_datastore_must_stay_inside_the_allowed_root(signed_in, studio_home):
    form = {"name": "scratch", "kind": "local", "root": "/etc", "credential_type": "none"}
    r = signed_in.post("/data/datastores/register/", form)
    assert f"The folder must be inside {studio_home / 'datastores'}" in r.content.decode()
    r = signed_in.post("/data/datastores/register/", dict(form, root=str(studio_home / "datastores" / "scratch")))
    assert r.status_code == 302
    assert (studio_home / "datastores" / "scratch").is_dir()


def test_a_datastore_in_use_is_not_deleted(signed_in):
    store = Datastore.objects.create(name="side", kind="local")
    Dataset.register(name="d", datastore=store, path="", type=Dataset.URI_FOLDER)
    r = signed_in.post("/data/datastores/side/delete/", follow=True)
    assert "is in use and was not deleted: 1 dataset version(s) use it" in r.content.decode()
    assert Datastore.objects.filter(name="side").exists()
    Datastore.objects.create(name="unused", kind="local")
    signed_in.post("/data/datastores/unused/delete/")
    assert not Datastore.objects.filter(name="unused").exists()


def test_the_default_datastore_can_be_changed_and_is_never_deleted(signed_in):
    Datastore.get_default()
    Datastore.objects.create(name="other", kind="local")
    signed_in.post("/data/datastores/other/default/")
    assert Datastore.get_default().name == "other"
    assert Datastore.objects.filter(is_default=True).count() == 1
    r = signed_in.post("/data/datastores/other/delete/", follow=True)
    assert "it is the default datastore" in r.content.decode()


def test_the_browser_lists_a_folder_and_fills_the_target(signed_in):
    client = Datastore.get_default().client()
    client.write("demo/a.csv", b"x\n1\n")
    client.write("demo/sub/b.csv", b"x\n1\n")
    r = signed_in.get("/data/datastores/workspaceblobstore/browse/?path=demo&target=id_input", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert "<html" not in html  # the fragment only
    assert 'data-value="azureml://datastores/workspaceblobstore/paths/demo/a.csv"' in html
    assert 'data-target="id_input"' in html and "sub" in html
    r = signed_in.get("/data/datastores/workspaceblobstore/browse/?path=../etc")
    assert "may not contain" in r.content.decode()


def test_credentials_need_the_same_secret_key(settings):
    store = Datastore(name="x", kind="azure_blob")
    store.set_secret("s3cret")
    settings.SECRET_KEY = "another-key-entirely"
    from workspace.storage import StorageError

    with pytest.raises(StorageError, match="cannot be decrypted"):
        store.get_secret()
