"""/data/ datasets: register from a datastore path or from uploads, immutable versions, files and preview."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from workspace.models import Dataset, Datastore

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    store = Datastore.get_default()
    client = store.client()
    client.write("iris/a.csv", b"sepal,petal\n1.0,2.0\n3.0,4.0\n")
    client.write("iris/b.csv", b"sepal,petal\n5.0,6.0\n")
    client.write("iris/readme.txt", b"hi")
    return store


def _form(**overrides):
    form = {
        "name": "iris",
        "description": "",
        "type": "uri_folder",
        "source": "datastore",
        "datastore": Datastore.get_default().pk,
        "path": "iris",
    }
    form.update(overrides)
    return form


def test_no_datasets_yet_says_where_to_create_one(signed_in):
    assert (
        'No datasets yet — <a href="/data/datasets/register/">+ Create dataset</a>'
        in signed_in.get("/data/").content.decode()
    )


def test_registering_twice_makes_version_two(signed_in, store):
    assert signed_in.post("/data/datasets/register/", _form()).status_code == 302
    r = signed_in.post("/data/datasets/register/", _form(path="iris/*.csv"))
    assert r.status_code == 302 and r.url == "/data/datasets/iris/2/"
    assert list(Dataset.objects.values_list("version", "path")) == [("2", "iris/*.csv"), ("1", "iris")]
    page = signed_in.get("/data/").content.decode()
    assert "iris" in page


def test_the_detail_page_lists_files_and_previews_rows(signed_in, store):
    Dataset.register(name="iris", datastore=store, path="iris", type=Dataset.URI_FOLDER)
    html = signed_in.get("/data/datasets/iris/1/?preview=iris/a.csv").content.decode()
    assert "azureml:iris:1" in html and "iris/b.csv" in html
    assert "First 2 of 2 rows." in html and "<th>sepal</th>" in html and "<td>3.0</td>" in html
    html = signed_in.get("/data/datasets/iris/1/?preview=iris/readme.txt").content.decode()
    assert "unsupported file type" in html
    assert signed_in.get("/data/datasets/iris/9/").status_code == 404


def test_versions_are_immutable(store):
    dataset = Dataset.register(name="iris", datastore=store, path="iris", type=Dataset.URI_FOLDER)
    dataset.path = "elsewhere"
    with pytest.raises(ValidationError, match="immutable"):
        dataset.save()


def test_uploaded_files_go_to_the_default_datastore(signed_in, store):
    files = [SimpleUploadedFile("x.csv", b"a,b\n1,2\n"), SimpleUploadedFile("y.csv", b"a,b\n3,4\n")]
    r = signed_in.post("/data/datasets/register/", _form(name="up", source="upload", path="", files=files))
    assert r.status_code == 302
    dataset = Dataset.objects.get(name="up")
    assert (dataset.path, dataset.uploaded) == ("datasets/up/1", True)
    assert [e.path for e in dataset.files()] == ["datasets/up/1/x.csv", "datasets/up/1/y.csv"]


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"path": "../etc"}, "may not contain &#x27;..&#x27;"),
        ({"path": "nowhere"}, "does not exist"),
        ({"path": "iris", "type": "uri_file"}, "A uri_file dataset must point at one file"),
        ({"path": "iris/readme.txt", "type": "uri_file"}, "&#x27;iris/readme.txt&#x27; is not a supported file type"),
        ({"path": "iris/*.parquet"}, "No files in &#x27;iris/*.parquet&#x27;"),
        ({"source": "upload", "files": [SimpleUploadedFile("e.csv", b"")]}, "&#x27;e.csv&#x27; is empty (0 bytes)."),
        (
            {"source": "upload", "files": [SimpleUploadedFile("e.exe", b"MZ")]},
            "&#x27;e.exe&#x27; is not a supported file type",
        ),
        ({"source": "upload"}, "Choose the files to upload."),
    ],
)
def test_bad_datasets_are_refused_and_nothing_is_written(signed_in, store, overrides, message):
    r = signed_in.post("/data/datasets/register/", _form(name="refused", **overrides))
    assert r.status_code == 200
    assert message in r.content.decode()
    assert not Dataset.objects.exists()
    assert not store.client().exists("datasets/refused")
