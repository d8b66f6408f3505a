"""Azure Blob Storage datastores: a container (or a prefix of one) behind the same interface as LocalStore
(workspace.storage) and S3Store (workspace.s3), raising the same exceptions.

Folders are virtual: a "folder" exists when at least one blob's name starts with "<folder>/". A finished output is
published by staging its blocks and committing them only if no blob exists at its name (If-None-Match: *): readers
never see a partial file, and no blob is ever replaced.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from django.core.exceptions import ValidationError

from workspace.redact import redact
from workspace.storage import (
    Entry,
    OutputExists,
    OutputNotWritable,
    StorageError,
    _StreamReader,
    check_public_url,
    clean_path,
    first_line,
)


def _etag(properties) -> str:
    """A blob's ETag, the same from a listing (bare) and from its properties (quoted)."""
    return (properties.etag or "").strip('"')


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


def blob_url(account_url: str, container: str, path: str) -> str:
    return f"{account_url.rstrip('/')}/{container}/{quote(path)}"


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
