from django.contrib import admin

from studio.admin import ReadOnlyAdmin
from studio.api.models import AccessToken


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "created", "last_used", "revoked")
    list_filter = ("revoked",)
    search_fields = ("name", "user__username")
    exclude = ("digest",)
