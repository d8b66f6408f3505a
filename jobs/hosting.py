"""Which scoring host a job's mini-batch runs in, and getting its inputs and outputs across.

The Django side of engine.host: it turns a job row into a HostSpec (model folder, code, environment,
variables), keeps one HostPool per worker process, and copies files between datastores and the host.
"""

import atexit
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from engine import reading
from engine.host import HostError, HostPool, HostSpec
from workspace import ranged, registry, storage
from workspace.environments import Environment
from workspace.models import Datastore


def lease_seconds() -> float:
    """JOBS_LEASE_SECONDS, read when asked (a test's `settings` fixture changes it)."""
    return float(settings.JOBS_LEASE_SECONDS)


def heartbeat_seconds() -> float:
    return float(settings.JOBS_HEARTBEAT_SECONDS)


def lane_seconds() -> float:
    """How long a task keeps taking its job's next mini-batch itself (0: one mini-batch per task)."""
    return float(settings.JOBS_LANE_SECONDS)


_POOL: HostPool | None = None


def pool() -> HostPool:
    global _POOL
    if _POOL is None:
        _POOL = HostPool(size=int(settings.JOBS_HOSTS_PER_WORKER), init_timeout=float(settings.JOBS_INIT_TIMEOUT))
        atexit.register(_POOL.close)
    return _POOL


def python_for(label: str) -> str:
    if not label or label.split(":")[0] == Environment.STUDIO:
        return sys.executable  # the common case costs no query
    env = Environment.lookup(label)
    if env is None:
        raise HostError(f"Environment '{label}' does not exist.")
    if env.is_studio:
        return sys.executable
    if env.state != Environment.READY or not env.python:
        raise HostError(f"Environment '{env.label}' is not built (state {env.state}); see its build log.")
    return env.python


def spec_for(job) -> HostSpec:
    return HostSpec.build(
        python_for(job.environment),
        registry.model_dir(job.model_name, job.model_version),
        job.code_path,
        job.scoring_script,
        job.settings.get("environment_variables"),
    )


def spec_for_deployment(deployment) -> HostSpec:
    """The spec a job of `deployment` started now would run with (spec_for of that job): the same host serves it."""
    model = deployment.resolve_model()
    return HostSpec.build(
        python_for(deployment.environment),
        registry.model_dir(model.name, model.version),
        deployment.code_path,
        deployment.scoring_script,
        deployment.environment_variables,
    )


# What each host of this process's pool serves ("iris-endpoint/blue"): the Compute page lists a worker's loaded hosts,
# and those it is loading now (a warm start: the supervisor does not take such a pool for a stuck one).
_LABELS: dict[HostSpec, str] = {}
_LOADING: set[str] = set()


def loading() -> list[str] | None:
    try:
        return sorted(_LOADING)
    except RuntimeError:  # changed while we looked: the next beat tells
        return None


def loaded() -> list[str] | None:
    """The deployments whose scoring hosts this worker process has loaded now (read by its heartbeat thread)."""
    try:
        hosts = list((_POOL.hosts if _POOL else {}).items())
    except RuntimeError:  # the pool changed while we looked: the next beat tells
        return None
    return sorted({_LABELS.get(spec, Path(spec.model_dir).name) for spec, host in hosts if host.alive})


def host_for(spec: HostSpec, label: str, on_wait=lambda: None, level="info"):
    """pool().get(spec), recording what the host serves, and that it is loading meanwhile."""
    _LOADING.add(label)
    try:
        host, started = pool().get(spec, on_wait, level)
    finally:
        _LOADING.discard(label)
    _LABELS[spec] = label
    return host, started


@dataclass
class Outcome:
    part: bytes = b""
    rows_out: int = 0
    file_errors: list = field(default_factory=list)
    seconds: float = 0.0
    outputs: list = field(default_factory=list)
    row_errors: list = field(default_factory=list)  # rows set aside: {file, row, type, message}


def local_files(client, entries: list[str], folder: Path) -> list[tuple[str, str]]:
    """(entry, local path) per mini-batch entry (a file, or a range of its rows: reading.range_entry): a local
    datastore's own files, else copies in folder (a file copied once for all its ranges). A range of a Blob or S3
    Parquet file is no copy of the file: only its row groups are fetched (ranged reads), into an extract that
    numbers its rows as the whole file does (range_extract)."""
    if isinstance(client, storage.LocalStore):
        return [(entry, str(client.local_path(reading.file_path(entry)))) for entry in entries]
    out, copied = [], {}
    for entry in entries:
        path, rows = reading.split_entry(entry)
        if rows is not None and (extract := range_extract(client, entry, folder)) is not None:
            out.append((entry, extract))
            continue
        if path not in copied:
            local = folder / storage.clean_path(path)
            local.parent.mkdir(parents=True, exist_ok=True)
            with client.open(path) as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            copied[path] = str(local)
        out.append((entry, copied[path]))
    return out


def range_extract(client, entry: str, folder: Path) -> str | None:
    """A Parquet range of a store with ranged reads (workspace.ranged): its footer and its row groups alone read,
    written to a Parquet file of their own in folder (reading.write_row_groups); its path. None: copy the whole
    file instead (a CSV range, a store without ranged reads, or a file whose row groups no longer fall on the
    range: the host then says FileChanged of it as of a local file)."""
    path, rows = reading.split_entry(entry)
    if reading.extension(path) not in reading.PARQUET or not ranged.can_read_ranges(client):
        return None
    local = folder / ".ranges" / f"{storage.clean_path(path)}.{rows[0]}-{rows[1]}.parquet"
    local.parent.mkdir(parents=True, exist_ok=True)
    try:
        reading.write_row_groups(entry, ranged.open_ranged(client, path), rows, str(local))
    except storage.StorageError:  # the store's fault, not the file's: the attempt fails and is retried
        raise
    except Exception:  # FileChanged, not Parquet any more, truncated: the host reads the whole file and says why
        local.unlink(missing_ok=True)
        return None
    return str(local)


def publish_outputs(host, out_store, folder: str) -> list[str]:
    """Copy what the script wrote under AZUREML_BI_OUTPUT_PATH into the job's output folder."""
    written = []
    for relative in host.take_outputs():
        path = f"{folder.rstrip('/')}/{relative.as_posix()}"
        out_store.write(path, (host.output_dir / relative).read_bytes())
        written.append(path)
    host.clear_outputs()
    return written


def datastore_client(name: str):
    return Datastore.objects.get(name=name).client()


def output_options(settings: dict) -> dict:
    """What the host needs to write a part: the output format and the passthrough columns."""
    return {
        "output_format": settings.get("output_format", "csv"),
        "passthrough": settings.get("passthrough_columns") or (),
    }


def score(job, mb, journal, on_wait, client=datastore_client, on_progress=lambda rows: None) -> Outcome:
    """Run one mini-batch in the job's scoring host (started and init()-ed on first use in this process).
    client(name) gives a datastore's client (a task passes one that looks each up once); on_progress(rows) hears
    the rows scored so far."""
    level = job.settings.get("logging_level", "info")
    spec = spec_for(job)
    host, started = host_for(spec, f"{job.endpoint_name}/{job.deployment_name}", on_wait, level)
    if started:
        journal.write("info", f"scoring host pid {host.proc.pid} started ({spec.kind}, {spec.python})")
        journal.extend(host.init_log)
    else:
        journal.write("debug", f"reusing the warm scoring host pid {host.proc.pid}")
    # a datastore, or public URLs when ""
    source = client(job.input_datastore) if job.input_datastore else job.input_source()
    host.clear_outputs()
    run = dict(
        output_action=job.settings.get("output_action", "append_row"),
        level=level,
        timeout=float(job.settings["timeout"]),
        on_wait=on_wait,
        on_progress=on_progress,
        **output_options(job.settings),
    )
    if isinstance(source, storage.LocalStore):  # its own files: no copies, no temporary folder
        reply = host.run(local_files(source, mb.files, None), **run)
    else:
        with tempfile.TemporaryDirectory(prefix="minibatch-") as tmp:
            reply = host.run(local_files(source, mb.files, Path(tmp)), **run)
    journal.extend(reply["log"])
    out_store = client(job.output_datastore)
    outputs = publish_outputs(host, out_store, job.output_path)
    return Outcome(
        reply["part"], reply["rows_out"], reply["file_errors"], reply["seconds"], outputs, reply.get("row_errors", [])
    )
