from django.contrib import admin

from jobs.models import BatchJob, Comparison, MiniBatch, Preview
from workspace.admin import ReadOnlyAdmin
from workspace.environments import Environment


@admin.register(BatchJob)
class BatchJobAdmin(ReadOnlyAdmin):
    list_display = ("name", "endpoint_name", "deployment_name", "status", "compute", "rows_out", "created", "finished")
    list_filter = ("status", "compute")
    search_fields = ("name", "endpoint_name", "deployment_name", "input_uri")
    exclude = ("input_sas_encrypted",)


@admin.register(MiniBatch)
class MiniBatchAdmin(ReadOnlyAdmin):
    list_display = ("job", "index", "status", "attempts", "worker", "rows_out", "started", "finished")
    list_filter = ("status",)
    search_fields = ("job__name", "worker")
    list_select_related = ("job",)


@admin.register(Environment)
class EnvironmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "state", "content_hash", "updated")
    list_filter = ("state",)
    search_fields = ("name", "description", "requirements")


@admin.register(Comparison)
class ComparisonAdmin(ReadOnlyAdmin):
    list_display = ("pk", "endpoint", "baseline", "candidate", "state", "created", "finished")
    list_filter = ("state",)
    search_fields = ("baseline__name", "candidate__name")


@admin.register(Preview)
class PreviewAdmin(ReadOnlyAdmin):
    list_display = ("name", "endpoint", "deployment_name", "status", "created")
    list_filter = ("status",)
    search_fields = ("name", "endpoint__name", "input_uri")
    exclude = ("input_sas_encrypted",)
