"""S3 datastores: an AWS S3 bucket, or a bucket of any S3-compatible store (MinIO, Ceph, R2...), behind the same
interface as LocalStore (workspace.storage) and BlobStore (workspace.blob), raising the same exceptions.

Folders are virtual, as in Blob Storage: a "folder" exists when at least one object's key starts with "<folder>/".
A finished output is published with a conditional write (If-None-Match: *), so it never replaces an object that
exists, even one that appeared after the check; a multipart upload is invisible until its completion, which carries
the same condition: readers never see a partial file.
"""

from __future__ import annotations

import io
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

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

DEFAULT_REGION = "us-east-1"
# S3 error codes that say an object or a bucket is not there
MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
# The conditional write lost: an object exists at the key (412), or another conditional write to it is in flight (409)
EXISTS = {"PreconditionFailed", "ConditionalRequestConflict"}
DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "403", "401"}


def _etag(value: str | None) -> str:
    return (value or "").strip('"')


class S3Store:
    """One S3 bucket. endpoint_url: empty for AWS S3 itself; access_key_id empty: anonymous (a public bucket)."""

    # Files up to PART bytes are published in one conditional PUT, larger ones as a multipart upload of PART-sized
    # parts (S3's minimum part is 5 MiB).
    PART = 8 * 1024 * 1024
    CHUNK = 4 * 1024 * 1024
    PAGE = 1000  # keys a listing request asks for (S3's most)

    def __init__(self, endpoint_url: str, bucket: str, region: str = "", access_key_id: str = "", secret: str = ""):
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        self.endpoint_url = (endpoint_url or "").rstrip("/")
        self.bucket = bucket
        self.anonymous = not access_key_id
        if self.endpoint_url:
            try:  # checked again on every client: a host may resolve differently now than when it was registered
                check_public_url(self.endpoint_url)
            except ValidationError as exc:
                raise StorageError(exc.messages[0]) from exc
        host = urlsplit(self.endpoint_url).hostname or ""
        config = Config(
            connect_timeout=10,
            read_timeout=120,
            retries={"max_attempts": 3, "mode": "standard"},
            # S3-compatible stores are reached at <endpoint>/<bucket>; AWS at <bucket>.s3.<region>.amazonaws.com
            s3={"addressing_style": "path" if host and not host.endswith("amazonaws.com") else "auto"},
            # Checksums only where S3 requires them: many S3-compatible stores refuse the newer default ones
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            signature_version=UNSIGNED if self.anonymous else "s3v4",
        )
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url or None,
            region_name=region or DEFAULT_REGION,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret or None,
            config=config,
        )

    # Errors ----------------------------------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"bucket '{self.bucket}'" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    @staticmethod
    def _code(exc) -> str:
        error = getattr(exc, "response", {}).get("Error", {})
        return str(error.get("Code") or getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode"))

    @contextmanager
    def _errors(self, path: str = "", writing: bool = False):
        """botocore's exceptions as StorageError messages a user can act on; a write the store refuses (a read-only
        key, a bucket policy) is OutputNotWritable: writing again does not help."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            message = self._message(exc, path)
            if writing and self._code(exc) in DENIED:
                raise OutputNotWritable(f"Cannot write '{path}': {message}") from exc
            raise StorageError(message) from exc
        except BotoCoreError as exc:
            raise StorageError(self._message(exc, path)) from exc

    def _message(self, exc, path: str) -> str:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        if isinstance(exc, EndpointConnectionError):
            return f"Cannot reach the S3 endpoint {self.endpoint_url or 'of AWS'}: {first_line(exc)}"
        if isinstance(exc, NoCredentialsError):
            return f"No credentials for the {self.where}: give the access key ID and secret access key."
        if not isinstance(exc, ClientError):
            return f"S3 error on the {self.where}: {first_line(exc)}"
        code = self._code(exc)
        if code == "NoSuchBucket":
            return f"The bucket '{self.bucket}' does not exist" + (
                f" at {self.endpoint_url}." if self.endpoint_url else "."
            )
        if code in DENIED:
            if self.anonymous:
                return f"The {self.where} does not allow anonymous access (or does not exist)."
            return (
                f"S3 authentication failed for the {self.where} ({code}): check the access key ID and secret access "
                "key, and that they allow this operation."
            )
        if code in MISSING:
            return f"'{path}' does not exist in the {self.where}."
        return f"S3 refused the request on the {self.where}: {code}."

    # Reading ---------------------------------------------------------------------------------------------------

    def check(self):
        """Test the connection: the bucket exists and the credentials may list it."""
        with self._errors():
            self.client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)

    def _head(self, path: str, writing: bool = False):
        """The object's metadata, or None when no object has this key. writing: the check before a write."""
        from botocore.exceptions import ClientError

        if not path:
            return None
        with self._errors(path, writing):
            try:
                return self.client.head_object(Bucket=self.bucket, Key=path)
            except ClientError as exc:
                if self._code(exc) in MISSING - {"NoSuchBucket"}:
                    return None
                raise

    def _has_children(self, path: str) -> bool:
        with self._errors():
            found = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{path}/" if path else "", MaxKeys=1)
        return bool(found.get("KeyCount") or found.get("Contents"))

    def exists(self, path: str) -> bool:
        path = clean_path(path)
        return self._head(path) is not None or self._has_children(path)

    def is_dir(self, path: str) -> bool:
        path = clean_path(path)
        return not path or (self._head(path) is None and self._has_children(path))

    def _pages(self, prefix: str, delimiter: str = ""):
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket,
            Prefix=prefix,
            PaginationConfig={"PageSize": self.PAGE},
            **({"Delimiter": delimiter} if delimiter else {}),
        )
        with self._errors():
            yield from pages

    def list(self, path: str = "") -> list[Entry]:
        """Direct children of a folder, folders first, then files, by name."""
        base = clean_path(path)
        prefix = f"{base}/" if base else ""
        entries = []
        for page in self._pages(prefix, "/"):
            for folder in page.get("CommonPrefixes", []):
                name = folder["Prefix"].rstrip("/")
                if not name.rsplit("/", 1)[-1].startswith("."):
                    entries.append(Entry(name, True))
            for item in page.get("Contents", []):
                name = item["Key"]
                if name == prefix or name.rsplit("/", 1)[-1].startswith("."):  # a folder's marker; hidden files
                    continue
                entries.append(Entry(name, False, item.get("Size", 0), _etag(item.get("ETag"))))
        if not entries and base and not self._has_children(base):
            raise StorageError(f"Folder '{base}' does not exist.")
        return sorted(entries, key=lambda e: (not e.is_dir, e.path))

    def files(self, path: str) -> list[Entry]:
        """The object itself, or the objects directly in the folder (nested folders are not traversed)."""
        path = clean_path(path)
        if head := self._head(path):
            return [Entry(path, False, head.get("ContentLength", 0), _etag(head.get("ETag")))]
        if path and not self._has_children(path):
            raise StorageError(f"Path '{path}' does not exist in the {self.where}.")
        return [e for e in self.list(path) if not e.is_dir]

    def open(self, path: str):
        """A buffered, streaming reader: the object's body is read as it is consumed, never whole up front."""
        path = clean_path(path)
        with self._errors(path):
            body = self.client.get_object(Bucket=self.bucket, Key=path)["Body"]

        def read(size):
            with self._errors(path):
                try:
                    return body.read(size)
                except OSError as exc:  # urllib3's errors on a dropped connection
                    raise StorageError(f"Cannot read '{path}' from the {self.where}: {first_line(exc)}") from exc

        return io.BufferedReader(_StreamReader(read, on_close=body.close), buffer_size=self.CHUNK)

    def read_bytes(self, path: str) -> bytes:
        with self.open(path) as fh:
            return fh.read()

    def read_range(self, path: str, start: int, length: int) -> bytes:
        """Bytes start..start+length-1 of the object (fewer at its end): one ranged GET (workspace.ranged)."""
        path = clean_path(path)
        with self._errors(path):
            body = self.client.get_object(Bucket=self.bucket, Key=path, Range=f"bytes={start}-{start + length - 1}")
            try:
                return body["Body"].read()
            except OSError as exc:  # urllib3's errors on a dropped connection
                raise StorageError(f"Cannot read '{path}' from the {self.where}: {first_line(exc)}") from exc
            finally:
                body["Body"].close()

    # Writing ---------------------------------------------------------------------------------------------------

    def write(self, path: str, data: bytes):
        """Write or overwrite an object (staging parts, logs); a single PUT is all-or-nothing."""
        path = clean_path(path)
        with self._errors(path, writing=True):
            self.client.put_object(Bucket=self.bucket, Key=path, Body=data)

    def create_from_file(self, path: str, local_file: Path):
        """Publish a finished file only if no object exists at path: a conditional PUT, or a multipart upload whose
        completion is conditional. A refused condition (the object exists, or appeared meanwhile) is OutputExists."""
        from botocore.exceptions import ClientError

        path = clean_path(path)
        if self._head(path, writing=True) is not None:
            raise OutputExists(f"Output file '{path}' already exists.")
        with self._errors(path, writing=True):
            try:
                if Path(local_file).stat().st_size <= self.PART:
                    body = Path(local_file).read_bytes()
                    self.client.put_object(Bucket=self.bucket, Key=path, Body=body, IfNoneMatch="*")
                else:
                    self._multipart(path, local_file)
            except ClientError as exc:
                if self._code(exc) in EXISTS:
                    raise OutputExists(f"Output file '{path}' already exists.") from exc
                raise

    def _multipart(self, path: str, local_file: Path):
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=path)["UploadId"]
        try:
            parts = []
            with open(local_file, "rb") as src:
                while chunk := src.read(self.PART):
                    number = len(parts) + 1
                    answer = self.client.upload_part(
                        Bucket=self.bucket, Key=path, UploadId=upload, PartNumber=number, Body=chunk
                    )
                    parts.append({"ETag": answer["ETag"], "PartNumber": number})
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=path, UploadId=upload, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
            )
        except BaseException:
            with suppress(Exception):  # the upload's parts are dropped; the first error is the one to tell
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=path, UploadId=upload)
            raise

    def delete(self, path: str):
        """Delete an object, or every object under a folder."""
        path = clean_path(path)
        keys = [item["Key"] for page in self._pages(f"{path}/" if path else "") for item in page.get("Contents", [])]
        if path and self._head(path) is not None:
            keys.append(path)
        with self._errors(path, writing=True):
            for start in range(0, len(keys), 1000):  # S3 deletes at most 1000 keys per request
                batch = [{"Key": key} for key in keys[start : start + 1000]]
                answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                if errors := answer.get("Errors"):
                    raise StorageError(
                        f"Cannot delete '{errors[0]['Key']}' from the {self.where}: {errors[0].get('Code')}."
                    )
