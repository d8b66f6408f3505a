"""Azure's compute and datastore YAML (`az ml compute create`, `az ml datastore create`), read into the Studio's
ComputeCluster and Datastore. Same rules as cli.azure_yaml (cli.yaml_document): unknown keys and wrong types refused with file and
line; the Studio's own form validates (and tests the connection of) a datastore."""

from cli.yaml_document import COMMON, Document, _clean, _required, check
from workspace.compute.models import ComputeCluster
from workspace.forms import DatastoreForm
from workspace.models import Datastore

COMPUTE_SCHEMA = {
    **COMMON,
    "name": str,
    "type": str,
    "size": str,
    "min_instances": int,
    "max_instances": int,
    "idle_time_before_scale_down": int,
    "tier": str,
    "location": str,
}
COMPUTE_TYPES = ("amlcompute",)
# Accepted and not stored: a worker machine has the size it has, and no idle time scales it down.
COMPUTE_IGNORED = ("size", "idle_time_before_scale_down", "tier", "location")

DATASTORE_SCHEMA = {
    **COMMON,
    "name": str,
    "type": str,
    "account_name": str,
    "container_name": str,
    "endpoint": str,
    "protocol": str,
    "credentials": {
        "account_key": str,
        "sas_token": str,
        "connection_string": str,
        "access_key_id": str,  # type: s3
        "secret_access_key": str,
    },
    "path": str,  # Batch Studio's own `type: local`: a folder on the server
    # Batch Studio's own `type: s3`: a bucket of Amazon S3 or any S3-compatible store (docs/DATA.md)
    "bucket": str,
    "endpoint_url": str,
    "region": str,
}
DATASTORE_TYPES = ("azure_blob", "local", "s3")
DATASTORE_FORM_KEYS = {
    "name": "name",
    "description": "description",
    "kind": "type",
    "root": "path",
    "account_url": "account_name",
    "container": "container_name",
    "secret": "credentials",
    "bucket": "bucket",
    "endpoint_url": "endpoint_url",
    "region": "region",
    "access_key_id": "credentials.access_key_id",
    "secret_access_key": "credentials.secret_access_key",
}


def save_compute(doc: Document, user=None) -> ComputeCluster:
    """`az ml compute create -n NAME --type amlcompute --min-instances 0 --max-instances 5` (or -f compute.yml):
    creates the cluster, or updates the one of that name."""
    check(doc, COMPUTE_SCHEMA)
    name = _required(doc, "name")
    kind = doc.get("type", "amlcompute")
    if kind not in COMPUTE_TYPES:
        raise doc.error(
            "type",
            "compute type '%(type)s' is not supported: only amlcompute (a cluster of worker machines).",
            "invalid_choice",
            type=kind,
        )
    cluster = ComputeCluster.objects.filter(name=name).first() or ComputeCluster(name=name, created_by=user)
    cluster.type = kind
    for key in ("description", "min_instances", "max_instances", "tags"):
        if doc.has(key):
            setattr(cluster, key, doc.get(key))
    if cluster.min_instances > cluster.max_instances:
        raise doc.error(
            "min_instances",
            "min_instances (%(low)s) is more than max_instances (%(high)s).",
            "invalid_range",
            low=cluster.min_instances,
            high=cluster.max_instances,
        )
    _clean(doc, cluster, {"name": "name", "description": "description"}, exclude=["created_by"])
    cluster.save()
    return cluster


def _datastore_fields(doc: Document) -> dict:
    kind = doc.get("type", "azure_blob")
    if kind not in DATASTORE_TYPES:
        raise doc.error(
            "type",
            "datastore type '%(type)s' is not supported: azure_blob, s3 (Amazon S3 or S3-compatible), or local "
            "(a folder on the server).",
            "invalid_choice",
            type=kind,
        )
    fields = {"name": _required(doc, "name"), "description": doc.get("description", ""), "kind": kind}
    if kind == Datastore.LOCAL:
        return {**fields, "root": doc.get("path", ""), "credential_type": "none"}
    credentials = doc.get("credentials") or {}
    if kind == Datastore.S3:  # no credentials: anonymous access (public buckets)
        return {
            **fields,
            "bucket": _required(doc, "bucket"),
            "endpoint_url": doc.get("endpoint_url", ""),
            "region": doc.get("region", ""),
            "access_key_id": credentials.get("access_key_id", ""),
            "secret_access_key": credentials.get("secret_access_key", ""),
            "credential_type": "none",
        }
    if len(credentials) > 1:
        raise doc.error("credentials", "give one of account_key, sas_token or connection_string.", "invalid")
    (kind_key, secret), *_ = credentials.items() or [("none", "")]
    credential_type = {"account_key": "account_key", "sas_token": "sas"}.get(kind_key, kind_key)
    account = _required(doc, "account_name") if credential_type != "connection_string" else doc.get("account_name")
    protocol, endpoint = doc.get("protocol", "https"), doc.get("endpoint", "core.windows.net")
    return {
        **fields,
        "account_url": f"{protocol}://{account}.blob.{endpoint}" if account else "",
        "container": _required(doc, "container_name"),
        "credential_type": credential_type,
        "secret": secret,
    }


def save_datastore(doc: Document) -> Datastore:
    """`az ml datastore create -f datastore.yml`: registered through the Studio's own datastore form (its
    connection tested first); an existing datastore of that name is updated, as Azure's create does."""
    check(doc, DATASTORE_SCHEMA)
    fields = _datastore_fields(doc)
    existing = Datastore.objects.filter(name=fields["name"]).first()
    form = DatastoreForm(fields, instance=existing)
    if not form.is_valid():
        field_name, errors = next(iter(form.errors.as_data().items()))
        raise doc.error(
            DATASTORE_FORM_KEYS.get(field_name, "name"),
            "%(problem)s",
            errors[0].code or "invalid",
            problem=" ".join(errors[0].messages),
        )
    return form.save()
