"""Model upload refuses zip-slip, symlinks and oversize archives; datastore paths cannot climb out."""

import io
import os
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from jobs.submit import submit_job
from workspace import registry, storage
from workspace.models import Datastore


def _zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            if mode:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    buf.seek(0)
    return buf


MLMODEL = b"artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"


@pytest.mark.parametrize(
    "entries,code",
    [
        ([("model/MLmodel", MLMODEL, 0), ("../../evil.txt", b"x", 0)], "zip_slip"),
        ([("model/MLmodel", MLMODEL, 0), ("model/../../../evil.txt", b"x", 0)], "zip_slip"),
        ([("model/MLmodel", MLMODEL, 0), ("/tmp/evil-absolute.txt", b"x", 0)], "zip_slip"),
        ([("model/MLmodel", MLMODEL, 0), ("model/link", b"/etc/passwd", 0o120777)], "zip_symlink"),
        ([("model/readme.txt", b"no model here", 0)], "no_mlmodel"),
        ([("model/MLmodel", b"{{{ not yaml: [", 0)], "bad_mlmodel"),
    ],
)
def test_a_bad_model_zip_is_refused(tmp_path, entries, code, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative escape would land here
    with pytest.raises(ValidationError) as err:
        registry.register_zip("bad-model", _zip(entries))
    assert err.value.code == code
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil-absolute.txt").exists()


def test_a_zip_larger_than_the_limit_is_refused(settings):
    settings.MODEL_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as err:
        registry.register_zip("big", _zip([("model/MLmodel", MLMODEL, 0), ("model/blob.bin", b"0" * 5000, 0)]))
    assert err.value.code == "too_large"


def test_not_a_zip_is_refused():
    with pytest.raises(ValidationError) as err:
        registry.register_zip("nozip", io.BytesIO(b"PK but not really"))
    assert err.value.code == "bad_zip"


@pytest.mark.django_db
def test_the_upload_page_shows_the_reason_not_a_crash(signed_in):
    upload = _zip([("model/MLmodel", MLMODEL, 0), ("../../evil.txt", b"x", 0)])
    upload.name = "evil.zip"
    response = signed_in.post("/models/register/", {"name": "evil", "model_zip": upload})
    assert response.status_code == 200
    assert b"points outside the model folder" in response.content


TRAVERSALS = [
    "../x",
    "../../etc/passwd",
    "a/../../b",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "..\\..\\x",
    "a/./../../b",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_clean_path_refuses_traversal(path):
    with pytest.raises(ValidationError):
        storage.clean_path(path)


@pytest.mark.parametrize("path", TRAVERSALS)
def test_a_local_datastore_refuses_traversal_on_every_operation(tmp_path, path):
    store = storage.LocalStore(tmp_path / "root")
    (tmp_path / "root").mkdir()
    for op in (store.exists, store.read_bytes, store.delete, lambda p: store.write(p, b"x")):
        with pytest.raises(ValidationError):
            op(path)


def test_a_symlink_inside_a_datastore_cannot_lead_out(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path, tmp_path / "root" / "escape")
    store = storage.LocalStore(tmp_path / "root")
    with pytest.raises(ValidationError):
        store.read_bytes("escape/secret.txt")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["../../etc", "..%2F..%2Fetc", "a/../../b"])
def test_job_input_and_output_paths_cannot_climb_out(endpoint, demo_data, path):
    with pytest.raises(ValidationError):
        submit_job(endpoint, input_uri=f"azureml://datastores/{Datastore.get_default().name}/paths/{path}")
    if ".." in path and "%" not in path:
        with pytest.raises(ValidationError):
            submit_job(endpoint, input_uri=demo_data, output_path=path)


@pytest.mark.django_db
def test_the_download_view_refuses_traversal(signed_in, endpoint, demo_data):
    job = submit_job(endpoint, input_uri=demo_data)
    for file in ("../../secret_key", "..%2F..%2Fsecret_key", "%2e%2e/%2e%2e/secret_key"):
        response = signed_in.get(f"/jobs/{job.name}/download/{file}")
        assert response.status_code in (400, 403, 404), (file, response.status_code)
        assert b"secret" not in response.content.lower() or response.status_code != 200
