"""Data asset versions as Azure allows: any string of letters, digits, '.', '-', '_' up to 30 characters, the next
integer when none is given, never a version twice; "latest" is the most recently created version."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from workspace.forms import DatasetForm
from workspace.models import Dataset, Datastore

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    store = Datastore.get_default()
    store.client().write("iris/a.csv", b"sepal,petal\n1.0,2.0\n")
    return store


def _register(store, version=None, name="iris"):
    return Dataset.register(name=name, datastore=store, path="iris", type=Dataset.URI_FOLDER, version=version)


def _refused(store, version):
    with pytest.raises(ValidationError) as err:
        _register(store, version)
    return err.value


@pytest.mark.parametrize("version", ["3", "v1.2", "2024-01-15", "release_candidate-2.0", "a" * 30])
def test_any_version_azure_allows_is_kept_as_given(store, version):
    dataset = _register(store, version)
    assert Dataset.lookup("iris", version) == dataset and dataset.uri == f"azureml:iris:{version}"


def test_without_a_version_it_gets_the_next_integer_after_the_highest_integer_version(store):
    assert _register(store).version == "1"
    _register(store, "9")
    _register(store, "v10.2")  # not an integer: not counted
    _register(store, "2024-01-15")
    assert _register(store).version == "10"
    assert Dataset.next_version("another") == "1"


@pytest.mark.parametrize(
    "version,code",
    [
        ("v 1", "invalid_version"),
        ("1/2", "invalid_version"),
        ("..", "invalid_version"),
        ("a" * 31, "invalid_version"),
        ("ünï", "invalid_version"),
        ("latest", "reserved_version"),
    ],
)
def test_a_version_azure_does_not_allow_is_refused(store, version, code):
    assert _refused(store, version).code == code
    assert not Dataset.objects.exists()


def test_a_version_given_twice_is_refused_and_the_first_is_unchanged(store):
    first = _register(store, "v1")
    error = _refused(store, "v1")
    assert error.code == "dataset_version_exists"
    assert "already has a version v1" in error.messages[0] and "(1)" in error.messages[0]
    assert list(Dataset.objects.values_list("pk", flat=True)) == [first.pk]


def test_latest_is_the_most_recently_created_version_not_the_highest(store):
    _register(store, "10")
    newest = _register(store, "9")
    assert Dataset.lookup("iris", "latest") == newest == Dataset.lookup("iris")
    assert [d.version for d in Dataset.objects.filter(name="iris")] == ["9", "10"]  # newest first


def test_the_form_checks_the_version_before_anything_is_registered(store):
    _register(store, "2024-01-15")
    fields = {"name": "iris", "type": "uri_folder", "source": "datastore", "datastore": store.pk, "path": "iris"}
    form = DatasetForm({**fields, "version": "2024-01-15"})
    assert not form.is_valid() and form.errors.as_data()["version"][0].code == "dataset_version_exists"
    form = DatasetForm({**fields, "version": "bad version"})
    assert not form.is_valid() and form.errors.as_data()["version"][0].code == "invalid_version"
    assert DatasetForm({**fields, "version": "v2"}).is_valid()


def test_the_page_registers_a_named_version_and_shows_it(signed_in, store):
    form = {"name": "iris", "type": "uri_folder", "source": "datastore", "datastore": store.pk, "path": "iris"}
    r = signed_in.post("/data/datasets/register/", {**form, "version": "2024-01-15"})
    assert r.status_code == 302 and r.url == "/data/datasets/iris/2024-01-15/"
    assert "azureml:iris:2024-01-15" in signed_in.get(r.url).content.decode()
    again = signed_in.post("/data/datasets/register/", {**form, "version": "2024-01-15"}).content.decode()
    assert "already has a version 2024-01-15" in again and Dataset.objects.count() == 1
    r = signed_in.post("/data/datasets/register/", form)
    assert r.url == "/data/datasets/iris/1/"


def test_an_upload_with_a_version_goes_to_its_own_folder(signed_in, store):
    form = {"name": "up", "type": "uri_folder", "source": "upload", "version": "v1.2"}
    r = signed_in.post("/data/datasets/register/", {**form, "files": [SimpleUploadedFile("x.csv", b"a\n1\n")]})
    assert r.status_code == 302 and r.url == "/data/datasets/up/v1.2/"
    assert Dataset.lookup("up", "v1.2").path == "datasets/up/v1.2"
