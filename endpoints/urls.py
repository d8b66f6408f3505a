from django.urls import path

from endpoints import views
from jobs import views as job_views

app_name = "endpoints"
urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("create/", views.endpoint_create, name="create"),
    path("<str:name>/", views.endpoint_detail, name="detail"),
    path("<str:name>/runs/", job_views.endpoint_runs, name="runs"),
    path("<str:name>/jobs/create/", job_views.job_create, name="create-job"),
]
