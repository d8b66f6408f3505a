"""Probes for a process manager or a load balancer: no sign-in, nothing secret in them."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from jobs import health
from jobs import metrics as job_metrics
from workspace import roles


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


@login_not_required
@never_cache
def metrics(request):
    """Prometheus' text format, for a signed-in user with a role or a scraper with `Authorization: Bearer
    <METRICS_TOKEN>`."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if request.user.is_authenticated and not roles.can(request.user, roles.VIEW):
        return HttpResponse(roles.refusal(request.user, roles.VIEW) + "\n", status=403, content_type="text/plain")
    if not request.user.is_authenticated and not (token and given and constant_time_compare(given, token)):
        return HttpResponse(
            "Sign in, or send Authorization: Bearer <METRICS_TOKEN> (set METRICS_TOKEN on the web server).\n",
            status=401,
            content_type="text/plain",
        )
    return HttpResponse(job_metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
