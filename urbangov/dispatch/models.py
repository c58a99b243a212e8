"""What the city configures about dispatch: the routing table (category × area → unit), the
fallback unit of each district (兜底), the confidence each category needs before the
dispatcher sends a case by itself, and words that mark an emergency.

The decisions themselves are logged in :mod:`urbangov.algorithms`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from urbangov.org.models import Area, Category, Level, Unit


class RoutingRule(models.Model):
    """Cases of ``category`` (and its sub-categories) in ``area`` (and below) go to ``unit``.

    The most specific rule wins: the exact category before its parent, then the deepest
    area. A rule with no category holds for every category in its area, after the units
    that answer for the category there (their "areas and categories answered for").
    """

    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: every category."),
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("The rule holds in this area and every area inside it."),
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("handling unit"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing table")
        ordering = ["area__path", "category__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "area"],
                condition=models.Q(category__isnull=False),
                name="routing_rule_unique",
            ),
            models.UniqueConstraint(
                fields=["area"],
                condition=models.Q(category__isnull=True),
                name="routing_rule_any_unique",
            ),
        ]

    def __str__(self) -> str:
        what = self.category.name if self.category else _("any category")
        return f"{what} @ {self.area} → {self.unit}"


class DistrictFallback(models.Model):
    """The unit that takes a district's cases no rule places (兜底单位)."""

    district = models.OneToOneField(
        Area,
        verbose_name=_("district"),
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"level": Level.DISTRICT},
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("fallback unit"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("fallback unit of a district")
        verbose_name_plural = _("fallback units of districts")
        ordering = ["district__path"]

    def __str__(self) -> str:
        return f"{self.district} → {self.unit}"

    def clean(self) -> None:
        if self.district_id is not None and self.district.level != Level.DISTRICT:
            raise ValidationError({"district": _("Choose a district.")})


class CategoryPolicy(models.Model):
    """How sure the dispatcher must be before it dispatches a case of this category itself;
    below that, the case waits for an operator with the suggestions."""

    category = models.OneToOneField(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="+"
    )
    threshold = models.FloatField(
        _("confidence needed"),
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_(
            "A probability between 0 and 1; the dispatcher's probabilities are calibrated."
        ),
    )
    automatic = models.BooleanField(
        _("may dispatch automatically"),
        default=True,
        help_text=_("Off: cases of this category always wait for an operator."),
    )

    class Meta:
        verbose_name = _("dispatch policy of a category")
        verbose_name_plural = _("dispatch policies of categories")
        ordering = ["category__code"]

    def __str__(self) -> str:
        return f"{self.category}: {self.threshold:.2f}"


class EmergencyTerm(models.Model):
    """A word or phrase that marks a case as an emergency, beyond the built-in list."""

    term = models.CharField(_("word or phrase"), max_length=60, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("emergency term")
        verbose_name_plural = _("emergency terms")
        ordering = ["term"]

    def __str__(self) -> str:
        return self.term
