"""The city's organisation: areas from city down to grid, handling units, staff and roles,
the catalogue of case categories with their deadlines, and public facilities."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    CITY = "city", _("city")
    DISTRICT = "district", _("district")
    STREET = "street", _("street")  # 街道
    COMMUNITY = "community", _("community")  # 社区
    GRID = "grid", _("grid")  # 网格


LEVEL_ORDER = [Level.CITY, Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID]


class IncomeBand(models.TextChoices):
    LOW = "low", _("low income")
    MIDDLE = "middle", _("middle income")
    HIGH = "high", _("high income")


class AreaQuerySet(models.QuerySet["Area"]):
    def within(self, area: Area) -> AreaQuerySet:
        """The area itself and every area below it."""
        return self.filter(path__startswith=area.path)

    def grids(self) -> AreaQuerySet:
        return self.filter(level=Level.GRID)


class Area(models.Model):
    """One node of city → district → street → community → grid, with its polygon."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of codes ("/C/D01/S0103/") so that "everything under" is one prefix query.
    path = models.CharField(max_length=400, db_index=True, editable=False)
    geometry = models.JSONField(_("GeoJSON geometry"), null=True, blank=True)
    # Grid cells carry who lives there; higher levels sum their cells.
    population = models.PositiveIntegerField(_("population"), default=0)
    pop_children = models.PositiveIntegerField(_("aged 0–14"), default=0)
    pop_working = models.PositiveIntegerField(_("aged 15–59"), default=0)
    pop_elderly = models.PositiveIntegerField(_("aged 60+"), default=0)
    migrant_share = models.FloatField(_("migrant share"), default=0.0)
    income_band = models.CharField(
        _("income band"), max_length=10, choices=IncomeBand.choices, blank=True
    )

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        old_path = self.path
        self.path = (self.parent.path if self.parent else "/") + self.code + "/"
        with transaction.atomic():
            super().save(*args, **kwargs)
            if old_path and old_path != self.path:
                # A new code or parent moves the whole subtree: every path below follows, or
                # staff scoped to these areas would lose sight of their cases.
                Area.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(Value(self.path), Substr("path", len(old_path) + 1))
                )

    def clean(self) -> None:
        if self.parent is None and self.level != Level.CITY:
            raise ValidationError({"parent": _("Only the city has no parent area.")})
        if (
            self.parent is not None
            and self.pk is not None
            and self.path
            and (self.parent.path.startswith(self.path))
        ):
            raise ValidationError({"parent": _("An area cannot sit inside itself.")})
        if self.parent is not None and LEVEL_ORDER.index(Level(self.level)) != (
            LEVEL_ORDER.index(Level(self.parent.level)) + 1
        ):
            raise ValidationError({"level": _("An area sits one level below its parent.")})
        if self.geometry is not None:
            from urbangov.org.geo import shape_or_error

            shape_or_error(self.geometry)

    def ancestors(self) -> list[Area]:
        codes = self.path.strip("/").split("/")
        by_code = {a.code: a for a in Area.objects.filter(code__in=codes)}
        return [by_code[c] for c in codes if c in by_code]


class Urgency(models.TextChoices):
    EMERGENCY = "emergency", _("emergency")
    UTILITY = "utility", _("utilities")
    ORDINARY = "ordinary", _("ordinary")
    COMPLEX = "complex", _("complex")


# Defaults a city can change in the admin (SlaPolicy rows): hours to resolve, hours to respond.
DEFAULT_SLA_HOURS: dict[str, tuple[int, int]] = {
    Urgency.EMERGENCY: (2, 1),
    Urgency.UTILITY: (24, 4),
    Urgency.ORDINARY: (7 * 24, 24),
    Urgency.COMPLEX: (15 * 24, 48),
}


class SlaPolicy(models.Model):
    """How long a case of one urgency may take: to be responded to, and to be resolved."""

    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, unique=True)
    resolve_hours = models.PositiveIntegerField(_("hours to resolve"))
    response_hours = models.PositiveIntegerField(_("hours to respond"))

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return f"{self.get_urgency_display()}: {self.resolve_hours} h"

    @classmethod
    def hours_for(cls, urgency: str) -> tuple[int, int]:
        """(hours to resolve, hours to respond) for ``urgency``: the city's policy, else the
        default. Read from the table each process keeps (see :func:`sla_table`)."""
        return sla_table().get(urgency) or DEFAULT_SLA_HOURS[urgency]


# The policy rows, as each process last read them: read on every dispatch, changed a few times
# a year. A change saved in this process (the admin) applies at once; in the others, within
# SLA_CACHE_SECONDS, as the dispatcher's routing table does.
SLA_CACHE_SECONDS = 60.0
_sla: tuple[float, dict[str, tuple[int, int]]] | None = None


def sla_table() -> dict[str, tuple[int, int]]:
    """{urgency: (hours to resolve, hours to respond)} of the SlaPolicy rows."""
    global _sla
    held = _sla
    if held is None or time.monotonic() - held[0] > SLA_CACHE_SECONDS:
        rows = SlaPolicy.objects.values_list("urgency", "resolve_hours", "response_hours")
        held = (time.monotonic(), {u: (resolve, respond) for u, resolve, respond in rows})
        _sla = held
    return held[1]


def forget_sla(**_: Any) -> None:
    global _sla
    _sla = None


post_save.connect(forget_sla, sender=SlaPolicy, dispatch_uid="org.sla.forget.save")
post_delete.connect(forget_sla, sender=SlaPolicy, dispatch_uid="org.sla.forget.delete")


class Category(models.Model):
    """A kind of matter residents raise (two levels); its code is the Open311 service code."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    description = models.TextField(_("description"), blank=True)
    keywords = models.CharField(_("keywords"), max_length=400, blank=True)
    urgency = models.CharField(
        _("default urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ORDINARY
    )
    # Overrides of the urgency's SLA for this category; empty means the policy's.
    resolve_hours = models.PositiveIntegerField(_("hours to resolve"), null=True, blank=True)
    response_hours = models.PositiveIntegerField(_("hours to respond"), null=True, blank=True)
    # Open311 service definition attributes: [{"code", "datatype", "required", "description",
    # "order", "values": [{"key", "name"}]}].
    attributes = models.JSONField(_("extra questions"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.parent is not None and self.parent.parent_id is not None:
            raise ValidationError({"parent": _("Categories have two levels only.")})

    def display_name(self, language: str) -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name

    def deadlines(self, urgency: str | None = None) -> tuple[timedelta, timedelta]:
        """(time to resolve, time to respond) for a case of this category."""
        level = urgency or self.urgency
        own = urgency is None or urgency == self.urgency
        if own and self.resolve_hours and self.response_hours:
            # The category's own clocks: the city-wide policy is not read.
            return timedelta(hours=self.resolve_hours), timedelta(hours=self.response_hours)
        resolve, respond = SlaPolicy.hours_for(level)
        if own:
            resolve = self.resolve_hours or resolve
            respond = self.response_hours or respond
        return timedelta(hours=resolve), timedelta(hours=respond)


class UnitKind(models.TextChoices):
    DISPATCH_CENTRE = "dispatch", _("dispatch centre")
    DEPARTMENT = "department", _("department")
    STREET_OFFICE = "street_office", _("street office")
    OTHER = "other", _("other")


class Unit(models.Model):
    """A handling unit (承办单位): a department, a street office, or the dispatch centre."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    areas = models.ManyToManyField(Area, verbose_name=_("areas answered for"), blank=True)
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories answered for"), blank=True
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("handling unit")
        verbose_name_plural = _("handling units")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OPERATOR = "operator", _("dispatch operator")
    HANDLER = "handler", _("handler")
    SUPERVISOR = "supervisor", _("supervisor")
    ANALYST = "analyst", _("analyst")
    ALGORITHM_OFFICER = "algorithm_officer", _("algorithm officer")
    AUDITOR = "auditor", _("auditor")
    ADMIN = "admin", _("administrator")


class Membership(models.Model):
    """A staff member's role in one unit; a person may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.unit}"


class FacilityKind(models.TextChoices):
    ELDERLY_CARE = "elderly_care", _("elderly-care centre")
    CLINIC = "clinic", _("clinic")
    SCHOOL = "school", _("school")
    CULTURE = "culture", _("cultural venue")
    EMPLOYMENT = "employment", _("employment service point")


class Facility(models.Model):
    """A public facility with a location and a capacity."""

    kind = models.CharField(_("kind"), max_length=20, choices=FacilityKind.choices)
    name = models.CharField(_("name"), max_length=120)
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    capacity = models.PositiveIntegerField(_("capacity"))
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")

    def __str__(self) -> str:
        return self.name


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token for staff and integrations; only its hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @staticmethod
    def new_key() -> str:
        return "ugt_" + secrets.token_urlsafe(32)
