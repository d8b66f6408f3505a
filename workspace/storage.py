"""Datastore clients: one small class per kind, the same interface, their own exceptions. Here the interface's
exceptions and entries, the local folder's client (LocalStore) and public URLs (PublicSource); Azure Blob Storage's
client is in workspace.blob, S3's in workspace.s3.

Paths inside a datastore are always relative POSIX paths ("demo/iris/part-1.csv"); a path that climbs out
of the datastore ("../") or is absolute is refused before any I/O.
"""

from __future__ import annotations

import errno
import io
import ipaddress
import os
import posixpath
import socket
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from workspace.redact import redact


class StorageError(Exception):
    """A datastore could not do what was asked; the message says what to fix."""


class OutputExists(StorageError):
    pass


class OutputNotWritable(StorageError):
    """The datastore refuses writes for a reason of its own, not of the data written: disk full, quota, permission
    denied, read-only. Writing again does not help, so a job fails with this message instead of retrying.
    disk_full: the refusal is for lack of space (writing copies elsewhere on the same datastore would fail too)."""

    def __init__(self, message: str, disk_full: bool = False):
        super().__init__(message)
        self.disk_full = disk_full


# errno values that mean "this location does not take writes", whatever is written; the values are what users read
NOT_WRITABLE = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file is where a folder should be",
}


@dataclass(frozen=True)
class Entry:
    path: str
    is_dir: bool
    size: int = 0
    # Changes whenever the file's content may have changed (local: size and modification time; a blob: its ETag);
    # "" when unknown. A schedule does not read a file again to hash it while its version is the one it hashed.
    version: str = ""

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


# A file modified this recently may be modified again within the file system clock's granularity (a few ms) at the
# same size: its version is not known yet (git's "racily clean" rule).
SETTLED_NS = 2_000_000_000


def _local_entry(path: str, full: Path) -> Entry:
    if full.is_dir():
        return Entry(path, True)
    stat = full.stat()
    settled = time.time_ns() - stat.st_mtime_ns > SETTLED_NS
    return Entry(path, False, stat.st_size, f"{stat.st_size}-{stat.st_mtime_ns}" if settled else "")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once: setting it to read it is not thread-safe


def _temporary(folder: Path) -> tuple[int, str]:
    """A temporary file beside its target, with the mode any new file of this process gets (mkstemp's is 0600:
    outputs and logs that only the Studio's own user could read)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    os.fchmod(fd, 0o666 & ~UMASK)
    return fd, tmp


def clean_path(path: str) -> str:
    """Normalise a datastore-relative path; refuse traversal and absolute paths."""
    path = (path or "").replace("\\", "/").strip()
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise ValidationError(
            "Path '%(path)s' must be relative to the datastore.", code="absolute_path", params={"path": path}
        )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValidationError("Path '%(path)s' may not contain '..'.", code="path_traversal", params={"path": path})
    return "/".join(parts)


class LocalStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.skipped: list[str] = []  # what the last list() left out: entries leading outside the datastore

    def _full(self, path: str) -> Path:
        full = (self.root / clean_path(path)).resolve()
        root = self.root.resolve()
        if full != root and root not in full.parents:
            raise ValidationError(
                "Path '%(path)s' is outside the datastore.", code="path_traversal", params={"path": path}
            )
        return full

    def exists(self, path: str) -> bool:
        return self._full(path).exists()

    def is_dir(self, path: str) -> bool:
        return self._full(path).is_dir()

    def list(self, path: str = "") -> list[Entry]:
        """Direct children of a folder, folders first, then files, by name. An entry that leads outside the datastore
        (a symlink) is left out, and its path kept in self.skipped for the caller to report."""
        full = self._full(path)
        if not full.is_dir():
            raise StorageError(f"Folder '{path}' does not exist.")
        base, root, entries, self.skipped = clean_path(path), self.root.resolve(), [], []
        for child in full.iterdir():
            if child.name.startswith("."):
                continue
            name = posixpath.join(base, child.name) if base else child.name
            target = child.resolve()
            if target != root and root not in target.parents:
                self.skipped.append(name)
                continue
            entries.append(_local_entry(name, child))
        return sorted(entries, key=lambda e: (not e.is_dir, e.path))

    def local_path(self, path: str) -> Path:
        """The file on this machine's disk, for readers that open it themselves: refused outside the datastore."""
        return self._full(path)

    def files(self, path: str) -> list[Entry]:
        """The files a job input names: the file itself, or the files directly in the folder (not nested ones)."""
        full = self._full(path)
        if full.is_file():
            return [_local_entry(clean_path(path), full)]
        if not full.exists():
            raise StorageError(f"Path '{path}' does not exist in the datastore.")
        return [e for e in self.list(path) if not e.is_dir]

    def open(self, path: str):
        try:
            return open(self._full(path), "rb")
        except FileNotFoundError as exc:
            raise StorageError(f"File '{path}' does not exist.") from exc
        except (NotADirectoryError, IsADirectoryError) as exc:  # a part of the path is a file; the path is a folder
            raise StorageError(f"'{path}' is not a readable file: {exc.strerror}.") from exc

    def read_bytes(self, path: str) -> bytes:
        with self.open(path) as fh:
            return fh.read()

    @contextmanager
    def _writing(self, path: str):
        """An OSError that says the folder takes no writes (disk full, permission denied...) becomes OutputNotWritable."""
        try:
            yield
        except OSError as exc:
            if exc.errno not in NOT_WRITABLE:
                raise
            raise OutputNotWritable(
                f"Cannot write '{path}' in the local folder {self.root}: {exc.strerror} ({NOT_WRITABLE[exc.errno]}).",
                disk_full=exc.errno in (errno.ENOSPC, errno.EDQUOT),
            ) from exc

    def write(self, path: str, data: bytes):
        """Write (or overwrite) a file atomically: staging parts, logs. A write that fails leaves nothing behind."""
        full = self._full(path)
        with self._writing(path):
            full.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _temporary(full.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, full)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def create_from_file(self, path: str, local_file: Path):
        """Publish a finished local file at path, atomically and never over an existing file."""
        full = self._full(path)
        with self._writing(path):
            self._publish(path, full, local_file)

    def _publish(self, path: str, full: Path, local_file: Path):
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temporary(full.parent)
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


class _StreamReader(io.RawIOBase):
    """Adapts a read(n) -> bytes function (the SDK's downloader, an HTTP response) to a raw stream that
    io.BufferedReader can wrap, so callers get read/readline/iteration while data arrives block by block."""

    def __init__(self, read, on_close=None):
        self._read, self._on_close = read, on_close

    def readable(self):
        return True

    def readinto(self, buffer) -> int:
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed and self._on_close:
            self._on_close()
        super().close()


def first_line(exc) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def client_for(datastore):
    if datastore.kind == datastore.LOCAL:
        root = datastore.local_root()
        root.mkdir(parents=True, exist_ok=True)
        return LocalStore(root)
    raise StorageError(f"Datastore kind '{datastore.kind}' is not supported.")


# Public URLs ---------------------------------------------------------------------------------------------------


def check_public_url(url: str) -> str:
    """Refuse URLs a server-side fetch must not follow: other schemes, and (unless settings.ALLOW_PRIVATE_URLS)
    hosts that resolve to private, loopback, link-local or otherwise non-global addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("'%(url)s' is not an http(s) URL.", code="url_scheme", params={"url": url})
    if settings.ALLOW_PRIVATE_URLS:
        return url
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(
            "Cannot resolve the host of '%(url)s'.", code="url_unresolvable", params={"url": url}
        ) from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if not ip.is_global:
            raise ValidationError(
                "'%(url)s' points at a private, loopback or link-local address (%(ip)s): only public URLs may be read. "
                "An administrator can allow private addresses (a storage emulator, a server on the internal network) "
                "by starting the Studio with ALLOW_PRIVATE_URLS=1.",
                code="url_private",
                params={"url": url, "ip": str(ip)},
            )
    return url


def split_sas(url: str) -> tuple[str, str]:
    """(the URL without its query, the query) when the query carries a credential (a SAS token's sig=...);
    (url, "") otherwise. Jobs keep the first as their files' names and the second encrypted."""
    parts = urlsplit(url)
    if not parts.query or redact(parts.query) == parts.query:
        return url, ""
    return urlunsplit(parts._replace(query="", fragment="")), parts.query


class PublicSource:
    """Reads files named by their full public URL, anonymously (or with the SAS token `query`, added to every
    request and never to a message), streaming; every fetch is checked again (a host may resolve differently at
    run time) and redirects are not followed."""

    def __init__(self, query: str = ""):
        self.query = query.lstrip("?")

    def _get(self, url: str, stream: bool):
        import requests

        try:
            check_public_url(url)
            full = f"{url}{'&' if '?' in url else '?'}{self.query}" if self.query else url
            response = requests.get(full, stream=stream, timeout=(10, 120), allow_redirects=False)
        except ValidationError as exc:
            raise StorageError(exc.messages[0]) from exc
        except requests.RequestException as exc:
            raise StorageError(f"Cannot read {url}: {redact(first_line(exc))}") from exc
        if response.status_code != 200:
            response.close()
            raise StorageError(f"Cannot read {url}: HTTP {response.status_code} {response.reason}.")
        return response

    def size(self, url: str) -> int:
        """Bytes of the file at url (-1 when the server does not say), without downloading it."""
        response = self._get(url, stream=True)
        response.close()
        return int(response.headers.get("Content-Length", -1))

    def open(self, url: str):
        response = self._get(url, stream=True)

        def read(size):
            try:
                return response.raw.read(size, decode_content=True)
            except Exception as exc:  # urllib3's errors: a dropped connection, a broken chunk
                raise StorageError(f"Cannot read {url}: {first_line(exc)}") from exc

        return io.BufferedReader(_StreamReader(read, on_close=response.close), buffer_size=1 << 20)

    def read_bytes(self, url: str) -> bytes:
        return self._get(url, stream=False).content
