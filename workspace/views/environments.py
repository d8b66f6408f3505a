from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render

from endpoints.models import BatchDeployment
from jobs import queue
from studio.views.access import requires
from studio.views.buttons import button_of
from workspace.environments import Environment
from workspace.roles import MANAGE_ENVIRONMENTS, VIEW


@requires(VIEW)
def environment_list(request):
    Environment.studio()
    return render(
        request, "studio/environments.html", {"environments": Environment.objects.order_by("name", "version")}
    )


@requires(VIEW)
def environment_detail(request, name, version):
    env = get_object_or_404(Environment, name=name, version=version)
    uses = Q(environment=env.label)
    if env.is_studio:
        uses |= Q(environment="") | Q(environment=env.name)
    deployments = BatchDeployment.objects.filter(uses).select_related("endpoint")
    return render(request, "studio/environment_detail.html", {"env": env, "deployments": deployments})


@requires(MANAGE_ENVIRONMENTS)
@button_of("environment-detail", "Build again")
def environment_rebuild(request, name, version):
    """Build a Failed environment again (a package index that was unreachable, a release published since)."""
    env = get_object_or_404(Environment, name=name, version=version)
    if not env.build_again():
        messages.warning(request, f"Environment {env.label} is {env.state}: only a Failed one is built again.")
        return redirect(env)
    queue.build_environment_later(env, BatchDeployment.compute_of_environment(env.label))
    messages.success(request, f"Environment {env.label} is being built again.")
    return redirect(env)
