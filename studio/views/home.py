from django.shortcuts import render

from endpoints.models import BatchEndpoint
from jobs.models import BatchJob


def home(request):
    return render(request, "studio/home.html", {
        "jobs": BatchJob.with_retry_flag(BatchJob.objects.all())[:10],
        "endpoints": BatchEndpoint.objects.select_related("default_deployment")[:10],
    })
