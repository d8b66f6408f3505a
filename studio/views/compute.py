from django.conf import settings
from django.shortcuts import render
from django_q.status import Stat


def compute_list(request):
    workers = Stat.get_all()
    return render(request, "studio/compute.html", {
        "clusters": [{"name": settings.DEFAULT_COMPUTE, "workers": workers}],
    })
