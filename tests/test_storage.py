import pytest
from django.core.exceptions import ValidationError

from studio import storage


@pytest.mark.parametrize("path,code", [("../etc/passwd", "path_traversal"), ("a/../../b", "path_traversal"),
                                       ("/etc/passwd", "absolute_path"), ("C:/x", "absolute_path")])
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


def test_it_lists_only_files_directly_in_a_folder(tmp_path):
    store = storage.LocalStore(tmp_path)
    store.write("in/a.csv", b"x")
    store.write("in/nested/b.csv", b"x")
    assert [e.path for e in store.files("in")] == ["in/a.csv"]
