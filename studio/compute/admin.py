from django.contrib import admin

from studio.admin import ReadOnlyAdmin
from studio.compute.models import Worker


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ("cluster", "host", "pid", "parent_pid", "started", "last_heartbeat")
    list_filter = ("cluster", "host")
    search_fields = ("cluster", "host")
