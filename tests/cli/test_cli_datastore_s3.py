"""`datastore create -f s3.yml` and POST /api/v1/datastores with Batch Studio's own `type: s3`: the bucket registered
against a real S3-compatible server (its connection tested first), the secret access key stored encrypted and never
printed back."""

import json

import pytest
import yaml
from django.core.management import CommandError

from tests.fixtures.api import check_response, run
from tests.fixtures.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from workspace.models import Datastore

pytestmark = pytest.mark.django_db


def _yaml(s3, bucket, **more):
    body = {
        "name": "lake",
        "type": "s3",
        "bucket": bucket,
        "endpoint_url": s3.endpoint_url,
        "region": REGION,
        "credentials": {"access_key_id": ACCESS_KEY_ID, "secret_access_key": SECRET_ACCESS_KEY},
        **more,
    }
    return body


def test_datastore_create_registers_an_s3_bucket(s3, tmp_path):
    bucket = s3.bucket(files={"in/a.csv": b"x\n1\n"})
    (tmp_path / "s3.yml").write_text(yaml.safe_dump(_yaml(s3, bucket)))
    out = run("datastore", "create", "-f", str(tmp_path / "s3.yml"))
    store = Datastore.objects.get(name="lake")
    assert (store.kind, store.bucket, store.endpoint_url, store.region) == ("s3", bucket, s3.endpoint_url, REGION)
    assert store.access_key_id == ACCESS_KEY_ID and store.get_secret() == SECRET_ACCESS_KEY
    assert SECRET_ACCESS_KEY not in out and json.loads(out)["name"] == "lake"
    assert store.client().read_bytes("in/a.csv") == b"x\n1\n"
    shown = json.loads(run("datastore", "show", "-n", "lake"))
    assert (shown["type"], shown["bucket"], shown["credentials"]) == ("s3", bucket, {"access_key_id": ACCESS_KEY_ID})


def test_an_s3_datastore_without_a_bucket_is_refused_by_line(s3, tmp_path):
    body = _yaml(s3, "unused")
    del body["bucket"]
    (tmp_path / "s3.yml").write_text(yaml.safe_dump(body, sort_keys=False))
    with pytest.raises(CommandError) as err:
        run("datastore", "create", "-f", str(tmp_path / "s3.yml"))
    assert "s3.yml" in str(err.value) and "bucket" in str(err.value)
    assert not Datastore.objects.filter(name="lake").exists()


def test_the_api_registers_an_s3_datastore_and_never_answers_its_secret(s3, api):
    bucket = s3.bucket(files={"in/a.csv": b"x\n1\n"})
    response = check_response(
        api.post("/api/v1/datastores", json.dumps(_yaml(s3, bucket)), content_type="application/json")
    )
    assert response.status_code == 201, response.content.decode()
    assert SECRET_ACCESS_KEY not in response.content.decode()
    assert Datastore.objects.get(name="lake").get_secret() == SECRET_ACCESS_KEY
