import re

from django.shortcuts import render

from api.auth import error
from endpoints.models import BatchEndpoint
from jobs.models import BatchJob
from jobs.web import table
from studio.views.access import requires
from workspace import demo
from workspace.roles import VIEW


@requires(VIEW)
def home(request):
    endpoints = BatchEndpoint.objects.select_related("default_deployment")[:10]
    demo_model, demo_data = (None, None) if endpoints else demo.available()  # a first visit: lead to the demo
    return render(
        request,
        "studio/home.html",
        {
            "rows": table.rows(BatchJob.with_retry_flag(BatchJob.objects.only(*table.COLUMNS))[:10], user=request.user),
            "endpoints": endpoints,
            "demo_model": demo_model,
            "demo_data": demo_data,
        },
    )


GENERIC_NOT_FOUND = re.compile(r"^No .+ matches the given query\.$")  # get_object_or_404's: names a model class


def not_found(request, exception=None):
    """The Studio's 404, in its layout with its navigation, saying the reason a view gave (a deleted datastore...).
    An API address that does not exist answers as the API's errors do."""
    if request.path.startswith("/api/"):
        return error(404, "not_found", f"There is no API address {request.path}.")
    reason = exception.args[0] if exception is not None and exception.args else ""
    if not isinstance(reason, str) or GENERIC_NOT_FOUND.match(reason):
        reason = ""
    return render(request, "404.html", {"reason": reason}, status=404)
