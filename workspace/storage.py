"""Datastore clients: one small class per kind, the same interface, their own exceptions.

Paths inside a datastore are always relative POSIX paths ("demo/iris/part-1.csv"); a path that climbs out
of the datastore ("../") or is absolute is refused before any I/O.
"""

from __future__ import annotations

import base64
import errno
import io
import ipaddress
import os
import posixpath
import socket
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

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


def _etag(properties) -> str:
    """A blob's ETag, the same from a listing (bare) and from its properties (quoted)."""
    return (properties.etag or "").strip('"')


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


def _is_ip_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host == "localhost"
    return True


def split_blob_url(url: str) -> tuple[str, str, str]:
    """Split a blob URL into (account URL, container, path inside the container).

    Azure puts the account in the host name (https://acct.blob.core.windows.net/container/path); emulators on an
    IP address or localhost put it in the first path segment (http://127.0.0.1:10000/devstoreaccount1/container/path).
    """
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/")]
    segments = segments[1:] if segments and segments[0] == "" else segments
    base = f"{parts.scheme}://{parts.netloc}"
    if _is_ip_host(parts.hostname or ""):
        if not segments or not segments[0]:
            raise StorageError(f"'{url}' does not name a storage account.")
        base, segments = f"{base}/{segments[0]}", segments[1:]
    if not segments or not segments[0]:
        raise StorageError(f"'{url}' does not name a container.")
    return base, segments[0], "/".join(segments[1:])


def _account_name(account_url: str) -> str:
    parts = urlsplit(account_url)
    if _is_ip_host(parts.hostname or ""):
        return parts.path.strip("/").split("/")[0]
    return (parts.hostname or "").split(".")[0]


class BlobStore:
    """An Azure Blob Storage container (or a prefix of one) behind the datastore interface.

    Folders are virtual: a "folder" exists when at least one blob's name starts with "<folder>/".
    """

    CHUNK = 4 * 1024 * 1024

    # credential_type -> what the SDK takes as `credential`
    ACCOUNT_KEY, SAS, CONNECTION_STRING, ANONYMOUS = "account_key", "sas", "connection_string", "none"

    def __init__(self, account_url: str, container: str, credential_type: str = "none", secret: str = ""):
        from azure.storage.blob import ContainerClient

        self.account_url = account_url.rstrip("/")
        self.container = container
        self.anonymous = credential_type == self.ANONYMOUS
        # Fail fast on an unreachable host: the SDK's default schedule waits 15 s, then 45 s... between tries.
        options = {
            "connection_timeout": 10,
            "read_timeout": 120,
            "retry_total": 2,
            "retry_connect": 1,
            "initial_backoff": 1,
            "increment_base": 2,
            "max_single_get_size": self.CHUNK,
            "max_chunk_get_size": self.CHUNK,
        }
        if credential_type == self.CONNECTION_STRING:
            try:
                self.client = ContainerClient.from_connection_string(secret, container, **options)
            except ValueError as exc:  # the SDK's words for a malformed string never quote the string itself
                raise StorageError(f"The connection string is not valid: {first_line(exc)}") from None
            endpoint = urlsplit(self.client.url)  # the account's URL for messages: no query (a SAS may be there)
            self.account_url = f"{endpoint.scheme}://{endpoint.netloc}{endpoint.path.rsplit('/', 1)[0]}"
            self._check_public()
            return
        self._check_public()
        credential = None
        if credential_type == self.ACCOUNT_KEY:
            credential = {"account_name": _account_name(self.account_url), "account_key": secret}
        elif credential_type == self.SAS:
            credential = secret.lstrip("?")
        self.client = ContainerClient(self.account_url, container, credential=credential, **options)

    def _check_public(self):
        """The private-address rule holds for every URL this client calls, a connection string's BlobEndpoint
        included: the account's URL is checked before any request."""
        try:
            check_public_url(self.account_url)
        except ValidationError as exc:
            raise StorageError(exc.messages[0]) from None

    @contextmanager
    def _errors(self, path: str = "", writing: bool = False):
        """Translate the SDK's exceptions into StorageError messages a user can act on. A write the account refuses
        (a read-only SAS, a key without the right, a locked container: 401/403) is OutputNotWritable. Whatever
        else the SDK raises (a reply that is not Blob Storage's XML) is a StorageError too, never a crash."""
        from azure.core.exceptions import AzureError

        try:
            yield
        except AzureError as exc:
            if writing and getattr(exc, "status_code", None) in (401, 403):
                raise OutputNotWritable(f"Cannot write '{path}': {self._message(exc, path)}") from exc
            raise StorageError(self._message(exc, path)) from exc
        except (StorageError, ValidationError):
            raise
        except Exception as exc:
            raise StorageError(
                f"Azure Blob Storage error on container '{self.container}' at {self.account_url}: "
                f"{redact(first_line(exc))}"
            ) from exc

    def _message(self, exc, path: str) -> str:
        from azure.core import exceptions as az

        where = f"container '{self.container}' at {self.account_url}"
        status = getattr(exc, "status_code", None)
        code = getattr(exc, "error_code", None) or getattr(exc, "reason", None) or status or ""
        code = getattr(code, "value", code)
        if isinstance(exc, az.ServiceRequestError):
            return f"Cannot reach the storage account {self.account_url}: {first_line(exc)}"
        if self.anonymous and (status in (401, 403) or isinstance(exc, az.ClientAuthenticationError)):
            return f"The {where} does not allow anonymous access (or does not exist)."
        if isinstance(exc, az.ClientAuthenticationError) or status in (401, 403):
            return (
                f"Azure Blob authentication failed for {where} ({code}): check the account key, SAS token or "
                "connection string, and that it allows this operation."
            )
        if isinstance(exc, az.ResourceNotFoundError):
            if code == "ContainerNotFound":
                return f"The container '{self.container}' does not exist at {self.account_url}."
            if not path:  # what Azure answers to an anonymous request on a private container
                return f"The container '{self.container}' does not exist at {self.account_url}, or it does not allow anonymous access."
            return f"'{path}' does not exist in {where}."
        if isinstance(exc, az.HttpResponseError):
            return f"Azure Blob Storage refused the request on {where}: {code}."
        return f"Azure Blob Storage error on {where}: {first_line(exc)}"

    def check(self):
        """Test the connection: the container exists and the credential may list it."""
        with self._errors():
            next(iter(self.client.list_blobs(results_per_page=1).by_page()), None)

    def _blob_exists(self, path: str) -> bool:
        with self._errors(path):
            return bool(path) and self.client.get_blob_client(path).exists()

    def _has_children(self, path: str) -> bool:
        prefix = f"{path}/" if path else ""
        with self._errors():  # listing fails only on the container (missing, private, bad credential)
            return next(iter(self.client.list_blobs(name_starts_with=prefix, results_per_page=1)), None) is not None

    def exists(self, path: str) -> bool:
        path = clean_path(path)
        return self._blob_exists(path) or self._has_children(path)

    def is_dir(self, path: str) -> bool:
        path = clean_path(path)
        return not path or (not self._blob_exists(path) and self._has_children(path))

    def list(self, path: str = "") -> list[Entry]:
        """Direct children of a folder, folders first, then files, by name."""
        base = clean_path(path)
        prefix = f"{base}/" if base else ""
        entries = []
        with self._errors():
            for item in self.client.walk_blobs(name_starts_with=prefix, delimiter="/"):
                name = item.name.rstrip("/")
                if name.rsplit("/", 1)[-1].startswith("."):
                    continue
                is_dir = item.name.endswith("/")
                entries.append(Entry(name, is_dir) if is_dir else Entry(name, False, item.size or 0, _etag(item)))
        if not entries and base and not self._has_children(base):
            raise StorageError(f"Folder '{base}' does not exist.")
        return sorted(entries, key=lambda e: (not e.is_dir, e.path))

    def files(self, path: str) -> list[Entry]:
        """The file itself, or the blobs directly in the folder (nested folders are not traversed, as in Azure)."""
        from azure.core.exceptions import ResourceNotFoundError

        path = clean_path(path)
        if path:
            with self._errors(path):
                try:
                    props = self.client.get_blob_client(path).get_blob_properties()
                except ResourceNotFoundError:
                    pass  # not a blob: maybe a folder
                else:
                    return [Entry(path, False, props.size, _etag(props))]
        if path and not self._has_children(path):
            raise StorageError(f"Path '{path}' does not exist in container '{self.container}'.")
        return [e for e in self.list(path) if not e.is_dir]

    def open(self, path: str):
        """A buffered, streaming reader: blocks are fetched as they are read, never the whole blob up front."""
        path = clean_path(path)
        with self._errors(path):
            downloader = self.client.get_blob_client(path).download_blob()

        def read(size):
            with self._errors(path):
                return downloader.read(size)

        return io.BufferedReader(_StreamReader(read), buffer_size=self.CHUNK)

    def read_bytes(self, path: str) -> bytes:
        path = clean_path(path)
        with self._errors(path):
            return self.client.get_blob_client(path).download_blob().readall()

    def read_range(self, path: str, start: int, length: int) -> bytes:
        """Bytes start..start+length-1 of the blob (fewer at its end): a ranged download (workspace.ranged)."""
        path = clean_path(path)
        with self._errors(path):
            return self.client.get_blob_client(path).download_blob(offset=start, length=length).readall()

    def write(self, path: str, data: bytes):
        """Write or overwrite a blob (staging parts, logs); a single upload is all-or-nothing."""
        path = clean_path(path)
        with self._errors(path, writing=True):
            self.client.get_blob_client(path).upload_blob(data, overwrite=True)

    def create_from_file(self, path: str, local_file: Path):
        """Publish a finished file: stage its blocks, then commit them only if no blob exists at path.

        Staged blocks are invisible until the commit, so readers never see a partial file, and the
        If-None-Match: * condition makes the commit fail rather than overwrite (even if a blob appeared meanwhile).
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
        from azure.storage.blob import BlobBlock

        path = clean_path(path)
        if self._blob_exists(path):
            raise OutputExists(f"Output file '{path}' already exists.")
        blob = self.client.get_blob_client(path)
        blocks = []
        with self._errors(path, writing=True):
            with open(local_file, "rb") as src:
                while chunk := src.read(self.CHUNK):
                    block_id = base64.b64encode(f"{uuid.uuid4().hex}".encode()).decode()
                    blob.stage_block(block_id, chunk)
                    blocks.append(BlobBlock(block_id=block_id))
            try:
                blob.commit_block_list(blocks, match_condition=MatchConditions.IfMissing)
            except (ResourceExistsError, ResourceModifiedError) as exc:
                raise OutputExists(f"Output file '{path}' already exists.") from exc

    def delete(self, path: str):
        """Delete a blob, or every blob under a folder."""
        path = clean_path(path)
        with self._errors(path):
            names = [b.name for b in self.client.list_blobs(name_starts_with=f"{path}/" if path else "")]
            if path and self._blob_exists(path):
                names.append(path)
            for name in names:
                self.client.delete_blob(name)


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
    if datastore.kind == datastore.AZURE_BLOB:
        return BlobStore(datastore.account_url, datastore.container, datastore.credential_type, datastore.get_secret())
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


def blob_url(account_url: str, container: str, path: str) -> str:
    return f"{account_url.rstrip('/')}/{container}/{quote(path)}"


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
