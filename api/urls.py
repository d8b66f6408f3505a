from django.urls import path

from api import assets, schedules, views

app_name = "api"
urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("endpoints", views.endpoint_list, name="endpoints"),
    path("endpoints/<str:name>", views.endpoint_detail, name="endpoint"),
    path("endpoints/<str:name>/deployments", views.deployment_list, name="deployments"),
    path("endpoints/<str:name>/deployments/<str:deployment>", views.deployment_detail, name="deployment"),
    # The endpoint's scoring URI: POST invokes (Azure's shape), GET lists its jobs.
    path("endpoints/<str:name>/jobs", views.endpoint_jobs, name="endpoint-jobs"),
    path("endpoints/<str:name>/comparisons", views.endpoint_comparisons, name="endpoint-comparisons"),
    path("comparisons/<str:pk>", views.comparison_detail, name="comparison"),
    path("jobs/<str:job>", views.job_detail, name="job"),
    path("jobs/<str:job>/cancel", views.job_cancel, name="job-cancel"),
    path("jobs/<str:job>/retry", views.job_retry, name="job-retry"),
    path("jobs/<str:job>/outputs/<path:file>", views.job_output, name="job-output"),
    path("endpoints/<str:name>/schedules", schedules.endpoint_schedules, name="endpoint-schedules"),
    path("schedules/<str:schedule>", schedules.schedule_detail, name="schedule"),
    path("schedules/<str:schedule>/run", schedules.schedule_run, name="schedule-run"),
    path("schedules/<str:schedule>/enable", schedules.schedule_enable, name="schedule-enable"),
    path("schedules/<str:schedule>/disable", schedules.schedule_disable, name="schedule-disable"),
    path("models", assets.model_list, name="models"),
    path("models/<str:name>/aliases/<str:alias>", assets.model_alias, name="model-alias"),
    path("models/<str:name>/<str:version>", assets.model_detail, name="model"),
    path("datasets", assets.dataset_list, name="datasets"),
    path("datasets/<str:name>/<str:version>", assets.dataset_detail, name="dataset"),
    path("environments", assets.environment_list, name="environments"),
    path("environments/<str:name>/<str:version>", assets.environment_detail, name="environment"),
    path("environments/<str:name>/<str:version>/rebuild", assets.environment_rebuild, name="environment-rebuild"),
    path("compute", assets.compute_list, name="compute"),
    path("compute/<str:name>", assets.compute_detail, name="compute-detail"),
    path("datastores", assets.datastore_list, name="datastores"),
    path("datastores/<str:name>", assets.datastore_detail, name="datastore"),
    path("datastores/<str:name>/default", assets.datastore_default, name="datastore-default"),
]
