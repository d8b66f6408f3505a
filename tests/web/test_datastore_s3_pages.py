"""/data/ S3 datastores: register (connection tested first against a real S3 server), edit, browse; the secret access
key stays secret."""

import pytest

from tests.fixtures.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from workspace.models import Datastore

pytestmark = pytest.mark.django_db


def _s3_form(s3, bucket, **overrides):
    form = {
        "name": "lake",
        "description": "",
        "kind": "s3",
        "endpoint_url": s3.endpoint_url,
        "bucket": bucket,
        "region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
    }
    form.update(overrides)
    return form


def test_the_form_asks_for_s3_in_aws_words(signed_in):
    html = signed_in.get("/data/datastores/register/").content.decode()
    for label in ("Endpoint URL", "Bucket", "Region", "Access key ID", "Secret access key"):
        assert f">{label}</label>" in html
    assert '<option value="s3">Amazon S3 (or S3-compatible)</option>' in html


def test_it_registers_an_s3_datastore_with_an_encrypted_secret(signed_in, s3):
    bucket = s3.bucket(files={"in/a.csv": b"x\n1\n"})
    r = signed_in.post("/data/datastores/register/", _s3_form(s3, bucket))
    assert r.status_code == 302, r.content.decode()[-2000:]
    store = Datastore.objects.get(name="lake")
    assert (store.kind, store.bucket, store.endpoint_url, store.region) == ("s3", bucket, s3.endpoint_url, REGION)
    assert store.access_key_id == ACCESS_KEY_ID and store.get_secret() == SECRET_ACCESS_KEY
    assert SECRET_ACCESS_KEY not in store.secret_encrypted
    page = signed_in.get("/data/datastores/lake/edit/").content.decode()
    listing = signed_in.get("/data/").content.decode()
    assert SECRET_ACCESS_KEY not in page and SECRET_ACCESS_KEY not in listing and store.secret_encrypted not in page
    assert f"s3://{bucket} at {s3.endpoint_url}" in listing and "Access key" in listing


def test_editing_without_a_new_secret_keeps_the_stored_one(signed_in, s3):
    bucket = s3.bucket()
    signed_in.post("/data/datastores/register/", _s3_form(s3, bucket))
    r = signed_in.post("/data/datastores/lake/edit/", _s3_form(s3, bucket, secret_access_key="", description="Lake"))
    assert r.status_code == 302
    store = Datastore.objects.get(name="lake")
    assert store.description == "Lake" and store.get_secret() == SECRET_ACCESS_KEY


def test_a_blob_secret_is_not_kept_as_the_s3_one(signed_in, s3):
    store = Datastore.objects.create(name="lake", kind="azure_blob", container="c", credential_type="account_key")
    store.set_secret("an-azure-account-key")
    store.save()
    r = signed_in.post("/data/datastores/lake/edit/", _s3_form(s3, s3.bucket(), secret_access_key=""))
    assert "Give the secret access key again: the endpoint URL, bucket or access key ID changed." in r.content.decode()


def test_an_anonymous_s3_datastore_stores_no_secret(signed_in, s3):
    bucket = s3.bucket(public=True)
    r = signed_in.post("/data/datastores/register/", _s3_form(s3, bucket, access_key_id="", secret_access_key=""))
    assert r.status_code == 302
    store = Datastore.objects.get(name="lake")
    assert not store.has_secret and store.authentication == "None (anonymous, public bucket)"
    assert store.client().anonymous


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"bucket": "missing-bucket"}, "Connection test failed: The bucket &#x27;missing-bucket&#x27; does not exist"),
        ({"endpoint_url": "http://127.0.0.1:9"}, "Cannot reach the S3 endpoint http://127.0.0.1:9"),
        ({"bucket": ""}, "Give the bucket name."),
        ({"bucket": "Not_A_Bucket"}, "Bucket names are 3 to 63 lowercase letters"),
        ({"secret_access_key": ""}, "Give the secret access key."),
        ({"access_key_id": ""}, "Give the access key ID of this secret access key"),
        ({"endpoint_url": "ftp://files.example.com"}, "is not an http(s) URL"),
    ],
)
def test_a_failing_check_saves_nothing(signed_in, s3, overrides, message):
    r = signed_in.post("/data/datastores/register/", {**_s3_form(s3, s3.bucket()), **overrides})
    assert r.status_code == 200
    assert message in r.content.decode()
    assert not Datastore.objects.filter(name="lake").exists()


def test_a_wrong_secret_access_key_saves_nothing(signed_in, s3_strict):
    form = {
        "name": "lake",
        "kind": "s3",
        "endpoint_url": s3_strict.endpoint_url,
        "bucket": s3_strict.bucket,
        "access_key_id": s3_strict.admin[0],
        "secret_access_key": "not-the-secret",
    }
    r = signed_in.post("/data/datastores/register/", form)
    assert "Connection test failed: S3 authentication failed" in r.content.decode()
    assert not Datastore.objects.filter(name="lake").exists()
    r = signed_in.post("/data/datastores/register/", dict(form, secret_access_key=s3_strict.admin[1]))
    assert r.status_code == 302


def test_private_endpoints_are_refused_unless_allowed(signed_in, s3, settings):
    settings.ALLOW_PRIVATE_URLS = False
    r = signed_in.post("/data/datastores/register/", _s3_form(s3, s3.bucket()))
    assert "points at a private, loopback or link-local address (127.0.0.1)" in r.content.decode()
    assert not Datastore.objects.filter(name="lake").exists()


def test_the_browser_lists_an_s3_folder_and_fills_the_target(signed_in, s3):
    bucket = s3.bucket(files={"demo/a.csv": b"x\n1\n", "demo/sub/b.csv": b"x\n1\n"})
    signed_in.post("/data/datastores/register/", _s3_form(s3, bucket))
    r = signed_in.get("/data/datastores/lake/browse/?path=demo&target=id_input", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert 'data-value="azureml://datastores/lake/paths/demo/a.csv"' in html
    assert 'data-target="id_input"' in html and "sub" in html
    r = signed_in.get("/data/datastores/lake/browse/?path=nope")
    assert "Folder &#x27;nope&#x27; does not exist." in r.content.decode()
