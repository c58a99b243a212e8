from django.contrib import admin

from urbangov.org.models import (
    ApiToken,
    Area,
    Category,
    Facility,
    Membership,
    SlaPolicy,
    Unit,
)
from urbangov.privacy.admin import AuditedAdmin


@admin.register(Area)
class AreaAdmin(AuditedAdmin[Area]):
    list_display = ("code", "name", "level", "parent", "population")
    list_filter = ("level", "income_band")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(Category)
class CategoryAdmin(AuditedAdmin[Category]):
    list_display = ("code", "name", "name_en", "parent", "urgency", "resolve_hours", "active")
    list_filter = ("urgency", "active", "parent")
    search_fields = ("code", "name", "name_en", "keywords")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedAdmin[SlaPolicy]):
    list_display = ("urgency", "resolve_hours", "response_hours")


class MembershipInline(admin.TabularInline[Membership, Unit]):
    model = Membership
    extra = 1
    raw_id_fields = ("user",)


@admin.register(Unit)
class UnitAdmin(AuditedAdmin[Unit]):
    list_display = ("code", "name", "kind", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    filter_horizontal = ("areas", "categories")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin[Membership]):
    list_display = ("user", "unit", "role")
    list_filter = ("role",)
    raw_id_fields = ("user", "unit")


@admin.register(Facility)
class FacilityAdmin(AuditedAdmin[Facility]):
    list_display = ("name", "kind", "capacity", "area")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin[ApiToken]):
    list_display = ("name", "user", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key_hash", "created_at", "last_used_at")
