from django.db.models import Q
from django.shortcuts import get_object_or_404, render

from endpoints.models import BatchDeployment
from jobs.models import Environment


def environment_list(request):
    Environment.studio()
    return render(request, "studio/environments.html", {"environments": Environment.objects.order_by("name", "version")})


def environment_detail(request, name, version):
    env = get_object_or_404(Environment, name=name, version=version)
    uses = Q(environment=env.label)
    if env.is_studio:
        uses |= Q(environment="") | Q(environment=env.name)
    deployments = BatchDeployment.objects.filter(uses).select_related("endpoint")
    return render(request, "studio/environment_detail.html", {"env": env, "deployments": deployments})
