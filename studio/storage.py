"""Datastore clients: one small class per kind, the same interface, their own exceptions.

Paths inside a datastore are always relative POSIX paths ("demo/iris/part-1.csv"); a path that climbs out
of the datastore ("../") or is absolute is refused before any I/O.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError


class StorageError(Exception):
    """A datastore could not do what was asked; the message says what to fix."""


class OutputExists(StorageError):
    pass


@dataclass(frozen=True)
class Entry:
    path: str
    is_dir: bool
    size: int = 0


def clean_path(path: str) -> str:
    """Normalise a datastore-relative path; refuse traversal and absolute paths."""
    path = (path or "").replace("\\", "/").strip()
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise ValidationError("Path '%(path)s' must be relative to the datastore.", code="absolute_path", params={"path": path})
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValidationError("Path '%(path)s' may not contain '..'.", code="path_traversal", params={"path": path})
    return "/".join(parts)


class LocalStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _full(self, path: str) -> Path:
        full = (self.root / clean_path(path)).resolve()
        root = self.root.resolve()
        if full != root and root not in full.parents:
            raise ValidationError("Path '%(path)s' is outside the datastore.", code="path_traversal", params={"path": path})
        return full

    def exists(self, path: str) -> bool:
        return self._full(path).exists()

    def is_dir(self, path: str) -> bool:
        return self._full(path).is_dir()

    def list(self, path: str = "") -> list[Entry]:
        """Direct children of a folder, folders first, then files, by name."""
        full = self._full(path)
        if not full.is_dir():
            raise StorageError(f"Folder '{path}' does not exist.")
        base = clean_path(path)
        entries = [
            Entry(posixpath.join(base, child.name) if base else child.name, child.is_dir(), 0 if child.is_dir() else child.stat().st_size)
            for child in full.iterdir()
            if not child.name.startswith(".")
        ]
        return sorted(entries, key=lambda e: (not e.is_dir, e.path))

    def files(self, path: str) -> list[Entry]:
        """The files a job input names: the file itself, or the files directly in the folder (not nested ones)."""
        full = self._full(path)
        if full.is_file():
            return [Entry(clean_path(path), False, full.stat().st_size)]
        if not full.exists():
            raise StorageError(f"Path '{path}' does not exist in the datastore.")
        return [e for e in self.list(path) if not e.is_dir]

    def open(self, path: str):
        try:
            return open(self._full(path), "rb")
        except FileNotFoundError as exc:
            raise StorageError(f"File '{path}' does not exist.") from exc

    def read_bytes(self, path: str) -> bytes:
        with self.open(path) as fh:
            return fh.read()

    def write(self, path: str, data: bytes):
        """Write (or overwrite) a file atomically: staging parts, logs."""
        full = self._full(path)
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, full)

    def create_from_file(self, path: str, local_file: Path):
        """Publish a finished local file at path, atomically and never over an existing file."""
        full = self._full(path)
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=".tmp-")
        os.close(fd)
        try:
            with open(local_file, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            try:
                os.link(tmp, full)  # fails if the target exists: never overwrite
            except FileExistsError as exc:
                raise OutputExists(f"Output file '{path}' already exists.") from exc
        finally:
            os.unlink(tmp)

    def delete(self, path: str):
        full = self._full(path)
        if full.is_dir():
            import shutil

            shutil.rmtree(full, ignore_errors=True)
        elif full.exists():
            full.unlink()


def client_for(datastore):
    if datastore.kind == datastore.LOCAL:
        root = datastore.local_root()
        root.mkdir(parents=True, exist_ok=True)
        return LocalStore(root)
    raise StorageError(f"Datastore kind '{datastore.kind}' is not supported yet.")
