"""The Django admin lists every model of the Studio, read-only: changes go through the Studio's own pages, API and
commands, which validate them (allowed datastore roots, private addresses, a datastore still in use...)."""

from django.contrib import admin

from workspace.models import Dataset, Datastore


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Datastore)
class DatastoreAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "location", "authentication", "is_default", "updated")
    list_filter = ("kind", "credential_type", "is_default")
    search_fields = ("name", "description", "root", "account_url", "container", "endpoint_url", "bucket")
    exclude = ("secret_encrypted",)  # never shown, even encrypted


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "type", "datastore", "path", "created_by", "created")
    list_filter = ("type", "datastore")
    search_fields = ("name", "description", "path")
