"""Probes for a process manager or a load balancer: no sign-in, nothing secret in them."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from jobs import health


@login_not_required
@never_cache
def healthz(request):
    """Liveness: this web process answers."""
    return HttpResponse("ok\n", content_type="text/plain")


@login_not_required
@never_cache
def readyz(request):
    """Readiness: the database and the broker answer, a worker lives, and queued work is being taken."""
    found = health.readiness()
    status = "ready" if found.ready else "unready"
    return JsonResponse({"status": status, "checks": found.checks}, status=200 if found.ready else 503)
