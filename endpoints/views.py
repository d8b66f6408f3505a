from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from endpoints.forms import EndpointWithDeploymentForm
from endpoints.models import BatchEndpoint


def endpoint_list(request):
    endpoints = BatchEndpoint.objects.select_related("default_deployment").order_by("-created")
    return render(request, "endpoints/list.html", {"endpoints": endpoints})


def endpoint_create(request):
    form = EndpointWithDeploymentForm(request.POST or None, model=request.GET.get("model"))
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(user=request.user)
        messages.success(request, f"Batch endpoint {endpoint.name} created.")
        return redirect(endpoint)
    return render(request, "endpoints/create.html", {"form": form})


def endpoint_detail(request, name):
    endpoint = get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)
    return render(request, "endpoints/detail.html", {
        "endpoint": endpoint,
        "deployments": endpoint.deployments.all(),
        "scoring_uri": request.build_absolute_uri(endpoint.scoring_uri_path),
        "tab": "details",
    })
