from django.contrib import admin
from django.urls import include, path

from studio.views import compute, data, home, models

urlpatterns = [
    path("", home.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("models/", models.model_list, name="models"),
    path("models/register/", models.model_register, name="model-register"),
    path("models/<str:name>/<str:version>/", models.model_detail, name="model-detail"),
    path("data/", data.data_home, name="data"),
    path("compute/", compute.compute_list, name="compute"),
    path("endpoints/", include("endpoints.urls")),
    path("jobs/", include("jobs.urls")),
    path("account/", include("studio.api.account_urls")),
    path("api/v1/", include("studio.api.urls")),
    path("admin/", admin.site.urls),
]
