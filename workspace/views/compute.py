"""The Compute page: every compute cluster known to the site, with its live workers and the work on it."""

from django.contrib import messages
from django.db.models import Max
from django.shortcuts import redirect, render

from endpoints.models import known_clusters
from jobs import health
from jobs.models import BatchJob, MiniBatch, Status
from studio.views.access import requires
from workspace import roles
from workspace.compute.live import live_workers, one_pool, serving
from workspace.compute.models import ComputeCluster, Worker
from workspace.forms import ComputeClusterForm
from workspace.roles import MANAGE_COMPUTE, VIEW


@requires(VIEW)
def compute_list(request):
    """The clusters, and "+ New" for those who manage compute (Owners)."""
    may_create = roles.can(request.user, MANAGE_COMPUTE)
    if request.method == "POST":
        roles.require(request.user, MANAGE_COMPUTE)
    form = ComputeClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.created_by = request.user
        cluster = form.save()
        messages.success(request, f"Compute cluster {cluster.name} created.")
        return redirect("compute")
    context = {"clusters": overview(), "form": form if may_create else None, "one_pool": one_pool()}
    return render(request, "studio/compute.html", context)


def overview() -> list[dict]:
    """Every compute cluster known to the site, with its live workers, last heartbeat, the work on it, and
    whether its pool is stuck (what /readyz reads: queued work that live workers leave waiting)."""
    last = dict(Worker.objects.values_list("cluster").annotate(last=Max("last_heartbeat")))
    names = known_clusters()
    live = live_workers()
    stuck = health.stuck(live)
    registered = {c.name: c for c in ComputeCluster.objects.all()}
    active = [Status.QUEUED, Status.RUNNING, Status.FINALIZING, Status.CANCEL_REQUESTED]
    jobs = list(
        BatchJob.objects.filter(status__in=active).only(
            "name",
            "compute",
            "status",
            "endpoint_name",
            "mini_batches_done",
            "mini_batches_failed",
            "mini_batches_total",
        )[:200]
    )
    running = list(
        MiniBatch.objects.filter(status=MiniBatch.RUNNING)
        .select_related("job")
        .only("index", "worker", "started", "job__name", "job__compute")[:500]
    )
    clusters = []
    for name in names:
        workers = serving(name, live)
        for w in workers:
            w.mini_batches = [mb for mb in running if mb.worker == w.worker_id]
        clusters.append(
            {
                "name": name,
                "registered": registered.get(name),
                "stuck": stuck.get(name, 0),
                "workers": workers,
                "last_heartbeat": last.get(name),
                "jobs": [j for j in jobs if j.compute == name],
                "mini_batches_running": [mb for mb in running if mb.job.compute == name],
            }
        )
    return clusters
