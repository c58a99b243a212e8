"""Who a staff member is in the organisation: their roles, units and areas."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from urbangov.org.models import Area, Membership, Role


@dataclass(frozen=True)
class Scope:
    """What one user may see, worked out once per request."""

    is_admin: bool = False
    roles: frozenset[str] = frozenset()
    # role -> ids of the units where the user holds it
    units: dict[str, frozenset[int]] = field(default_factory=dict)
    # role -> materialised paths of the areas those units answer for
    area_paths: dict[str, frozenset[str]] = field(default_factory=dict)
    # role -> True where one of those units answers for a whole city (root area)
    citywide: dict[str, bool] = field(default_factory=dict)
    # the paths of every root area, read where the user holds a city-wide role
    roots: frozenset[str] = frozenset()

    def has(self, *roles: str) -> bool:
        return self.is_admin or any(r in self.roles for r in roles)

    def unit_ids(self, *roles: str) -> frozenset[int]:
        return frozenset().union(*(self.units.get(r, frozenset()) for r in roles))

    def paths(self, *roles: str) -> frozenset[str]:
        return frozenset().union(*(self.area_paths.get(r, frozenset()) for r in roles))

    def is_citywide(self, *roles: str) -> bool:
        return self.is_admin or any(self.citywide.get(r, False) for r in roles)

    def covers_everything(self, *roles: str) -> bool:
        """Every area is under one of these roles' areas (and so every case is theirs)."""
        return self.is_admin or (
            self.is_citywide(*roles) and bool(self.roots) and self.roots <= self.paths(*roles)
        )

    def covers_area(self, area_path: str | None, *roles: str) -> bool:
        if self.is_admin:
            return True
        if area_path is None:
            return self.is_citywide(*roles)
        return any(area_path.startswith(p) for p in self.paths(*roles))


NOBODY = Scope()


def scope_of(user: Any) -> Scope:
    """The user's scope, cached on the user object for the rest of the request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NOBODY
    cached = getattr(user, "_urbangov_scope", None)
    if isinstance(cached, Scope):
        return cached
    memberships = list(
        Membership.objects.filter(user=user, unit__active=True).select_related("unit")
    )
    units: dict[str, set[int]] = {}
    for m in memberships:
        units.setdefault(m.role, set()).add(m.unit_id)
    unit_area_rows = Area.objects.filter(unit__in={m.unit_id for m in memberships}).values_list(
        "unit", "path", "parent_id"
    )
    by_unit: dict[int, list[tuple[str, bool]]] = {}
    for unit_id, path, parent_id in unit_area_rows:
        by_unit.setdefault(unit_id, []).append((path, parent_id is None))
    area_paths: dict[str, frozenset[str]] = {}
    citywide: dict[str, bool] = {}
    for role, ids in units.items():
        rows = [row for uid in ids for row in by_unit.get(uid, [])]
        area_paths[role] = frozenset(p for p, _ in rows)
        citywide[role] = any(root for _, root in rows)
    scope = Scope(
        is_admin=bool(user.is_superuser) or Role.ADMIN in units,
        roles=frozenset(units),
        units={r: frozenset(v) for r, v in units.items()},
        area_paths=area_paths,
        citywide=citywide,
        roots=frozenset(Area.objects.filter(parent__isnull=True).values_list("path", flat=True))
        if any(citywide.values())
        else frozenset(),
    )
    user._urbangov_scope = scope
    return scope


def is_staff_member(user: Any) -> bool:
    scope = scope_of(user)
    return scope.is_admin or bool(scope.roles)


def areas_for_choice(levels: Iterable[str]) -> list[Area]:
    return list(Area.objects.filter(level__in=list(levels)).order_by("path"))
