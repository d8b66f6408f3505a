from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.urls import include, path

from studio.views import accounts, health, home
from workspace.views import compute, data, environments, models

handler404 = "studio.views.home.not_found"

# django.contrib.auth's pages, with our sign-in page, and password reset only when e-mail is configured.
RESET_PAGES = {"password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete"}
account_urls = [path("login/", accounts.SignInView.as_view(), name="login")] + [
    path(str(p.pattern), accounts.if_email(p.callback), name=p.name) if p.name in RESET_PAGES else p
    for p in auth_urls.urlpatterns
    if p.name != "login"
]

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("accounts/", include(account_urls)),
    path("models/", models.model_list, name="models"),
    path("models/register/", models.model_register, name="model-register"),
    path("models/<str:name>/<str:version>/", models.model_detail, name="model-detail"),
    path("models/<str:name>/<str:version>/aliases/", models.model_alias, name="model-alias"),
    path("data/", data.data_home, name="data"),
    path("data/datastores/register/", data.datastore_register, name="datastore-register"),
    path("data/datastores/<str:name>/edit/", data.datastore_edit, name="datastore-edit"),
    path("data/datastores/<str:name>/delete/", data.datastore_delete, name="datastore-delete"),
    path("data/datastores/<str:name>/default/", data.datastore_set_default, name="datastore-default"),
    path("data/datastores/<str:name>/browse/", data.datastore_browse, name="datastore-browse"),
    path("data/datasets/register/", data.dataset_register, name="dataset-register"),
    path("data/datasets/<str:name>/<str:version>/", data.dataset_detail, name="dataset-detail"),
    path("environments/", environments.environment_list, name="environments"),
    path("environments/<str:name>/<str:version>/", environments.environment_detail, name="environment-detail"),
    path(
        "environments/<str:name>/<str:version>/rebuild/", environments.environment_rebuild, name="environment-rebuild"
    ),
    path("compute/", compute.compute_list, name="compute"),
    path("endpoints/", include("endpoints.urls")),
    path("jobs/", include("jobs.web.urls")),
    path("schedules/", include("jobs.schedules.urls")),
    path("account/", include("api.account_urls")),
    path("api/v1/", include("api.urls")),
    path("admin/", admin.site.urls),
]
