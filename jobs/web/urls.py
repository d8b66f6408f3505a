from django.urls import path

from jobs.web import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("previews/<str:name>/", views.preview_detail, name="preview"),
    path("<str:name>/", views.job_detail, name="detail"),
    path("<str:name>/cancel/", views.job_cancel, name="cancel"),
    path("<str:name>/retry/", views.job_retry, name="retry"),
    path("<str:name>/download/<path:file>", views.job_download, name="download"),
    path("<str:name>/logs/<path:file>", views.job_log, name="log"),
]
