from django.contrib import admin

from workspace.admin import ReadOnlyAdmin
from workspace.compute.models import Worker


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ("cluster", "host", "pid", "parent_pid", "started", "last_heartbeat")
    list_filter = ("cluster", "host")
    search_fields = ("cluster", "host")
