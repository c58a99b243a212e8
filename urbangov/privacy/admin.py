from django.contrib import admin
from django.http import HttpRequest

from urbangov.privacy.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ("id", "at", "actor_label", "action", "object_type", "object_id", "purpose")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "object_id", "action")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
