"""BlobStore against a real Azurite: the same interface as LocalStore, errors a user can act on."""

import uuid
from datetime import UTC

import pytest

from tests.fixtures.azurite import KEY
from workspace import blob, storage
from workspace.models import source_client


def _name():
    return f"c{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(azurite):
    name = _name()
    azurite.container(
        name,
        files={
            "in/a.csv": b"x,y\n1,2\n",
            "in/b.csv": b"x,y\n3,4\n",
            "in/nested/c.csv": b"x\n",
            "in/.hidden": b"",
            "top.csv": b"x\n",
        },
    )
    return blob.BlobStore(azurite.account_url, name, "account_key", KEY)


def test_it_lists_direct_children_folders_first(store):
    assert [(e.path, e.is_dir) for e in store.list("")] == [("in", True), ("top.csv", False)]
    assert [(e.path, e.is_dir, e.size) for e in store.list("in")] == [
        ("in/nested", True, 0),
        ("in/a.csv", False, 8),
        ("in/b.csv", False, 8),
    ]


def test_files_are_the_file_itself_or_the_files_directly_in_a_folder(store):
    assert [e.path for e in store.files("in")] == ["in/a.csv", "in/b.csv"]
    assert [e.path for e in store.files("in/a.csv")] == ["in/a.csv"]
    assert store.exists("in") and store.is_dir("in") and not store.is_dir("in/a.csv")
    assert not store.exists("nope")
    with pytest.raises(storage.StorageError, match="'nope' does not exist"):
        store.files("nope")


def test_a_blobs_version_is_its_etag_and_changes_when_it_is_written_again(store):
    listed = store.files("in")[0]
    assert listed.version and store.files("in/a.csv")[0].version == listed.version == store.list("in")[1].version
    store.write("in/a.csv", b"x,y\n5,6\n")  # same size, new content
    assert store.files("in")[0].version not in ("", listed.version)
    assert store.list("in")[0].version == ""  # a folder has none


def test_it_reads_streaming_and_whole(store):
    with store.open("in/a.csv") as fh:
        assert fh.readline() == b"x,y\n"
        assert fh.read() == b"1,2\n"
    assert store.read_bytes("in/b.csv") == b"x,y\n3,4\n"


def test_publishing_never_overwrites(store, tmp_path, monkeypatch):
    monkeypatch.setattr(blob.BlobStore, "CHUNK", 5)  # several blocks, committed as one blob
    src = tmp_path / "src"
    src.write_bytes(b"row,prediction\n0,1\n")
    store.create_from_file("out/predictions.csv", src)
    assert store.read_bytes("out/predictions.csv") == b"row,prediction\n0,1\n"
    src.write_bytes(b"second")
    with pytest.raises(storage.OutputExists):
        store.create_from_file("out/predictions.csv", src)
    assert store.read_bytes("out/predictions.csv") == b"row,prediction\n0,1\n"


def test_write_overwrites_and_delete_removes_a_folder(store):
    store.write("job/.staging/part-1.csv", b"a")
    store.write("job/.staging/part-1.csv", b"b")
    assert store.read_bytes("job/.staging/part-1.csv") == b"b"
    store.delete("job/.staging")
    assert not store.exists("job/.staging")


def test_it_refuses_traversal_before_any_request(store):
    with pytest.raises(Exception, match="may not contain '..'"):
        store.read_bytes("../other/x.csv")


@pytest.mark.parametrize(
    "credential_type,secret,message",
    [
        ("account_key", "d3Jvbmcta2V5", "authentication failed"),
        ("sas", "sv=2020-08-04&ss=b&sig=bad", "authentication failed"),
    ],
)
def test_a_wrong_credential_says_authentication_failed(azurite, credential_type, secret, message):
    name = _name()
    azurite.container(name)
    with pytest.raises(storage.StorageError, match=message):
        blob.BlobStore(azurite.account_url, name, credential_type, secret).check()


def test_a_missing_container_is_named(azurite):
    with pytest.raises(storage.StorageError, match="container 'missing1' does not exist"):
        blob.BlobStore(azurite.account_url, "missing1", "account_key", KEY).check()


def test_a_connection_string_works(azurite):
    name = _name()
    azurite.container(name, files={"a.csv": b"x\n"})
    store = blob.BlobStore("", name, "connection_string", azurite.connection_string)
    assert [e.path for e in store.files("")] == ["a.csv"]


def test_anonymous_access_lists_a_public_container_only(azurite):
    public, private = _name(), _name()
    azurite.container(public, public=True, files={"p/a.csv": b"x\n"})
    azurite.container(private, files={"p/a.csv": b"x\n"})
    assert [e.path for e in blob.BlobStore(azurite.account_url, public).files("p")] == ["p/a.csv"]
    with pytest.raises(storage.StorageError):
        blob.BlobStore(azurite.account_url, private).check()


def test_an_unreachable_host_is_named(settings):
    settings.ALLOW_PRIVATE_URLS = True  # a loopback address: else refused before any request
    with pytest.raises(storage.StorageError, match="Cannot reach the storage account http://127.0.0.1:9/acct"):
        blob.BlobStore("http://127.0.0.1:9/acct", "c", "none").check()


@pytest.mark.parametrize(
    "url,expected",
    [
        (
            "https://acct.blob.core.windows.net/data/in/a.csv",
            ("https://acct.blob.core.windows.net", "data", "in/a.csv"),
        ),
        (
            "http://127.0.0.1:10000/devstoreaccount1/data/in/",
            ("http://127.0.0.1:10000/devstoreaccount1", "data", "in/"),
        ),
        ("https://acct.blob.core.windows.net/data", ("https://acct.blob.core.windows.net", "data", "")),
    ],
)
def test_it_splits_blob_urls(url, expected):
    assert blob.split_blob_url(url) == expected


def test_public_urls_are_read_streaming_and_checked_again(azurite, settings):
    name = _name()
    azurite.container(name, public=True, files={"p/a.csv": b"x\n1\n2\n"})
    url = blob.blob_url(azurite.account_url, name, "p/a.csv")
    source = source_client("")
    with source.open(url) as fh:
        assert fh.readline() == b"x\n" and fh.read() == b"1\n2\n"
    assert source.read_bytes(url) == b"x\n1\n2\n" and source.size(url) == 6
    with pytest.raises(storage.StorageError, match="HTTP 404"):
        source.read_bytes(url + ".missing")
    settings.ALLOW_PRIVATE_URLS = False
    with pytest.raises(storage.StorageError, match="private, loopback or link-local"):
        source.read_bytes(url)


def test_a_read_only_sas_cannot_write_and_says_so(azurite, tmp_path):
    from datetime import datetime, timedelta

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    name = _name()
    azurite.container(name, files={"in/a.csv": b"x\n"})
    sas = generate_container_sas(
        azurite.account,
        name,
        account_key=KEY,
        expiry=datetime.now(UTC) + timedelta(hours=1),
        permission=ContainerSasPermissions(read=True, list=True),
    )
    store = blob.BlobStore(azurite.account_url, name, "sas", sas)
    assert store.read_bytes("in/a.csv") == b"x\n"
    (tmp_path / "out.csv").write_bytes(b"y\n")
    for write in (
        lambda: store.write("out/.staging/part-000000.csv", b"y\n"),
        lambda: store.create_from_file("out/predictions.csv", tmp_path / "out.csv"),
    ):
        with pytest.raises(storage.OutputNotWritable, match="authentication failed") as refused:
            write()
        assert not refused.value.disk_full
