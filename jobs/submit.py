"""Submitting a job: resolve deployment, settings, input and output, split into mini-batches, enqueue."""

import posixpath

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from engine import reading
from jobs import heads, inputs, lifecycle, outputs
from jobs.models import FINISHED, BatchJob, MiniBatch, Status, new_job_name
from jobs.queue import ensure_reclaim
from workspace import ranged, storage
from workspace.models import Datastore


def split(files: list[str], size: int) -> list[list[str]]:
    return [files[i : i + size] for i in range(0, len(files), size)]


def split_large_files(files: list[str], size: int, split_rows: int, ranges) -> list[list[str]]:
    """Azure's mini-batches of `size` files, except that a file of more than split_rows rows (ranges(path): its
    ranges as mini-batch entries, reading.range_entry; None when it is not split) becomes one mini-batch per range:
    several workers share it. Input order is kept: the files between two split files make mini-batches of their own.
    split_rows 0: split(files, size)."""
    if not split_rows:
        return split(files, size)
    batches, run = [], []
    for path in files:
        entries = ranges(path)
        if not entries:
            run.append(path)
            continue
        batches += split(run, size) + [[entry] for entry in entries]
        run = []
    return batches + split(run, size)


def file_ranges(resolved, split_rows: int):
    """ranges(path) for split_large_files. A Parquet file: ranges of whole row groups, from its footer alone (a
    file of Azure Blob or S3: the footer fetched by ranged reads, workspace.ranged, never the file). A CSV file of a
    local datastore: ranges of split_rows lines, found by a scan of its newlines (reading.csv_ranges; not split when
    it holds a `"` or a blank line); a Blob or S3 CSV file is scored whole (the scan would read all of it here), as
    a public URL is. A file that cannot be read here is scored whole too (and fails there, as it would have)."""
    store = Datastore.objects.filter(name=resolved.datastore).first() if resolved.datastore else None
    client = store.client() if store is not None else None
    local = isinstance(client, storage.LocalStore)

    def ranges(path: str) -> list[str] | None:
        if not local and not ranged.can_read_ranges(client):
            return None
        ext = reading.extension(path)
        try:
            if ext in reading.PARQUET:
                source = (
                    client.local_path(path) if local else ranged.open_ranged(client, path, resolved.sizes.get(path))
                )
                found = reading.row_ranges(reading.parquet_row_groups(source), split_rows)
                return [reading.range_entry(path, *rows) for rows in found] if len(found) > 1 else None
            if ext == ".csv" and local:
                found = reading.csv_ranges(client.local_path(path), split_rows)
                return [reading.range_entry(path, a, b, (first, end)) for a, b, first, end in found] if found else None
        except Exception:  # not Parquet after all, truncated, gone: the scoring host says why
            return None
        return None

    return ranges


def output_location(job_name: str, datastore_name: str | None = None, path: str | None = None):
    store = Datastore.objects.filter(name=datastore_name).first() if datastore_name else Datastore.get_default()
    if store is None:
        raise ValidationError(
            "Output datastore '%(name)s' does not exist.", code="unknown_datastore", params={"name": datastore_name}
        )
    return store, storage.clean_path(path) if path else f"jobs/{job_name}"


def check_output_free(store, folder: str, file_name: str, others=()):
    client = store.client()
    _check_is_folder(store, client, folder)
    _check_no_job_writes_there(store, folder)
    for name in (file_name, *others):
        if name and client.exists(f"{folder}/{name}"):
            raise ValidationError(
                "The output file %(uri)s already exists. Choose another output path or file name: a job never overwrites an output.",
                code="output_exists",
                params={"uri": store.uri(f"{folder}/{name}")},
            )


def _check_no_job_writes_there(store, folder: str):
    """Refuse a folder a job that has not finished writes to: the two would write their logs over each other's, and
    the one to finish second would fail on the other's output file (Azure: use a unique output location)."""
    busy = (
        BatchJob.objects.filter(output_datastore=store.name, output_path=folder)
        .exclude(status__in=FINISHED)
        .only("name", "status")
        .first()
    )
    if busy is not None:
        raise ValidationError(
            "Job %(job)s (%(status)s) writes its output to %(uri)s. Choose another output path: jobs that run at the "
            "same time cannot share an output folder.",
            code="output_in_use",
            params={"job": busy.name, "status": busy.get_status_display(), "uri": store.uri(folder)},
        )


def check_output_outside_input(resolved, store, folder: str):
    """Refuse writing the output among the input's own files: the next job on that input would read them
    (predictions.csv, errors.csv...) as files to score. A single input file may have its output beside it."""
    if resolved.datastore != store.name or resolved.single_file:
        return
    if any(posixpath.dirname(f) == folder for f in resolved.files):
        raise ValidationError(
            "The output path %(uri)s is the input's folder: the output files would be scored as input by the next "
            "job on it. Choose another output path.",
            code="output_in_input",
            params={"uri": store.uri(folder)},
        )


def _check_is_folder(store, client, folder: str):
    """Refuse an output path that is a file, or lies under one: the nearest part of it that exists must be a folder."""
    parts = folder.split("/")
    for end in range(len(parts), 0, -1):
        path = "/".join(parts[:end])
        if client.exists(path):
            if client.is_dir(path):
                return
            raise ValidationError(
                "The output path %(uri)s is %(what)s. Choose a folder: the job writes its output files in it.",
                code="output_path_is_file",
                params={"uri": store.uri(folder), "what": "a file" if end == len(parts) else f"inside the file {path}"},
            )


def submit_job(
    endpoint,
    *,
    input_uri: str,
    deployment_name: str | None = None,
    overrides: dict | None = None,
    output_datastore: str | None = None,
    output_path: str | None = None,
    user=None,
    request_id: str = "",
    only_files: set[str] | None = None,
) -> BatchJob:
    """only_files: score only these files of the input (a schedule's new files), in the input's order."""
    if request_id:
        existing = BatchJob.objects.filter(endpoint_name=endpoint.name, request_id=request_id).first()
        if existing:
            return existing
    deployment = endpoint.resolve_deployment(deployment_name)
    deployment.check_ready()
    model = deployment.resolve_model()  # pinned to an alias: the version it points at as this job starts
    effective = deployment.effective_settings(overrides)
    resolved = inputs.resolve(input_uri, every_file=deployment.is_custom)
    if only_files is not None:
        resolved.files = [f for f in resolved.files if f in only_files]
        if not resolved.files:
            raise ValidationError(
                "None of the files to score are in %(uri)s any more.",
                code="input_files_gone",
                params={"uri": resolved.uri},
            )
    name = new_job_name()
    store, folder = output_location(name, output_datastore, output_path)
    check_output_free(store, folder, effective["output_file_name"], outputs.manifest_files(effective))
    check_output_outside_input(resolved, store, folder)
    heads.check_passthrough(resolved, effective.get("passthrough_columns"))
    split_rows = int(effective.get("split_rows") or 0)
    batches = split_large_files(
        resolved.files,
        int(effective["mini_batch_size"]),
        split_rows,
        file_ranges(resolved, split_rows) if split_rows else None,
    )
    try:
        return _create(
            endpoint, deployment, model, effective, resolved, name, store, folder, batches, overrides, user, request_id
        )
    except IntegrityError:
        if not request_id:
            raise
        # Another invoke with the same repeatability id won the race: answer with its job.
        return BatchJob.objects.get(endpoint_name=endpoint.name, request_id=request_id)


def _create(
    endpoint, deployment, model, effective, resolved, name, store, folder, batches, overrides, user, request_id
):
    with transaction.atomic():
        job = BatchJob.objects.create(
            name=name,
            endpoint=endpoint,
            deployment=deployment,
            endpoint_name=endpoint.name,
            deployment_name=deployment.name,
            **BatchJob.of(deployment, effective, resolved, model),
            overrides={k: v for k, v in (overrides or {}).items() if v not in (None, "")},
            output_datastore=store.name,
            output_path=folder,
            status=Status.QUEUED,
            # a range of a split file counts as a file (its mini-batch fails or succeeds as one)
            files_total=sum(len(files) for files in batches),
            mini_batches_total=len(batches),
            created_by=user,
            request_id=request_id or "",
        )
        MiniBatch.objects.bulk_create(MiniBatch(job=job, index=i, files=files) for i, files in enumerate(batches))
        ensure_reclaim(job.compute)
        lifecycle.queue_first(job)  # its first mini-batches go to the queue on commit: one queue hop before it runs
    return job
