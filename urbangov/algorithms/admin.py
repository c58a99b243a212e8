"""The register and the decision log in the admin. An algorithm's register entry may be edited
here (through :func:`urbangov.algorithms.actions.update_register`, so every change is on the
audit log); the phase moves only through ``urbangov algorithms phase`` (which checks the
safeguards). Everything else is read-only: versions are registered and activated through
``urbangov dispatch train|activate|rollback``; decisions, assessments and reviews are
written by their actions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from urbangov.algorithms import actions
from urbangov.algorithms.models import (
    Activation,
    Algorithm,
    AlgorithmVersion,
    Decision,
    ImpactAssessment,
    Review,
)


class ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Algorithm)
class AlgorithmAdmin(admin.ModelAdmin[Any]):
    list_display = ("code", "name", "phase", "owner", "active_version", "updated_at")
    list_filter = ("phase", "algorithm_type")
    search_fields = ("code", "name")
    fields = ("code", "phase", "active_version", *actions.REGISTER_FIELDS)
    readonly_fields = ("code", "phase", "active_version")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        current = Algorithm.objects.get(pk=obj.pk)
        actions.update_register(
            actor=request.user,
            algorithm=current,
            **{f: form.cleaned_data[f] for f in form.changed_data if f in actions.REGISTER_FIELDS},
        )


@admin.register(ImpactAssessment)
class ImpactAssessmentAdmin(ReadOnly):
    list_display = ("algorithm", "level", "raw_score", "mitigation_score", "score", "created_at")
    list_filter = ("algorithm", "level")


@admin.register(Review)
class ReviewAdmin(ReadOnly):
    list_display = ("algorithm", "outcome", "level", "next_review_due", "created_at", "actor_label")
    list_filter = ("algorithm", "outcome")


@admin.register(AlgorithmVersion)
class AlgorithmVersionAdmin(ReadOnly):
    list_display = ("algorithm", "version", "created_at", "created_by_label", "artefact_size")
    list_filter = ("algorithm",)
    exclude = ()


@admin.register(Activation)
class ActivationAdmin(ReadOnly):
    list_display = ("algorithm", "version", "previous", "rollback", "at", "actor_label")
    list_filter = ("algorithm", "rollback")


@admin.register(Decision)
class DecisionAdmin(ReadOnly):
    list_display = (
        "id",
        "created_at",
        "algorithm",
        "kind",
        "subject_type",
        "subject_id",
        "mode",
        "verdict",
        "confidence",
        "actor_label",
    )
    list_filter = ("algorithm", "kind", "mode", "verdict")
    search_fields = ("subject_id",)
    date_hierarchy = "created_at"
    raw_id_fields = ("refers_to", "version")
