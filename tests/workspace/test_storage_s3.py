"""S3Store against a real S3-compatible server (moto's server mode): the same interface as LocalStore and BlobStore,
create-only publishing, errors a user can act on."""

import threading

import pytest

from tests.fixtures.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from workspace import storage
from workspace.s3 import S3Store

FILES = {
    "in/a.csv": b"x,y\n1,2\n",
    "in/b.csv": b"x,y\n3,4\n",
    "in/nested/c.csv": b"x\n",
    "in/.hidden": b"",
    "top.csv": b"x\n",
}


@pytest.fixture
def store(s3):
    return s3.store(s3.bucket(files=FILES))


def test_it_lists_direct_children_folders_first(store):
    assert [(e.path, e.is_dir) for e in store.list("")] == [("in", True), ("top.csv", False)]
    assert [(e.path, e.is_dir, e.size) for e in store.list("in")] == [
        ("in/nested", True, 0),
        ("in/a.csv", False, 8),
        ("in/b.csv", False, 8),
    ]
    with pytest.raises(storage.StorageError, match="Folder 'nope' does not exist"):
        store.list("nope")


def test_a_listing_reads_every_page(store, monkeypatch):
    monkeypatch.setattr(S3Store, "PAGE", 1)  # S3 answers at most 1000 keys a page: here one
    assert [e.path for e in store.list("in")] == ["in/nested", "in/a.csv", "in/b.csv"]
    assert [e.path for e in store.files("in")] == ["in/a.csv", "in/b.csv"]


def test_files_are_the_file_itself_or_the_files_directly_in_a_folder(store):
    assert [e.path for e in store.files("in")] == ["in/a.csv", "in/b.csv"]
    assert [e.path for e in store.files("in/a.csv")] == ["in/a.csv"]
    assert store.exists("in") and store.is_dir("in") and store.is_dir("") and not store.is_dir("in/a.csv")
    assert not store.exists("nope") and not store.exists("in/a")
    with pytest.raises(storage.StorageError, match="'nope' does not exist"):
        store.files("nope")


def test_an_objects_version_is_its_etag_and_changes_when_it_is_written_again(store):
    listed = store.files("in")[0]
    assert listed.version and store.files("in/a.csv")[0].version == listed.version == store.list("in")[1].version
    store.write("in/a.csv", b"x,y\n5,6\n")  # same size, new content
    assert store.files("in")[0].version not in ("", listed.version)


def test_it_reads_streaming_and_whole(store):
    with store.open("in/a.csv") as fh:
        assert fh.readline() == b"x,y\n"
        assert fh.read() == b"1,2\n"
    assert store.read_bytes("in/b.csv") == b"x,y\n3,4\n"
    with pytest.raises(storage.StorageError, match="'in/missing.csv' does not exist in the bucket"):
        store.read_bytes("in/missing.csv")


def test_publishing_never_overwrites(store, tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"row,prediction\n0,1\n")
    store.create_from_file("out/predictions.csv", src)
    assert store.read_bytes("out/predictions.csv") == b"row,prediction\n0,1\n"
    src.write_bytes(b"second")
    with pytest.raises(storage.OutputExists):
        store.create_from_file("out/predictions.csv", src)
    assert store.read_bytes("out/predictions.csv") == b"row,prediction\n0,1\n"


def test_the_conditional_write_refuses_an_object_that_appeared_after_the_check(store, tmp_path, monkeypatch):
    """Another writer creates the object between our check and our upload: S3's If-None-Match: * refuses ours."""
    src = tmp_path / "src"
    src.write_bytes(b"ours\n")
    monkeypatch.setattr(S3Store, "_head", lambda self, path, writing=False: None)  # the check saw nothing
    store.write("out/predictions.csv", b"theirs\n")
    with pytest.raises(storage.OutputExists):
        store.create_from_file("out/predictions.csv", src)
    assert store.read_bytes("out/predictions.csv") == b"theirs\n"


def test_a_large_file_is_published_in_parts_and_never_over_another(store, tmp_path, monkeypatch):
    monkeypatch.setattr(S3Store, "PART", 5 * 1024 * 1024)  # S3's smallest part
    data = bytes(range(256)) * (11 * 1024 * 1024 // 256)  # 11 MiB: three parts
    src = tmp_path / "big.csv"
    src.write_bytes(data)
    store.create_from_file("out/big.csv", src)
    assert store.read_bytes("out/big.csv") == data
    monkeypatch.setattr(S3Store, "_head", lambda self, path, writing=False: None)
    with pytest.raises(storage.OutputExists):
        store.create_from_file("out/big.csv", src)
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    assert uploads == []  # the refused upload's parts were aborted, not left to bill


def test_of_two_concurrent_publishers_exactly_one_wins(store, tmp_path, monkeypatch):
    monkeypatch.setattr(S3Store, "_head", lambda self, path, writing=False: None)
    outcomes = []

    def publish(i):
        src = tmp_path / f"src{i}"
        src.write_bytes(f"writer {i}\n".encode())
        try:
            store.create_from_file("out/once.csv", src)
            outcomes.append(("won", i))
        except storage.OutputExists:
            outcomes.append(("refused", i))

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for outcome, i in outcomes if outcome == "won"]
    assert len(winners) == 1 and len(outcomes) == 4
    assert store.read_bytes("out/once.csv") == f"writer {winners[0]}\n".encode()


def test_write_overwrites_and_delete_removes_a_folder(store):
    store.write("job/.staging/part-1.csv", b"a")
    store.write("job/.staging/part-1.csv", b"b")
    assert store.read_bytes("job/.staging/part-1.csv") == b"b"
    store.delete("job/.staging")
    assert not store.exists("job/.staging")
    store.delete("in/a.csv")
    assert [e.path for e in store.files("in")] == ["in/b.csv"]


def test_it_refuses_traversal_before_any_request(store):
    with pytest.raises(Exception, match="may not contain '..'"):
        store.read_bytes("../other/x.csv")


def test_a_missing_bucket_is_named(s3):
    with pytest.raises(storage.StorageError, match="The bucket 'missing-bucket' does not exist at http://127.0.0.1"):
        s3.store("missing-bucket").check()


def test_anonymous_access_lists_a_public_bucket_only(s3):
    public = s3.bucket(files={"p/a.csv": b"x\n1\n"}, public=True)
    private = s3.bucket(files={"p/a.csv": b"x\n1\n"})
    anonymous = S3Store(s3.endpoint_url, public)
    assert anonymous.anonymous and [e.path for e in anonymous.files("p")] == ["p/a.csv"]
    with pytest.raises(storage.StorageError, match=f"The bucket '{private}' .* does not allow anonymous access"):
        S3Store(s3.endpoint_url, private).read_bytes("p/a.csv")


def test_a_wrong_secret_says_authentication_failed(s3_strict):
    key_id, _ = s3_strict.admin
    with pytest.raises(storage.StorageError, match="S3 authentication failed .*SignatureDoesNotMatch"):
        S3Store(s3_strict.endpoint_url, s3_strict.bucket, REGION, key_id, "not-the-secret").check()
    S3Store(s3_strict.endpoint_url, s3_strict.bucket, REGION, *s3_strict.admin).check()


def test_a_read_only_key_cannot_write_and_says_so(s3_strict, tmp_path):
    store = S3Store(s3_strict.endpoint_url, s3_strict.bucket, REGION, *s3_strict.reader)
    assert store.read_bytes("in/a.csv") == b"x\n1\n"
    (tmp_path / "out.csv").write_bytes(b"y\n")
    for write in (
        lambda: store.write("out/.staging/part-000000.csv", b"y\n"),
        lambda: store.create_from_file("out/predictions.csv", tmp_path / "out.csv"),
    ):
        with pytest.raises(storage.OutputNotWritable, match="S3 authentication failed") as refused:
            write()
        assert not refused.value.disk_full
    assert not S3Store(s3_strict.endpoint_url, s3_strict.bucket, REGION, *s3_strict.admin).exists("out")


def test_a_presigned_url_is_read_as_a_public_url_its_signature_kept_apart(s3, store):
    from workspace.models import source_client

    presigned = store.client.generate_presigned_url("get_object", Params={"Bucket": store.bucket, "Key": "in/a.csv"})
    url, query = storage.split_sas(presigned)
    assert "X-Amz-Signature" not in url and "X-Amz-Signature=" in query
    assert source_client("", query).read_bytes(url) == b"x,y\n1,2\n"


def test_an_unreachable_endpoint_is_named(settings):
    settings.ALLOW_PRIVATE_URLS = True
    with pytest.raises(storage.StorageError, match="Cannot reach the S3 endpoint http://127.0.0.1:9"):
        S3Store("http://127.0.0.1:9", "bucket", REGION, ACCESS_KEY_ID, SECRET_ACCESS_KEY).check()


def test_a_private_endpoint_is_refused_unless_allowed(s3, settings):
    settings.ALLOW_PRIVATE_URLS = False
    with pytest.raises(storage.StorageError, match="private, loopback or link-local address"):
        s3.store("any-bucket")
