"""The routing table and the dispatch policies are configuration the city edits in the
admin; every change goes on the audit log (AuditedAdmin) and reaches the dispatcher within a
minute (at once in the process that saved it)."""

from __future__ import annotations

from django.contrib import admin

from urbangov.dispatch.models import CategoryPolicy, DistrictFallback, EmergencyTerm, RoutingRule
from urbangov.privacy.admin import AuditedAdmin


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedAdmin[RoutingRule]):
    list_display = ("category", "area", "unit", "note")
    list_filter = ("unit",)
    search_fields = ("category__code", "category__name", "area__code", "area__name", "unit__name")
    raw_id_fields = ("area",)
    autocomplete_fields = ()


@admin.register(DistrictFallback)
class DistrictFallbackAdmin(AuditedAdmin[DistrictFallback]):
    list_display = ("district", "unit")


@admin.register(CategoryPolicy)
class CategoryPolicyAdmin(AuditedAdmin[CategoryPolicy]):
    list_display = ("category", "threshold", "automatic")
    list_filter = ("automatic",)
    search_fields = ("category__code", "category__name")


@admin.register(EmergencyTerm)
class EmergencyTermAdmin(AuditedAdmin[EmergencyTerm]):
    list_display = ("term", "active")
    list_filter = ("active",)
    search_fields = ("term",)
