from django.contrib import admin

from endpoints.models import BatchDeployment, BatchEndpoint
from workspace.admin import ReadOnlyAdmin


@admin.register(BatchEndpoint)
class BatchEndpointAdmin(ReadOnlyAdmin):
    list_display = ("name", "default_deployment", "auth_mode", "created_by", "created")
    search_fields = ("name", "description")


@admin.register(BatchDeployment)
class BatchDeploymentAdmin(ReadOnlyAdmin):
    list_display = ("name", "endpoint", "model_name", "model_version", "environment", "compute", "created")
    list_filter = ("compute",)
    search_fields = ("name", "endpoint__name", "model_name", "description")
