"""Reads about the Demo City: is it there, and what else is in the database."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from urbangov.cases.models import Case
from urbangov.demo.catalogue import CITY_CODE
from urbangov.demo.generator import SOURCE
from urbangov.org.models import Area, Category, Level, Unit
from urbangov.privacy.models import AuditEvent


@dataclass(frozen=True)
class Contents:
    demo: bool  # the Demo City's root area is there
    areas: int
    cases: int
    demo_cases: int
    users: int
    units: int
    categories: int

    def empty(self) -> bool:
        """Nothing of a city here yet (users alone do not count)."""
        return not (self.areas or self.cases or self.units or self.categories)


def contents() -> Contents:
    return Contents(
        demo=Area.objects.filter(code=CITY_CODE, level=Level.CITY, parent__isnull=True).exists(),
        areas=Area.objects.count(),
        cases=Case.objects.count(),
        demo_cases=Case.objects.filter(source=SOURCE).count(),
        users=get_user_model().objects.count(),
        units=Unit.objects.count(),
        categories=Category.objects.count(),
    )


def last_build() -> AuditEvent | None:
    """The audit event of the build that made the demo in this database."""
    return AuditEvent.objects.filter(action="demo.build").order_by("-id").first()
