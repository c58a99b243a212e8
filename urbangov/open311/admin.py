from django.contrib import admin
from django.http import HttpRequest

from urbangov.open311.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    """Keys are listed here; they are made and revoked with ``urbangov open311``, so that the
    key is shown once and every change is in the audit log."""

    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    search_fields = ("name", "prefix")
    readonly_fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
