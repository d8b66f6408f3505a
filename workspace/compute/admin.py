from django.contrib import admin

from workspace.admin import ReadOnlyAdmin
from workspace.compute.models import ComputeCluster, Worker


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ("cluster", "host", "pid", "parent_pid", "started", "last_heartbeat")
    list_filter = ("cluster", "host")
    search_fields = ("cluster", "host")


@admin.register(ComputeCluster)
class ComputeClusterAdmin(ReadOnlyAdmin):
    list_display = ("name", "type", "min_instances", "max_instances", "created_by", "created")
    list_filter = ("type",)
    search_fields = ("name", "description")
