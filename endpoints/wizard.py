"""The create-endpoint / deploy-model / add-deployment wizard: which steps apply, the state kept in the
session between steps, and the save at the end. No HTTP here: endpoints.views drives it."""

import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from endpoints import code, forms
from endpoints.models import BatchDeployment, BatchEndpoint
from jobs import queue
from workspace import registry
from workspace.environments import Environment

SESSION_KEY = "endpoint_wizard"
TITLES = {
    "endpoint": "Endpoint",
    "model": "Model",
    "deployment": "Deployment",
    "code": "Code + environment",
    "compute": "Compute",
    "review": "Review",
}
ALL_STEPS = list(TITLES)


def start(*, model: str = "", endpoint: str = "") -> dict:
    """A fresh wizard: from + Create, from a model (endpoint New or Existing), or from an endpoint (+ Add deployment)."""
    state = {
        "id": uuid.uuid4().hex,
        "endpoint": endpoint,
        "allow_existing": bool(model),
        "data": {},
        "is_mlflow": True,
        "code": {},
    }
    if model:
        state["data"]["model"] = {"model": model}
        state["is_mlflow"] = _is_mlflow(model)
    return state


def load(session) -> dict | None:
    return session.get(SESSION_KEY)


def save(session, state: dict):
    session[SESSION_KEY] = state
    session.modified = True


def clear(session):
    session.pop(SESSION_KEY, None)


def replaced(state: dict, posted) -> bool:
    """A step posted from a page of another wizard: one started since (another tab) took the session's place. A
    wizard started before wizards had ids has none, and its pages post an empty one."""
    return "wizard" in posted and posted["wizard"] != state.get("id", "")


def title(state: dict) -> str:
    return f"Add deployment to {adds_to(state)}" if adds_to(state) else "Create batch endpoint"


def _is_mlflow(label: str) -> bool:
    try:
        return registry.find(label).is_mlflow
    except (ValidationError, registry.RegistryError):
        return True


def steps(state: dict) -> list[str]:
    skipped = set()
    if state["endpoint"]:
        skipped.add("endpoint")
    if state["is_mlflow"]:
        skipped.add("code")
    return [s for s in ALL_STEPS if s not in skipped]


def neighbour(state: dict, step: str, offset: int) -> str | None:
    active = steps(state)
    index = active.index(step) + offset
    return active[index] if 0 <= index < len(active) else None


def going_back_to(state: dict, step: str, posted) -> str | None:
    """The earlier step a post leaves for: Back's, or the one chosen in the step list (goto); None to go on."""
    active = steps(state)
    if posted.get("goto") in active[: active.index(step)]:
        return posted["goto"]
    return neighbour(state, step, -1) if "back" in posted else None


def adds_to(state: dict) -> str:
    """The name of the existing endpoint the deployment goes to ('' when the wizard creates a new one)."""
    chosen = state["data"].get("endpoint", {})
    if not state["endpoint"] and chosen.get("endpoint_mode") == forms.EndpointStepForm.EXISTING:
        return chosen.get("existing_endpoint") or ""
    return state["endpoint"]


def endpoint_gone(state: dict) -> bool:
    """The endpoint + Add deployment started from was deleted since (in another tab, by another user)."""
    return bool(state["endpoint"]) and not BatchEndpoint.objects.filter(name=state["endpoint"]).exists()


def target_endpoint(state: dict) -> BatchEndpoint | None:
    """The existing endpoint the deployment goes to, or None when the wizard creates a new one."""
    name = adds_to(state)
    return BatchEndpoint.objects.filter(name=name).first() if name else None


def build_form(step: str, state: dict, data=None, files=None):
    """The step's form: bound to what was posted, else showing what was entered before."""
    kwargs = {"data": data, "files": files} if data is not None else {"initial": state["data"].get(step, {})}
    if step == "endpoint":
        return forms.EndpointStepForm(allow_existing=state["allow_existing"], **kwargs)
    if step == "model":
        return forms.ModelStepForm(**kwargs)
    if step == "deployment":
        endpoint = target_endpoint(state)
        return forms.DeploymentStepForm(
            endpoint=endpoint, offer_default=endpoint is not None, custom=not state["is_mlflow"], **kwargs
        )
    if step == "code":
        return forms.CodeStepForm(
            stored_script=state["code"].get("scoring_script", ""),
            stored_path=state["code"].get("code_path", ""),
            **kwargs,
        )
    if step == "compute":
        return forms.ComputeStepForm(**kwargs)
    raise KeyError(step)


def remember(state: dict, step: str, posted) -> None:
    """Keep what was typed in a step (also when leaving it with Back, unchecked)."""
    state["data"][step] = {
        k: v for k, v in posted.items() if k not in ("csrfmiddlewaretoken", "back", "goto", "next", "wizard")
    }


def accept(state: dict, step: str, form, posted) -> None:
    """A valid step: keep its values and what they imply for the following steps."""
    remember(state, step, posted)
    if step == "model":
        state["is_mlflow"] = form.model_version.is_mlflow
    if step == "code":
        if form.stored:
            state["code"] = {"code_path": form.stored[0], "scoring_script": form.stored[1]}
            state["data"]["code"]["scoring_script"] = form.stored[1]
    if step == "endpoint" and state["data"]["endpoint"].get("endpoint_mode") == forms.EndpointStepForm.EXISTING:
        state["data"]["endpoint"]["endpoint_name"] = ""


def send_back(session, state: dict, step: str) -> None:
    """Create found this step no longer valid (a name taken meanwhile): the step's page shows why, once."""
    state["recheck"] = step
    save(session, state)


def shown_again(session, state: dict, step: str) -> tuple:
    """build_form's data for a step's page: what was entered, checked again, when Create sent the user back to it."""
    if state.get("recheck") != step:
        return ()
    del state["recheck"]
    save(session, state)
    return (state["data"].get(step, {}), None)


def check_all(state: dict):
    """Re-check every step before creating (a name may have been taken meanwhile): the forms, or the first bad step."""
    checked = {}
    for step in steps(state)[:-1]:
        form = build_form(step, state, data=state["data"].get(step, {}))
        if not form.is_valid():
            return checked, step
        checked[step] = form
    return checked, None


def summary(state: dict, checked: dict) -> list[tuple[str, list[tuple[str, object]]]]:
    """What the Review step shows: each step's labels and values."""
    sections = []
    for step, form in checked.items():
        rows = [(form.fields[name].label, _display(form, name)) for name in form.fields if _shown(form, name)]
        if step == "code":
            files = [e.path for e in code.tree(state["code"].get("code_path", "")) if not e.is_folder]
            shown = [("Code", _listed(files))] if len(files) > 1 else []  # the script alone: its row says it all
            rows[:0] = [*shown, ("Scoring script", state["code"].get("scoring_script"))]
        sections.append((TITLES[step], rows))
    if state["is_mlflow"]:
        sections.insert(-1, (TITLES["code"], [("Scoring script and environment", "generated for the MLflow model")]))
    if state["endpoint"]:
        sections.insert(0, (TITLES["endpoint"], [("Existing endpoint", state["endpoint"])]))
    return sections


def _listed(files: list[str], first: int = 8) -> str:
    more = f" and {len(files) - first} more" if len(files) > first else ""
    return f"{len(files)} files: {', '.join(files[:first])}{more}"


def _shown(form, name) -> bool:
    """A field the Review lists: one with a value that means something (summary_only writes no output file)."""
    if (
        name in ("endpoint_mode", "scoring_script", "code")
        or form.fields[name].widget.is_hidden
        or form.cleaned_data.get(name) in (None, "", {}, [])
        or (name == "split_rows" and not form.cleaned_data[name])  # 0: off, as in Azure
    ):
        return False
    return not (name == "output_file_name" and form.cleaned_data.get("output_action") == BatchDeployment.SUMMARY_ONLY)


def _display(form, name):
    value = form.cleaned_data[name]
    choices = dict(getattr(form.fields[name], "choices", []))
    if isinstance(value, str) and value in choices:
        return choices[value]
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if name in getattr(form, "fields", {}) and hasattr(form.fields[name], "choices") and value:
        return dict(form.fields[name].choices).get(value, value)
    return value


def create(state: dict, checked: dict, user=None):
    """Create the endpoint (when new) and the deployment; returns the endpoint."""
    endpoint = target_endpoint(state)
    model = checked["model"].cleaned_data["model"]
    with transaction.atomic():
        if endpoint is None:
            data = checked["endpoint"].cleaned_data
            endpoint = BatchEndpoint.objects.create(
                name=data["endpoint_name"], description=data["description"], created_by=user
            )
        deployment = checked["deployment"].save(commit=False)
        deployment.endpoint = endpoint
        deployment.set_model(model)
        if "code" in checked:
            deployment.code_path = state["code"]["code_path"]
            deployment.scoring_script = state["code"]["scoring_script"]
            env = _environment(checked["code"].cleaned_data)
            deployment.environment = env.label
        else:  # MLflow: the environment the model's requirements describe (the workers' own when they satisfy it)
            env = deployment.use_model_environment()
        deployment.compute = checked["compute"].cleaned_data["compute"]
        deployment.instance_count = checked["compute"].cleaned_data["instance_count"]
        deployment.save()
        if endpoint.default_deployment_id is None or checked["deployment"].cleaned_data.get("make_default"):
            endpoint.set_default(deployment)
        if env is not None and env.claim_build():
            # Azure builds a deployment's image when the deployment is created: the build starts now, on the
            # cluster its jobs run on; the deployment shows Creating until it is done, Failed if it cannot be.
            transaction.on_commit(lambda: queue.build_environment_later(env, deployment.compute))
    return endpoint, deployment


def just_created(state: dict, checked: dict, seconds: int = 60) -> BatchDeployment | None:
    """The deployment this wizard creates, when it was saved in the last seconds: Create pressed twice, the second
    press reaching the database just after the first one's rows. None when there is no such deployment."""
    endpoint_name = adds_to(state) or checked["endpoint"].cleaned_data["endpoint_name"]
    return (
        BatchDeployment.objects.select_related("endpoint")
        .filter(
            endpoint__name__iexact=endpoint_name,
            name__iexact=checked["deployment"].cleaned_data["name"],
            created__gte=timezone.now() - timedelta(seconds=seconds),
        )
        .first()
    )


def _environment(code: dict):
    """The environment the Code + environment step chose, registered now when it is a new one."""
    if code["environment_mode"] == forms.CodeStepForm.NEW:
        return Environment.register(
            code["new_environment_name"], code["requirements"], description="Created in the batch deployment wizard."
        )
    return Environment.lookup(code["environment"] or Environment.STUDIO)
