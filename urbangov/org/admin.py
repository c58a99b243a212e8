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


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin[Area]):
    list_display = ("code", "name", "level", "parent", "population")
    list_filter = ("level", "income_band")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("code", "name", "name_en", "parent", "urgency", "resolve_hours", "active")
    list_filter = ("urgency", "active", "parent")
    search_fields = ("code", "name", "name_en", "keywords")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    list_display = ("urgency", "resolve_hours", "response_hours")


class MembershipInline(admin.TabularInline[Membership, Unit]):
    model = Membership
    extra = 1
    raw_id_fields = ("user",)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin[Unit]):
    list_display = ("code", "name", "kind", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    filter_horizontal = ("areas", "categories")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "unit", "role")
    list_filter = ("role",)
    raw_id_fields = ("user", "unit")


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin[Facility]):
    list_display = ("name", "kind", "capacity", "area")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key_hash", "created_at", "last_used_at")
