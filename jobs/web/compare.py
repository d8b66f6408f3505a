"""Compare deployments: the form on an endpoint, and the report page (progress while the two jobs run)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from endpoints.models import BatchEndpoint
from jobs import comparison as comparisons
from jobs.forms import CompareForm
from jobs.models import Comparison
from jobs.web.views import _live
from studio.views.access import requires
from workspace.roles import RUN_JOBS, VIEW

RECENT = 10


@requires(RUN_JOBS)
def compare_create(request, name):
    endpoint = get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)
    form = CompareForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        started = form.submit(user=request.user)
        if started:
            messages.success(
                request,
                f"Comparing {started.baseline.deployment_name} with "
                f"{started.candidate.deployment_name}: two jobs submitted.",
            )
            return redirect(started)
    recent = endpoint.comparisons.select_related("baseline", "candidate")[:RECENT]
    return render(request, "jobs/compare.html", {"form": form, "endpoint": endpoint, "recent": recent})


@requires(VIEW)
def comparison_detail(request, name, pk):
    found = get_object_or_404(
        Comparison.objects.select_related("baseline", "candidate", "endpoint"), pk=pk, endpoint_name=name
    )
    found = comparisons.refresh(found)
    report = found.report if found.state == Comparison.COMPLETED else {}
    context = {
        "comparison": found,
        "endpoint": found.endpoint,
        "report": report,
        "baseline": found.baseline,
        "candidate": found.candidate,
        **comparisons.display(report),
        "max_classes": comparisons.MAX_CLASSES,
        "jobs_compared": [("Baseline (default)", found.baseline), ("Candidate", found.candidate)],
        "is_default": found.endpoint and found.endpoint.default_deployment_id == found.candidate.deployment_id,
    }
    if request.htmx and request.htmx.target == "comparison":
        return _live(render(request, "jobs/_comparison.html", context), not found.is_finished)
    return render(request, "jobs/comparison.html", context)
