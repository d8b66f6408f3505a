from django.shortcuts import render

from endpoints.models import BatchEndpoint
from jobs import table
from jobs.models import BatchJob


def home(request):
    return render(request, "studio/home.html", {
        "rows": table.rows(BatchJob.with_retry_flag(BatchJob.objects.only(*table.COLUMNS))[:10]),
        "endpoints": BatchEndpoint.objects.select_related("default_deployment")[:10],
    })
