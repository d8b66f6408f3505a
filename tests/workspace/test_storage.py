import errno
import os

import pytest
from django.core.exceptions import ValidationError

from tests.conftest import age
from workspace import storage


@pytest.mark.parametrize(
    "path,code",
    [
        ("../etc/passwd", "path_traversal"),
        ("a/../../b", "path_traversal"),
        ("/etc/passwd", "absolute_path"),
        ("C:/x", "absolute_path"),
    ],
)
def test_it_refuses_paths_outside_the_datastore(path, code):
    with pytest.raises(ValidationError) as err:
        storage.clean_path(path)
    assert err.value.code == code


def test_it_normalises_paths():
    assert storage.clean_path("./a//b/./c.csv") == "a/b/c.csv"


def test_publishing_never_overwrites(tmp_path):
    store = storage.LocalStore(tmp_path)
    src = tmp_path / "src"
    src.write_bytes(b"first")
    store.create_from_file("out/predictions.csv", src)
    src.write_bytes(b"second")
    with pytest.raises(storage.OutputExists):
        store.create_from_file("out/predictions.csv", src)
    assert store.read_bytes("out/predictions.csv") == b"first"


def test_written_and_published_files_get_the_usual_mode_not_0600(tmp_path):
    """Outputs and logs are readable by whoever the umask lets read them (the team's other users, a web server)."""
    store = storage.LocalStore(tmp_path)
    src = tmp_path / "src"
    src.write_bytes(b"x")
    store.write("out/logs/job_result.txt", b"Completed\n")
    store.create_from_file("out/predictions.csv", src)
    expected = 0o666 & ~storage.UMASK
    assert expected != 0o600  # the test's own umask (022 here) would not tell them apart otherwise
    for name in ("out/logs/job_result.txt", "out/predictions.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == expected, name


def test_it_lists_only_files_directly_in_a_folder(tmp_path):
    store = storage.LocalStore(tmp_path)
    store.write("in/a.csv", b"x")
    store.write("in/nested/b.csv", b"x")
    assert [e.path for e in store.files("in")] == ["in/a.csv"]


def test_a_files_version_is_known_once_it_has_settled_and_changes_when_it_is_written_again(tmp_path):
    store = storage.LocalStore(tmp_path)
    store.write("in/a.csv", b"x\n1\n")
    assert store.files("in")[0].version == ""  # just written: it may be written again within the clock's granularity
    age(tmp_path / "in/a.csv", 3600)
    before = store.files("in")[0].version
    assert before and store.files("in/a.csv")[0].version == before == store.list("in")[0].version
    store.write("in/a.csv", b"x\n2\n")  # same size, new content
    age(tmp_path / "in/a.csv", 1800)
    assert store.files("in")[0].version not in ("", before)


@pytest.mark.parametrize("error,disk_full", [(errno.ENOSPC, True), (errno.EROFS, False), (errno.EACCES, False)])
@pytest.mark.parametrize("how", ["write", "create_from_file"])
def test_a_folder_that_takes_no_writes_says_why_and_leaves_nothing_behind(tmp_path, monkeypatch, error, disk_full, how):
    store = storage.LocalStore(tmp_path / "store")
    (tmp_path / "src").write_bytes(b"x\n")

    def refuse(*args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(os, "replace" if how == "write" else "link", refuse)
    with pytest.raises(storage.OutputNotWritable, match=os.strerror(error)) as refused:
        if how == "write":
            store.write("out/.staging/part-000000.csv", b"x\n")
        else:
            store.create_from_file("out/predictions.csv", tmp_path / "src")
    assert refused.value.disk_full is disk_full
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("how", ["write", "create_from_file"])
def test_a_file_where_the_output_folder_should_be_is_not_writable_and_says_so(tmp_path, how):
    store = storage.LocalStore(tmp_path / "store")
    store.write("out/predictions.csv", b"x")
    (tmp_path / "src").write_bytes(b"x\n")
    with pytest.raises(storage.OutputNotWritable, match="is a file|a file is where") as refused:
        if how == "write":  # a part of the path is a file: ENOTDIR
            store.write("out/predictions.csv/.staging/part-000000.csv", b"x\n")
        else:  # the folder to publish in is a file: EEXIST
            store.create_from_file("out/predictions.csv/predictions.csv", tmp_path / "src")
    assert not refused.value.disk_full


def test_other_write_errors_stay_what_they_are(tmp_path, monkeypatch):
    store = storage.LocalStore(tmp_path)

    def fail(*args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError) as err:
        store.write("a/b.csv", b"x")
    assert not isinstance(err.value, storage.OutputNotWritable)


def test_reading_under_a_file_is_a_storage_error(tmp_path):
    store = storage.LocalStore(tmp_path)
    store.write("out/predictions.csv", b"x")
    with pytest.raises(storage.StorageError, match="out/predictions.csv/logs/0.log"):
        store.open("out/predictions.csv/logs/0.log")
