from django.contrib import admin

from jobs.schedules.models import Schedule, ScheduleRun, ScoredFile
from workspace.admin import ReadOnlyAdmin


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ("name", "endpoint", "cron", "enabled", "input_datastore", "input_path", "last_run")
    list_filter = ("enabled",)
    search_fields = ("name", "description", "endpoint__name", "input_path")


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyAdmin):
    list_display = ("schedule", "trigger", "started", "outcome", "files_found", "job_name", "settled")
    list_filter = ("outcome", "trigger")
    search_fields = ("schedule__name", "job_name", "message")


@admin.register(ScoredFile)
class ScoredFileAdmin(ReadOnlyAdmin):
    list_display = ("schedule", "path", "scored")
    search_fields = ("schedule__name", "path")
