from typing import Any, TypeVar

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from urbangov.privacy.actions import record
from urbangov.privacy.models import AuditEvent

_M = TypeVar("_M", bound=models.Model)


class AuditedAdmin(admin.ModelAdmin[_M]):
    """An admin whose every add, change and delete also goes on the audit log, in the same
    transaction: organisation and configuration decide who sees what, so their changes are
    as accountable as any other."""

    def _audit(
        self, request: HttpRequest, obj: models.Model, verb: str, changed: list[str]
    ) -> None:
        record(
            actor=request.user,
            action=f"admin.{obj._meta.label_lower}.{verb}",
            obj=obj,
            data={"changed": sorted(changed)},
        )

    def save_model(self, request: HttpRequest, obj: _M, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            self._audit(request, obj, "change" if change else "add", list(form.changed_data))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            inline = [f.model._meta.model_name for f in formsets if f.has_changed()]
            if inline:
                self._audit(request, form.instance, "change_related", inline)

    def delete_model(self, request: HttpRequest, obj: _M) -> None:
        with transaction.atomic():
            self._audit(request, obj, "delete", [])
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                self._audit(request, obj, "delete", [])
            super().delete_queryset(request, queryset)


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
