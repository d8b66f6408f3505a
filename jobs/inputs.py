"""Resolving a job's input to a fixed list of files (a snapshot taken at submit).

Inputs:
- a dataset: azureml:<name>:<version> (any version string: 3, v1.2, 2024-01-15), azureml:<name>@latest (the most
  recently created version), or plain <name>:<version> / <name>@latest;
- a datastore path: azureml://datastores/<name>/paths/<path>;
- a public URL: http(s)://... to one file, or to a public Azure Blob container or prefix (listed anonymously).

A datastore or dataset input resolves to paths inside its datastore; a public URL resolves to datastore ""
and full URLs, read by workspace.storage.source_client("").
"""

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from engine import reading
from workspace import blob, storage
from workspace.models import Dataset, Datastore
from workspace.redact import redact

DATASTORE_URI = re.compile(r"^azureml://datastores/(?P<name>[^/]+)/paths/(?P<path>.*)$")
DATASET_URI = re.compile(
    r"^(?:azureml:)?(?P<name>[a-zA-Z][a-zA-Z0-9_-]*)(?::(?P<version>[^:@/]+)|@(?P<latest>latest))$"
)


@dataclass
class ResolvedInput:
    uri: str
    datastore: str  # "" for public URLs: files are then full URLs
    files: list[str]
    sas: str = ""  # a public URL's SAS token: kept out of uri and files (which pages show), encrypted at rest
    skipped: dict = field(default_factory=dict)  # files of types the engine does not read (reading.skipped)
    path: str = ""  # the input's own path in its datastore (a folder, a file or a glob)
    sizes: dict = field(default_factory=dict, compare=False)  # a datastore file's bytes, from its listing (split_rows)

    @property
    def single_file(self) -> bool:
        """The input names one file (not a folder of one): only it is read, whatever lands beside it."""
        return len(self.files) == 1 and self.files[0] == self.path


def datastore_uri(name: str, path: str) -> str:
    return f"azureml://datastores/{name}/paths/{storage.clean_path(path)}"


def resolve(uri: str, every_file: bool = False) -> ResolvedInput:
    """The input's files. every_file: a scoring script's job gets every file, whatever its type (Azure passes the
    whole folder to run()); the engine's own reading only the types it reads."""
    uri = (uri or "").strip()
    if not uri:
        raise ValidationError("Choose the input data for the job.", code="input_required")
    if match := DATASTORE_URI.match(uri):
        return _resolve_datastore_path(match["name"], match["path"], every_file)
    if uri.lower().startswith(("http://", "https://")):
        return _resolve_public_url(uri, every_file)
    if match := DATASET_URI.match(uri):
        return _resolve_dataset(match["name"], match["version"] or "latest", every_file)
    raise ValidationError(
        "Input '%(uri)s' is not understood: use a dataset (azureml:<name>:<version> or azureml:<name>@latest), "
        "azureml://datastores/<name>/paths/<path>, or a public http(s) URL.",
        code="input_unknown_scheme",
        params={"uri": uri},
    )


def _resolve_datastore_path(name: str, path: str, every_file: bool) -> ResolvedInput:
    store = Datastore.objects.filter(name=name).first()
    if store is None:
        raise ValidationError("Datastore '%(name)s' does not exist.", code="unknown_datastore", params={"name": name})
    path = storage.clean_path(path)
    client = _listing(store.client)
    entries = _listing(lambda: client.files(path))
    files, skipped = _scorable(entries, path, every_file)
    if outside := getattr(client, "skipped", []):  # a local folder's symlinks out of it: never read
        skipped = {**skipped, "outside": outside[:10], "outside_count": len(outside)}
    return ResolvedInput(
        uri=datastore_uri(store.name, path),
        datastore=store.name,
        files=files,
        skipped=skipped,
        path=path,
        sizes={e.path: e.size for e in entries},
    )


def _resolve_dataset(name: str, version: str, every_file: bool) -> ResolvedInput:
    dataset = Dataset.lookup(name, version)
    entries = _listing(dataset.files)
    files, skipped = _scorable(entries, dataset.path, every_file)
    return ResolvedInput(
        uri=dataset.uri,
        datastore=dataset.datastore.name,
        files=files,
        skipped=skipped,
        path=dataset.path,
        sizes={e.path: e.size for e in entries},
    )


def _resolve_public_url(typed: str, every_file: bool) -> ResolvedInput:
    url, sas = storage.split_sas(typed)
    storage.check_public_url(url)
    shown = redact(typed)
    path = urlsplit(url).path
    if reading.extension(path) and not path.endswith("/"):
        size = _listing(lambda: storage.PublicSource(sas).size(url))
        files, _ = _scorable([storage.Entry(url, False, size)], url, every_file)
        return ResolvedInput(uri=shown, datastore="", files=files, sas=sas)
    # No file extension: a blob container or folder, listed anonymously or with the URL's SAS token.
    try:
        account_url, container, prefix = blob.split_blob_url(url)
    except storage.StorageError as exc:
        raise ValidationError("%(error)s", code="input_not_found", params={"error": exc}) from exc
    store = blob.BlobStore(account_url, container, *(("sas", sas) if sas else ()))
    files, skipped = _scorable(_listing(lambda: store.files(prefix)), prefix, every_file)
    return ResolvedInput(
        uri=shown,
        datastore="",
        files=[blob.blob_url(account_url, container, f) for f in files],
        sas=sas,
        skipped=skipped,
    )


def _listing(list_files):
    try:
        return list_files()
    except storage.StorageError as exc:
        raise ValidationError("%(error)s", code="input_not_found", params={"error": redact(str(exc))}) from exc


def _scorable(entries, where: str, every_file: bool = False) -> tuple[list[str], dict]:
    """The paths the engine can read and a summary of those it cannot (reading.skipped, {} for none); refuse an
    input with none to read, saying why. where: the input's own path. every_file: every type is read."""
    readable = [every_file or reading.extension(e.path) in reading.SUPPORTED for e in entries]
    supported = [e for e, ok in zip(entries, readable) if ok]
    unsupported = [e.path for e, ok in zip(entries, readable) if not ok]
    skipped = reading.skipped(unsupported) if unsupported else {}
    single_file = len(entries) == 1 and entries[0].path == where
    where = where or "/"
    if not supported:
        if single_file:
            raise ValidationError(
                "'%(name)s' is not a supported file type (%(types)s).",
                code="input_unsupported_type",
                params={"name": posixpath.basename(entries[0].path), "types": ", ".join(sorted(reading.SUPPORTED))},
            )
        raise ValidationError(
            "No files to score in '%(path)s'%(why)s.",
            code="input_empty",
            params={
                "path": where,
                "why": f": {reading.describe_skipped(skipped)}; {reading.READS}"
                if entries
                else " (the folder is empty)",
            },
        )
    if all(e.size == 0 for e in supported):
        raise ValidationError(
            "%(what)s empty (0 bytes): there is nothing to score.",
            code="input_empty_file",
            params={
                "what": f"'{posixpath.basename(supported[0].path)}' is"
                if len(supported) == 1
                else f"All {len(supported)} files in '{where}' are"
            },
        )
    return [e.path for e in supported], skipped
