from django.shortcuts import render

from studio.compute.live import overview


def compute_list(request):
    return render(request, "studio/compute.html", {"clusters": overview()})
