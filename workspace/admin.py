"""The Django admin lists every model of the Studio, read-only: changes go through the Studio's own pages, API and
commands, which validate them (allowed datastore roots, private addresses, a datastore still in use...)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from workspace import roles
from workspace.models import Dataset, Datastore
from workspace.roles import Role


class ReadOnlyAdmin(admin.ModelAdmin):
    """Read-only, and seen by the Owners (staff by their role) as by superusers."""

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or roles.role_of(request.user) == roles.OWNER

    def has_module_permission(self, request):
        return super().has_module_permission(request) or roles.role_of(request.user) == roles.OWNER

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


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    """The four roles and who has each (a user's role is set on their user page, or with `manage.py role assign`)."""

    list_display = ("name", "members", "allowed")
    search_fields = ("name", "user__username")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(name__in=roles.ROLES).prefetch_related("user_set", "permissions")

    @admin.display(description="Users")
    def members(self, role):
        return ", ".join(sorted(u.username for u in role.user_set.all())) or "—"

    @admin.display(description="May")
    def allowed(self, role):
        return "; ".join(p.name for p in role.permissions.all() if p.codename in roles.ACTIONS)


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class StudioUserAdmin(UserAdmin):
    """Django's user admin with each user's role shown and filterable: the role is the user's group of that name."""

    list_display = ("username", "email", "role", "is_active", "is_superuser", "last_login")
    list_filter = ("groups", "is_active", "is_superuser")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Role")
    def role(self, user):
        return roles.role_of(user) or "(none)"
