from django.urls import path

from endpoints import views
from jobs.schedules import views as schedule_views
from jobs.web import compare
from jobs.web import views as job_views

app_name = "endpoints"
urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("create/", views.endpoint_create, name="create"),
    path("create/<slug:step>/", views.wizard_step, name="wizard"),
    path("<str:name>/", views.endpoint_detail, name="detail"),
    path("<str:name>/runs/", job_views.endpoint_runs, name="runs"),
    path("<str:name>/metrics/", job_views.endpoint_metrics, name="metrics"),
    path("<str:name>/jobs/create/", job_views.job_create, name="create-job"),
    path("<str:name>/schedules/", schedule_views.endpoint_schedules, name="schedules"),
    path("<str:name>/schedules/create/", schedule_views.schedule_create, name="create-schedule"),
    path("<str:name>/jobs/preview/", job_views.job_preview_create, name="preview-job"),
    path("<str:name>/default/", views.default_update, name="default"),
    path("<str:name>/compare/", compare.compare_create, name="compare"),
    path("<str:name>/comparisons/<int:pk>/", compare.comparison_detail, name="comparison"),
    path("<str:name>/delete/", views.endpoint_delete, name="delete"),
    path("<str:name>/deployments/add/", views.deployment_add, name="add-deployment"),
    path("<str:name>/deployments/<str:deployment>/delete/", views.deployment_delete, name="delete-deployment"),
]
