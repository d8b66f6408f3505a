"""Resolving a job's input to a fixed list of files (a snapshot taken at submit)."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from jobs.engine import reading
from studio import storage
from studio.models import Datastore

DATASTORE_URI = re.compile(r"^azureml://datastores/(?P<name>[^/]+)/paths/(?P<path>.*)$")


@dataclass
class ResolvedInput:
    uri: str
    datastore: str
    files: list[str]


def datastore_uri(name: str, path: str) -> str:
    return f"azureml://datastores/{name}/paths/{storage.clean_path(path)}"


def resolve(uri: str) -> ResolvedInput:
    uri = (uri or "").strip()
    if not uri:
        raise ValidationError("Choose the input data for the job.", code="input_required")
    match = DATASTORE_URI.match(uri)
    if not match:
        raise ValidationError(
            "Input '%(uri)s' is not understood: use azureml://datastores/<name>/paths/<path>.",
            code="input_unknown_scheme", params={"uri": uri})
    store = Datastore.objects.filter(name=match["name"]).first()
    if store is None:
        raise ValidationError("Datastore '%(name)s' does not exist.", code="unknown_datastore", params={"name": match["name"]})
    path = storage.clean_path(match["path"])
    try:
        entries = store.client().files(path)
    except storage.StorageError as exc:
        raise ValidationError("%(error)s", code="input_not_found", params={"error": exc}) from exc
    files = [e.path for e in entries if reading.extension(e.path) in reading.SUPPORTED]
    if not files:
        skipped = len(entries)
        raise ValidationError(
            "No files to score in '%(path)s'%(why)s.", code="input_empty",
            params={"path": path or "/", "why": f" ({skipped} files of unsupported types)" if skipped else " (the folder is empty)"})
    return ResolvedInput(uri=datastore_uri(store.name, path), datastore=store.name, files=files)
