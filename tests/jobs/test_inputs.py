"""Resolving a job input: datasets, datastore paths, public URLs; bad input gets a coded, clear message."""

import uuid

import pytest
from django.core.exceptions import ValidationError

from jobs import inputs
from tests.fixtures.azurite import container_sas
from workspace.models import Dataset, Datastore

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    store = Datastore.get_default()
    client = store.client()
    client.write("in/a.csv", b"x\n1\n")
    client.write("in/b.parquet", b"PAR1")
    client.write("in/notes.txt", b"hello")
    client.write("in/nested/c.csv", b"x\n1\n")
    client.write("text/readme.txt", b"hello")
    client.write("zero/empty.csv", b"")
    (store.local_root() / "void").mkdir(parents=True, exist_ok=True)
    return store


def _refused(uri):
    with pytest.raises(ValidationError) as err:
        inputs.resolve(uri)
    return err.value.code, err.value.messages[0]


def test_a_datastore_folder_resolves_to_its_direct_supported_files(store):
    resolved = inputs.resolve("azureml://datastores/workspaceblobstore/paths/in/")
    assert resolved == inputs.ResolvedInput(
        "azureml://datastores/workspaceblobstore/paths/in",
        "workspaceblobstore",
        ["in/a.csv", "in/b.parquet"],
        skipped={"count": 1, "types": [".txt"], "names": ["notes.txt"]},
        path="in",
    )
    assert not resolved.single_file


@pytest.mark.parametrize("uri", ["azureml:iris:2", "iris:2", "azureml:iris@latest", "iris@latest"])
def test_datasets_resolve_by_version_or_latest(store, uri):
    Dataset.register(name="iris", datastore=store, path="in/a.csv", type=Dataset.URI_FILE)
    Dataset.register(name="iris", datastore=store, path="in/*.parquet", type=Dataset.URI_FOLDER)
    resolved = inputs.resolve(uri)
    assert (resolved.uri, resolved.datastore, resolved.files) == (
        "azureml:iris:2",
        "workspaceblobstore",
        ["in/b.parquet"],
    )
    assert inputs.resolve("azureml:iris:1").files == ["in/a.csv"]


@pytest.mark.parametrize(
    "uri,path",
    [
        ("azureml:iris:2024-01-15", "in/a.csv"),
        ("iris:2024-01-15", "in/a.csv"),
        ("azureml:iris:v1.2", "in/*.parquet"),
        ("azureml:iris:10", "in/a.csv"),
        ("azureml:iris@latest", "in"),  # the most recently created, although "10" is the highest number
        ("iris@latest", "in"),
    ],
)
def test_datasets_resolve_by_a_string_version_or_the_latest_created(store, uri, path):
    Dataset.register(name="iris", datastore=store, path="in/a.csv", type=Dataset.URI_FILE, version="2024-01-15")
    Dataset.register(name="iris", datastore=store, path="in/*.parquet", type=Dataset.URI_FOLDER, version="v1.2")
    Dataset.register(name="iris", datastore=store, path="in/a.csv", type=Dataset.URI_FILE, version="10")
    Dataset.register(name="iris", datastore=store, path="in", type=Dataset.URI_FOLDER, version="3")
    resolved = inputs.resolve(uri)
    assert resolved.path == path and resolved.datastore == "workspaceblobstore"
    assert resolved.uri == (f"azureml:iris:{uri.rpartition(':')[2]}" if "@" not in uri else "azureml:iris:3")


def test_an_unknown_string_version_names_the_latest(store):
    Dataset.register(name="iris", datastore=store, path="in", type=Dataset.URI_FOLDER, version="v2")
    Dataset.register(name="iris", datastore=store, path="in", type=Dataset.URI_FOLDER, version="2024-01-15")
    assert _refused("azureml:iris:v1") == (
        "unknown_dataset_version",
        "Dataset 'iris' has no version v1 (latest is 2024-01-15).",
    )


@pytest.mark.parametrize(
    "uri,code,message",
    [
        ("azureml://datastores/workspaceblobstore/paths/../secrets", "path_traversal", "may not contain '..'"),
        (
            "azureml://datastores/workspaceblobstore/paths//etc/passwd",
            "absolute_path",
            "must be relative to the datastore",
        ),
        (
            "azureml://datastores/workspaceblobstore/paths/void",
            "input_empty",
            "No files to score in 'void' (the folder is empty).",
        ),
        (
            "azureml://datastores/workspaceblobstore/paths/text",
            "input_empty",
            "No files to score in 'text': 1 file of an unsupported type (.txt); the engine reads .csv,",
        ),
        (
            "azureml://datastores/workspaceblobstore/paths/in/notes.txt",
            "input_unsupported_type",
            "'notes.txt' is not a supported file type",
        ),
        (
            "azureml://datastores/workspaceblobstore/paths/zero/empty.csv",
            "input_empty_file",
            "'empty.csv' is empty (0 bytes)",
        ),
        ("azureml://datastores/workspaceblobstore/paths/missing", "input_not_found", "does not exist"),
        ("azureml://datastores/nope/paths/x", "unknown_datastore", "Datastore 'nope' does not exist."),
        ("azureml:iris:7", "unknown_dataset_version", "Dataset 'iris' has no version 7 (latest is 1)."),
        ("azureml:ghost@latest", "unknown_dataset", "Dataset 'ghost' does not exist."),
        ("http://127.0.0.1/data.csv", "url_private", "points at a private, loopback or link-local address (127.0.0.1)"),
        ("http://169.254.169.254/latest/meta-data/x.csv", "url_private", "(169.254.169.254)"),
        ("http://10.1.2.3/x.csv", "url_private", "(10.1.2.3)"),
        ("http://[::1]/x.csv", "url_private", "(::1)"),
        ("ftp://x", "input_unknown_scheme", "is not understood"),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_message(store, settings, uri, code, message):
    settings.ALLOW_PRIVATE_URLS = False
    Dataset.register(name="iris", datastore=store, path="in", type=Dataset.URI_FOLDER)
    assert _refused(uri)[0] == code
    assert message in _refused(uri)[1]


def test_a_public_blob_prefix_is_listed_anonymously(azurite):
    name = f"pub{uuid.uuid4().hex[:10]}"
    azurite.container(
        name,
        public=True,
        files={
            "iris/a.csv": b"x\n1\n",
            "iris/b.csv": b"x\n2\n",
            "iris/deep/c.csv": b"x\n",
            "iris/README": b"x",
            "iris/notes.txt": b"x",
        },
    )
    resolved = inputs.resolve(f"{azurite.account_url}/{name}/iris")
    assert resolved.datastore == ""
    assert resolved.skipped == {"count": 2, "types": [".txt", "no extension"], "names": ["README", "notes.txt"]}
    assert resolved.files == [f"{azurite.account_url}/{name}/iris/a.csv", f"{azurite.account_url}/{name}/iris/b.csv"]
    single = inputs.resolve(f"{azurite.account_url}/{name}/iris/b.csv")
    assert single.files == [f"{azurite.account_url}/{name}/iris/b.csv"]


def test_a_private_container_or_missing_public_file_is_refused(azurite):
    name = f"priv{uuid.uuid4().hex[:10]}"
    azurite.container(name, files={"iris/a.csv": b"x\n1\n"})
    code, message = _refused(f"{azurite.account_url}/{name}/iris")
    assert (
        code == "input_not_found"
        and f"container '{name}' at {azurite.account_url} does not allow anonymous access" in message
    )
    code, message = _refused(f"{azurite.account_url}/{name}/iris/a.csv")
    assert code == "input_not_found" and ("HTTP 404" in message or "HTTP 403" in message)


def test_a_sas_url_reads_a_private_container_and_keeps_its_token_out_of_the_uri_and_the_files(azurite):
    from urllib.parse import parse_qs

    name = f"priv{uuid.uuid4().hex[:10]}"
    azurite.container(name, files={"iris/a.csv": b"x\n1\n", "iris/b.csv": b"x\n2\n"})
    sas = container_sas(name)
    sig = parse_qs(sas)["sig"][0]
    folder = inputs.resolve(f"{azurite.account_url}/{name}/iris/?{sas}")
    assert folder.files == [f"{azurite.account_url}/{name}/iris/a.csv", f"{azurite.account_url}/{name}/iris/b.csv"]
    assert folder.sas == sas and sig not in folder.uri and "sig=REDACTED" in folder.uri
    single = inputs.resolve(f"{azurite.account_url}/{name}/iris/b.csv?{sas}")
    assert (single.files, single.sas) == ([f"{azurite.account_url}/{name}/iris/b.csv"], sas)
    code, message = _refused(f"{azurite.account_url}/{name}/iris/missing.csv?{sas}")
    assert code == "input_not_found" and sig not in message and "missing.csv" in message


@pytest.mark.parametrize(
    "uri",
    [
        "azureml://datastores/workspaceblobstore/paths/../x",
        "azureml://datastores/workspaceblobstore/paths/void",
        "azureml:iris:9",
        "http://127.0.0.1/x.csv",
    ],
)
def test_a_refused_input_creates_no_job_and_no_output(store, endpoint, settings, uri):
    from jobs.models import BatchJob
    from jobs.submit import submit_job

    settings.ALLOW_PRIVATE_URLS = False
    Dataset.register(name="iris", datastore=store, path="in", type=Dataset.URI_FOLDER)
    client = store.client()
    outputs_before = client.list("jobs") if client.exists("jobs") else []
    with pytest.raises(ValidationError):
        submit_job(endpoint, input_uri=uri)
    assert not BatchJob.objects.exists()
    assert (client.list("jobs") if client.exists("jobs") else []) == outputs_before


@pytest.mark.parametrize(
    "output_path,code,message",
    [
        ("taken", "output_exists", "azureml://datastores/lake/paths/taken/predictions.csv already exists"),
        (
            "taken/predictions.csv",
            "output_path_is_file",
            "azureml://datastores/lake/paths/taken/predictions.csv is a file",
        ),
        (
            "taken/predictions.csv/run",
            "output_path_is_file",
            "is inside the file taken/predictions.csv. Choose a folder",
        ),
    ],
)
def test_an_existing_output_in_blob_storage_is_refused_at_submit(store, endpoint, azurite, output_path, code, message):
    from jobs.models import BatchJob
    from jobs.submit import submit_job
    from tests.fixtures.azurite import KEY

    name = f"out{uuid.uuid4().hex[:8]}"
    azurite.container(name, files={"taken/predictions.csv": b"row,prediction\n"})
    lake = Datastore(
        name="lake", kind="azure_blob", account_url=azurite.account_url, container=name, credential_type="account_key"
    )
    lake.set_secret(KEY)
    lake.save()
    with pytest.raises(ValidationError) as err:
        submit_job(
            endpoint,
            input_uri="azureml://datastores/workspaceblobstore/paths/in",
            output_datastore="lake",
            output_path=output_path,
        )
    assert err.value.code == code
    assert message in err.value.messages[0]
    assert not BatchJob.objects.exists()
    assert lake.client().read_bytes("taken/predictions.csv") == b"row,prediction\n"
