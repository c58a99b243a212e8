"""Equity reports and siting plans, kept so that the city can see how access changes over
time and what was proposed when. Each is written whole by one action, or not at all."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from urbangov.org.models import Area, FacilityKind


class Method(models.TextChoices):
    TWO_STEP = "2sfca", _("2SFCA (every facility in reach counts in full)")
    ENHANCED = "e2sfca", _("enhanced 2SFCA (nearer facilities count more)")
    GRAVITY = "gravity", _("gravity model")


class Decay(models.TextChoices):
    STEP = "step", _("step (1, 0.68, 0.22 by thirds of the distance)")
    GAUSSIAN = "gaussian", _("Gaussian")


class Objective(models.TextChoices):
    P_MEDIAN = "p_median", _("shortest average distance (p-median)")
    MAX_COVER = "max_cover", _("most people within reach (maximal covering)")
    MAX_MIN = "max_min_coverage", _("best coverage of the worst-served group")
    MIN_GINI = "min_gini", _("most equal access (lowest Gini)")


class AccessReport(models.Model):
    """Access to one kind of facility across the city's grid cells, at one moment."""

    kind = models.CharField(_("facility kind"), max_length=20, choices=FacilityKind.choices)
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    decay = models.CharField(_("distance decay"), max_length=10, choices=Decay.choices, blank=True)
    threshold_m = models.FloatField(_("catchment (metres)"))
    # Which residents compete for the facilities: the population column of the grid cells.
    demand = models.CharField(_("residents served"), max_length=20)
    created_at = models.DateTimeField(_("computed at"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cells = models.PositiveIntegerField(_("grid cells"))
    facilities = models.PositiveIntegerField(_("facilities"))
    # Indices, group gaps, coverage and decompositions (see urbangov.equity.actions).
    summary = models.JSONField(_("summary"), default=dict)

    class Meta:
        verbose_name = _("access report")
        verbose_name_plural = _("access reports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class AccessValue(models.Model):
    """One grid cell's access in one report."""

    report = models.ForeignKey(AccessReport, on_delete=models.CASCADE, related_name="values")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+")
    access = models.FloatField()
    in_reach = models.BooleanField()
    nearest_m = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "area"], name="access_value_once_per_cell")
        ]

    def __str__(self) -> str:
        return f"{self.report_id}/{self.area_id}: {self.access:.4g}"


class SitingPlan(models.Model):
    """Proposed sites for k new facilities of one kind, with the trade-off table."""

    kind = models.CharField(_("facility kind"), max_length=20, choices=FacilityKind.choices)
    objective = models.CharField(_("objective"), max_length=20, choices=Objective.choices)
    k = models.PositiveSmallIntegerField(_("new facilities"))
    radius_m = models.FloatField(_("catchment (metres)"))
    new_capacity = models.PositiveIntegerField(_("capacity of each new facility"))
    created_at = models.DateTimeField(_("computed at"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # [{"code", "name", "lat", "lon"}] for the chosen objective
    sites = models.JSONField(_("proposed sites"), default=list)
    # objective -> {"value", "bound", "gap", "method", "seconds", "sites": [codes]}
    solutions = models.JSONField(default=dict)
    # [{"plan": "before" | objective, measures…}]
    table = models.JSONField(default=list)

    class Meta:
        verbose_name = _("siting plan")
        verbose_name_plural = _("siting plans")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} +{self.k} ({self.objective})"
