from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from endpoints import wizard
from endpoints.forms import DefaultDeploymentForm, deployment_delete_refusal
from endpoints.models import BatchEndpoint
from jobs.models import FINISHED
from studio.views.access import requires
from workspace.compute.live import live_workers, serving
from workspace.roles import MANAGE_ENDPOINTS, VIEW


def _get_endpoint(name):
    return get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)


@requires(VIEW)
def endpoint_list(request):
    endpoints = BatchEndpoint.objects.select_related("default_deployment").order_by("-created")
    return render(request, "endpoints/list.html", {"endpoints": endpoints})


@requires(VIEW)
def endpoint_detail(request, name):
    endpoint = _get_endpoint(name)
    deployments = list(endpoint.deployments.all())
    live = live_workers()
    return render(
        request,
        "endpoints/detail.html",
        {
            "endpoint": endpoint,
            "deployments": deployments,
            "unserved": {
                d.compute for d in deployments if not serving(d.compute, live)
            },  # clusters without a live worker: jobs would wait
            "creating": any(d.provisioning_state == "Creating" for d in deployments),
            "scoring_uri": request.build_absolute_uri(endpoint.scoring_uri_path),
            "tab": "details",
        },
    )


@requires(MANAGE_ENDPOINTS)
@never_cache  # the wizard's pages and redirects depend on the session: Back must ask again
def endpoint_create(request):
    """+ Create, or Deploy to batch endpoint (?model=name:version): a fresh wizard."""
    state = wizard.start(model=request.GET.get("model", ""))
    wizard.save(request.session, state)
    return redirect("endpoints:wizard", step=wizard.steps(state)[0])


@requires(MANAGE_ENDPOINTS)
@never_cache  # the wizard's pages and redirects depend on the session: Back must ask again
def deployment_add(request, name):
    """+ Add deployment: the same wizard with the endpoint fixed."""
    endpoint = _get_endpoint(name)
    state = wizard.start(endpoint=endpoint.name)
    wizard.save(request.session, state)
    return redirect("endpoints:wizard", step=wizard.steps(state)[0])


@requires(MANAGE_ENDPOINTS)
@never_cache  # the wizard's pages and redirects depend on the session: Back must ask again
def wizard_step(request, step):
    state = wizard.load(request.session)
    if state is None:
        return redirect("endpoints:create")
    if wizard.endpoint_gone(state):
        wizard.clear(request.session)
        messages.warning(
            request, f"Batch endpoint {state['endpoint']} was deleted meanwhile: the deployment was not created."
        )
        return redirect("endpoints:list")
    active = wizard.steps(state)
    if step not in active:
        raise Http404("No such step in this wizard.")
    if request.method == "POST" and wizard.replaced(state, request.POST):
        messages.warning(
            request,
            f"Nothing was saved: that wizard was replaced by one opened since in this browser "
            f"({wizard.title(state)}), shown here. Start the other one again when this one is done.",
        )
        return redirect("endpoints:wizard", step=active[0])
    if request.method == "POST" and "cancel" in request.POST:
        wizard.clear(request.session)
        messages.info(request, "Canceled: nothing was created.")
        return (
            redirect("endpoints:detail", name=wizard.adds_to(state))
            if wizard.adds_to(state)
            else redirect("endpoints:list")
        )
    if step == "review":
        return _wizard_review(request, state)
    posted = (
        (request.POST, request.FILES) if request.method == "POST" else wizard.shown_again(request.session, state, step)
    )
    form = wizard.build_form(step, state, *posted)
    if request.method == "POST":
        if earlier := wizard.going_back_to(state, step, request.POST):
            wizard.remember(state, step, request.POST)
            wizard.save(request.session, state)
            return redirect("endpoints:wizard", step=earlier)
        if form.is_valid():
            wizard.accept(state, step, form, request.POST)
            wizard.save(request.session, state)
            return redirect("endpoints:wizard", step=wizard.neighbour(state, step, +1))
    return _render_wizard(request, state, step, {"form": form})


def _wizard_review(request, state):
    checked, bad_step = wizard.check_all(state)
    if bad_step:
        return _check_again(request, state, bad_step)
    if request.method == "POST":
        if earlier := wizard.going_back_to(state, "review", request.POST):
            return redirect("endpoints:wizard", step=earlier)
        try:
            endpoint, deployment = wizard.create(state, checked, user=request.user)
        except IntegrityError:  # its names were saved at the same moment: Create pressed twice, or another user
            deployment = wizard.just_created(state, checked)
            if deployment is None:  # the step whose name is taken says so
                return _check_again(request, state, wizard.check_all(state)[1] or wizard.steps(state)[0])
            endpoint = deployment.endpoint
        wizard.clear(request.session)
        messages.success(request, f"Deployment {deployment.name} created on batch endpoint {endpoint.name}.")
        if deployment.provisioning_state == "Creating":
            messages.info(
                request,
                f"Its environment {deployment.environment} is being built: jobs can be submitted "
                "to it once it shows Succeeded.",
            )
        return redirect(endpoint)
    return _render_wizard(request, state, "review", {"summary": wizard.summary(state, checked)})


def _check_again(request, state, step):
    wizard.send_back(request.session, state, step)
    messages.warning(request, f"Check the {wizard.TITLES[step]} step again.")
    return redirect("endpoints:wizard", step=step)


def _render_wizard(request, state, step, context):
    active = wizard.steps(state)
    context.update(
        {
            "step": step,
            "title": wizard.TITLES[step],
            "fixed_endpoint": wizard.adds_to(state),
            "steps": [
                {"slug": s, "title": wizard.TITLES[s], "done": active.index(s) < active.index(step)} for s in active
            ],
            "code_generated": state["is_mlflow"],
            "model_chosen": "model" in state["data"],
            "first": active[0] == step,
            "wizard_id": state.get("id", ""),
        }
    )
    return render(request, "endpoints/wizard.html", context)


@requires(MANAGE_ENDPOINTS)
def default_update(request, name):
    endpoint = _get_endpoint(name)
    form = DefaultDeploymentForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        deployment = form.save()
        messages.success(request, f"{deployment.name} is now the default deployment of {endpoint.name}.")
        return redirect(endpoint)
    return render(request, "endpoints/default.html", {"endpoint": endpoint, "form": form})


@requires(MANAGE_ENDPOINTS)
def endpoint_delete(request, name):
    endpoint = _get_endpoint(name)
    if request.method == "POST":
        endpoint.delete()
        messages.success(
            request, f"Batch endpoint {name} and its deployments were deleted. Its jobs stay listed under Jobs."
        )
        return redirect("endpoints:list")
    return render(
        request,
        "endpoints/delete.html",
        {"endpoint": endpoint, "deployments": endpoint.deployments.all(), "running": _unfinished(endpoint.jobs)},
    )


@requires(MANAGE_ENDPOINTS)
def deployment_delete(request, name, deployment):
    endpoint = _get_endpoint(name)
    target = get_object_or_404(endpoint.deployments, name=deployment)
    refusal = deployment_delete_refusal(target)
    if request.method == "POST" and not refusal:
        target.delete()
        messages.success(request, f"Deployment {deployment} was deleted from {endpoint.name}.")
        return redirect(endpoint)
    return render(
        request,
        "endpoints/delete_deployment.html",
        {"endpoint": endpoint, "deployment": target, "refusal": refusal, "running": _unfinished(target.jobs)},
    )


def _unfinished(jobs) -> int:
    """Jobs that have not finished: a delete confirmation says they run on to the end."""
    return jobs.exclude(status__in=FINISHED).count()
