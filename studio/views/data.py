from django.shortcuts import render

from studio.models import Datastore


def data_home(request):
    Datastore.get_default()
    return render(request, "studio/data.html", {"datastores": Datastore.objects.all()})
