"""Reads of cases, always through the reader's scope."""

from __future__ import annotations

import operator
from datetime import datetime
from functools import reduce
from typing import Any

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from urbangov.cases.models import Case, CaseQuerySet, Status
from urbangov.cases.permissions import AREA_ROLES, CASE_ROLES, can_view
from urbangov.org.models import Area, Category, Role, Unit
from urbangov.org.queries import scope_of


def scoped(user: Any, qs: CaseQuerySet | None = None) -> CaseQuerySet:
    """The cases ``user`` may see: their units' cases, and for operators, supervisors and
    analysts every case in their units' areas (and unlocated ones when they cover the city)."""
    qs = qs if qs is not None else Case.objects.all()
    scope = scope_of(user)
    if scope.is_admin:
        return qs
    clauses: list[Q] = []
    unit_ids = scope.unit_ids(*CASE_ROLES)
    if unit_ids:
        clauses.append(Q(unit_id__in=unit_ids))
    clauses += [Q(area__path__startswith=p) for p in sorted(scope.paths(*AREA_ROLES))]
    if scope.is_citywide(*AREA_ROLES):
        clauses.append(Q(area__isnull=True))
    if not clauses:
        return qs.none()
    return qs.filter(reduce(operator.or_, clauses))


def get_for(user: Any, pk: int) -> Case:
    """The case if ``user`` may see it; 404 for missing and for not-yours alike."""
    case = (
        Case.objects.select_related("area", "unit", "category", "reported_category")
        .filter(pk=pk)
        .first()
    )
    if case is None or not can_view(user, case):
        raise Http404("No such case")
    return case


def by_tracking_code(code: str) -> Case | None:
    from urbangov.cases.models import normalise_tracking_code

    return (
        Case.objects.select_related("unit", "category", "merged_into")
        .filter(tracking_code=normalise_tracking_code(code))
        .first()
    )


def filtered(
    qs: CaseQuerySet,
    *,
    status: str | None = None,
    category: str | None = None,
    area: str | None = None,
    unit: str | None = None,
    overdue: bool = False,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: str | None = None,
    now: datetime | None = None,
) -> CaseQuerySet:
    """Apply workbench/API filters; unknown codes raise ValueError with a message."""
    if status:
        if status not in Status.values:
            raise ValueError(f"unknown status {status!r}")
        qs = qs.filter(status=status)
    if category:
        if not Category.objects.filter(code=category).exists():
            raise ValueError(f"unknown category {category!r}")
        # Until dispatch sets the category, the one the resident chose stands for it.
        qs = qs.filter(
            Q(category__code=category)
            | Q(category__parent__code=category)
            | Q(category__isnull=True, reported_category__code=category)
            | Q(category__isnull=True, reported_category__parent__code=category)
        )
    if area:
        found = Area.objects.filter(code=area).first()
        if found is None:
            raise ValueError(f"unknown area {area!r}")
        qs = qs.in_area(found)
    if unit:
        if not Unit.objects.filter(code=unit).exists():
            raise ValueError(f"unknown unit {unit!r}")
        qs = qs.filter(unit__code=unit)
    if overdue:
        qs = qs.overdue(now or timezone.now())
    if created_from:
        qs = qs.filter(created_at__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__lt=created_to)
    if q:
        q = q.strip()
        qs = qs.filter(Q(tracking_code__iexact=q) | Q(title__icontains=q))
    return qs


def queue_for(user: Any) -> CaseQuerySet:
    """What needs the user's hand first, by their roles."""
    scope = scope_of(user)
    qs = scoped(user)
    wanted = Q(pk__in=[])
    if scope.has(Role.OPERATOR):
        wanted |= Q(status__in=[Status.SUBMITTED, Status.AWAITING_DISPATCH])
        wanted |= Q(extensions__status="pending")
    if scope.has(Role.HANDLER):
        wanted |= Q(
            status__in=[Status.DISPATCHED, Status.ACCEPTED],
            unit_id__in=scope.unit_ids(Role.HANDLER),
        )
    if scope.has(Role.SUPERVISOR):
        wanted |= Q(status__in=[Status.DISPATCHED, Status.ACCEPTED], resolve_due__lt=timezone.now())
        wanted |= Q(extensions__status="pending")
    return qs.filter(wanted).distinct()
