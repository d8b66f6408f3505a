"""The JSON shapes `az ml` prints for each kind of object (name, id, properties, status, scoring_uri, ...), built on
the API's own serializers so that the command line and the API agree on every value they share."""

from django.conf import settings
from django.urls import reverse

from api.serializers import WORKSPACE_ID, dataset_json, deployment_json, endpoint_json, job_json

AUTH_MODES = {"token": "aad_token"}  # what Azure's YAML calls our personal access tokens


def _iso(value):
    return value.isoformat() if value else None


def _context(obj, created="created", modified="updated") -> dict:
    user = getattr(obj, "created_by", None)
    return {
        "created_at": _iso(getattr(obj, created, None)),
        "created_by": user.get_username() if user else None,
        "last_modified_at": _iso(getattr(obj, modified, None)),
    }


def endpoint(ep) -> dict:
    data = endpoint_json(ep, base=settings.STUDIO_URL)
    data.update(
        id=f"{WORKSPACE_ID}/batchEndpoints/{ep.name}",
        type="batch_endpoint",
        auth_mode=AUTH_MODES.get(ep.auth_mode, ep.auth_mode),
        properties={"BatchEndpointCreationApiVersion": "2023-10-01", "azureml.onlineendpointid": ep.name},
        location="local",
    )
    return data


def deployment(dep) -> dict:
    data = deployment_json(dep)
    data.update(
        id=f"{WORKSPACE_ID}/batchEndpoints/{dep.endpoint.name}/deployments/{dep.name}",
        provisioning_state="Succeeded",
        properties={},
    )
    return data


def job(j, detail: bool = True) -> dict:
    data = job_json(j, base=settings.STUDIO_URL, detail=detail)
    data.update(
        id=f"{WORKSPACE_ID}/jobs/{j.name}",
        display_name=j.name,
        type="pipeline",
        experiment_name=j.endpoint_name,
        creation_context={"created_at": _iso(j.created), "created_by": None},
        services={"Studio": {"endpoint": settings.STUDIO_URL + j.get_absolute_url(), "job_service_type": "Studio"}},
        outputs={"score": {"mode": "rw_mount", "path": j.output_uri, "type": "uri_folder"}},
        properties={"azureml.batchrun": "true", "azureml.deploymentname": j.deployment_name},
        tags={},
    )
    return data


def model(mv) -> dict:
    return {
        "name": mv.name,
        "version": mv.version,
        "id": f"azureml:{mv.label}",
        "type": "mlflow_model" if mv.is_mlflow else "custom_model",
        "flavor": mv.flavor,
        "flavors": {name: {} for name in mv.flavors},
        "description": mv.description,
        "path": mv.source,
        "creation_context": {"created_at": _iso(mv.created) if hasattr(mv.created, "isoformat") else mv.created},
        "tags": dict(mv.tags),
        "properties": {},
        "aliases": list(mv.aliases),  # MLflow's, beyond Azure
        "job_name": mv.run_id or None,  # Azure's lineage: the run that logged the model
    }


def model_summary(row: dict) -> dict:
    """`model list`: each model by its latest version, as Azure lists them."""
    return {
        "name": row["name"],
        "latest_version": row["latest"],
        "version": row["latest"],
        "versions": row["versions"],
        "description": row["description"],
        "type": row["type"],
    }


def data(ds) -> dict:
    shaped = dataset_json(ds)
    shaped.update(path=ds.datastore_uri, creation_context=_context(ds, modified="created"), tags={})
    return shaped


def environment(env) -> dict:
    return {
        "name": env.name,
        "version": env.version,
        "id": f"azureml:{env.label}",
        "description": env.description,
        "state": env.state,
        "build": {"state": env.state},
        "requirements": env.requirements.splitlines(),
        "creation_context": _context(env),
        "tags": {},
    }


def compute(cluster) -> dict:
    return {
        "name": cluster.name,
        "id": f"{WORKSPACE_ID}/computes/{cluster.name}",
        "type": cluster.type,
        "description": cluster.description,
        "min_instances": cluster.min_instances,
        "max_instances": cluster.max_instances,
        "tags": cluster.tags,
        "provisioning_state": "Succeeded",
        "creation_context": _context(cluster, modified="modified"),
    }


def datastore(store) -> dict:
    shaped = {
        "name": store.name,
        "id": f"{WORKSPACE_ID}/datastores/{store.name}",
        "type": store.kind,
        "description": store.description,
        "is_default": store.is_default,
        "uri": store.uri(),
        "studio_url": settings.STUDIO_URL + reverse("datastore-browse", args=[store.name]),
    }
    if store.kind == store.LOCAL:
        shaped["path"] = str(store.local_root())
    elif store.kind == store.S3:  # the access key ID, never the secret
        shaped.update(
            bucket=store.bucket,
            endpoint_url=store.endpoint_url,
            region=store.region,
            credentials={"access_key_id": store.access_key_id} if store.access_key_id else "none",
        )
    else:
        shaped.update(account_url=store.account_url, container_name=store.container, credentials=store.credential_type)
    return shaped
