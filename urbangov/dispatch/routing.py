"""Where a case goes: category × area → handling unit, from memory.

The table is read from the database into memory (the city's areas, categories, active units,
routing rules, fallback units and category policies) and kept for a minute, or until one of
those rows changes in this process; routing a case then costs no query. Resolution, most
specific first:

1. a routing rule for the category, in the deepest area holding the case;
2. a routing rule for the category's parent;
3. a unit that answers for the category in an area holding the case (its "areas and
   categories answered for" in the organisation), the deepest area first;
4. the same for the parent category;
5. a routing rule for any category, the deepest area first;
6. the fallback unit (兜底) of the case's district;
7. nobody: an operator decides.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from urbangov.org.models import Area, Category, Level, Unit

CACHE_SECONDS = 60.0
_DEPTH: dict[str, int] = {
    Level.CITY: 0,
    Level.DISTRICT: 1,
    Level.STREET: 2,
    Level.COMMUNITY: 3,
    Level.GRID: 4,
}
# Suffixes a resident may leave out ("钟楼" for 钟楼街道); the short name is looked for in the
# address only, where it is less likely to mean something else.
_SUFFIXES = ("街道办事处", "街道", "社区", "居委会", "村委会", "村", "镇", "乡", "新区", "区", "县")


@dataclass(frozen=True)
class AreaInfo:
    id: int
    code: str
    name: str
    level: str
    path: str


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    code: str
    name: str
    name_en: str
    parent_id: int | None
    urgency: str
    active: bool

    def display_name(self, language: str) -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str


# How a route was found (the explanation names it).
RULE = "rule"
PARENT_RULE = "parent_rule"
UNIT = "unit"
PARENT_UNIT = "parent_unit"
ANY_RULE = "any_rule"
FALLBACK = "fallback"
NONE = "none"


@dataclass(frozen=True)
class Route:
    unit: UnitInfo | None
    how: str
    # The area the rule, the unit's remit or the fallback is attached to.
    area: AreaInfo | None = None
    rule_id: int | None = None
    # More than one unit answered for the category there; the first by code was taken.
    ambiguous: bool = False

    def as_data(self) -> dict[str, Any]:
        return {
            "how": self.how,
            "unit": self.unit.code if self.unit else None,
            "area": self.area.code if self.area else None,
            "rule": self.rule_id,
            "ambiguous": self.ambiguous,
        }


@dataclass
class Table:
    areas: dict[int, AreaInfo] = field(default_factory=dict)
    area_by_code: dict[str, AreaInfo] = field(default_factory=dict)
    categories: dict[int, CategoryInfo] = field(default_factory=dict)
    category_by_code: dict[str, CategoryInfo] = field(default_factory=dict)
    units: dict[int, UnitInfo] = field(default_factory=dict)
    unit_by_code: dict[str, UnitInfo] = field(default_factory=dict)
    # The rows themselves, for acting on a route without reading them again (read-only).
    unit_rows: dict[int, Unit] = field(default_factory=dict)
    category_rows: dict[int, Category] = field(default_factory=dict)
    # (category id or None, area id) -> (rule id, unit id)
    rules: dict[tuple[int | None, int], tuple[int, int]] = field(default_factory=dict)
    # (category id, area id) -> ids of the active units answering for both, by code
    remits: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    # district area id -> unit id
    fallbacks: dict[int, int] = field(default_factory=dict)
    # category id -> (threshold, may dispatch automatically)
    policies: dict[int, tuple[float, bool]] = field(default_factory=dict)
    # Names residents write for districts, streets and communities, longest first:
    # (name, area, only in the address field).
    place_names: list[tuple[str, AreaInfo, bool]] = field(default_factory=list)
    emergency_terms: tuple[str, ...] = ()
    # category id -> how many active categories stand in each relation to it (see engine)
    relation_sizes: dict[int, dict[str, int]] = field(default_factory=dict)
    built_at: float = 0.0

    def chain(self, area_id: int | None) -> list[AreaInfo]:
        """The area and every area above it, the deepest first."""
        if area_id is None or area_id not in self.areas:
            return []
        codes = self.areas[area_id].path.strip("/").split("/")
        return [self.area_by_code[c] for c in reversed(codes) if c in self.area_by_code]

    def district_of(self, area_id: int | None) -> AreaInfo | None:
        for area in self.chain(area_id):
            if area.level == Level.DISTRICT:
                return area
        return None

    def category_chain(self, category_id: int) -> list[CategoryInfo]:
        found = self.categories.get(category_id)
        if found is None:
            return []
        parent = self.categories.get(found.parent_id) if found.parent_id else None
        return [found, parent] if parent is not None else [found]

    def route(self, category_id: int | None, area_id: int | None) -> Route:
        areas = self.chain(area_id)
        if not areas:
            # Not located: only what holds for the whole city can apply.
            areas = [a for a in self.areas.values() if a.level == Level.CITY]
        cats = self.category_chain(category_id) if category_id is not None else []
        for cat, how in zip(cats, (RULE, PARENT_RULE), strict=False):
            for area in areas:
                hit = self.rules.get((cat.id, area.id))
                if hit is not None:
                    return Route(self.units[hit[1]], how, area, hit[0])
        for cat, how in zip(cats, (UNIT, PARENT_UNIT), strict=False):
            for area in areas:
                unit_ids = self.remits.get((cat.id, area.id))
                if unit_ids:
                    return Route(self.units[unit_ids[0]], how, area, None, len(unit_ids) > 1)
        for area in areas:
            hit = self.rules.get((None, area.id))
            if hit is not None:
                return Route(self.units[hit[1]], ANY_RULE, area, hit[0])
        district = self.district_of(area_id)
        if district is not None and district.id in self.fallbacks:
            return Route(self.units[self.fallbacks[district.id]], FALLBACK, district)
        return Route(None, NONE)

    def policy(self, category_id: int, default: float) -> tuple[float, bool]:
        return self.policies.get(category_id, (default, True))

    def locate_text(self, address: str, text: str) -> tuple[AreaInfo, str] | None:
        """The most specific district, street or community named in the address (or, by
        its full name, in the text), consistent with the other places named; with the name
        found. None when no place is named."""
        found: dict[int, tuple[AreaInfo, str]] = {}
        for name, area, address_only in self.place_names:
            if name in address or (not address_only and name in text):
                found.setdefault(area.id, (area, name))
        if not found:
            return None
        paths = [area.path for area, _name in found.values()]

        def score(item: tuple[AreaInfo, str]) -> tuple[int, int, int]:
            area, name = item
            # Places named that hold this one agree with it; a place elsewhere does not.
            agreeing = sum(1 for p in paths if area.path.startswith(p))
            return agreeing, _DEPTH.get(area.level, 0), len(name)

        return max(found.values(), key=score)


def _build() -> Table:
    from urbangov.dispatch.models import (
        CategoryPolicy,
        DistrictFallback,
        EmergencyTerm,
        RoutingRule,
    )

    table = Table(built_at=time.monotonic())
    for pk, code, name, level, path in Area.objects.values_list(
        "id", "code", "name", "level", "path"
    ):
        info = AreaInfo(pk, code, name, level, path)
        table.areas[pk] = info
        table.area_by_code[code] = info
    for row in Category.objects.all():
        cat = CategoryInfo(
            row.pk, row.code, row.name, row.name_en, row.parent_id, row.urgency, row.active
        )
        table.categories[row.pk] = cat
        table.category_by_code[row.code] = cat
        table.category_rows[row.pk] = row
    for unit_row in Unit.objects.filter(active=True):
        unit = UnitInfo(unit_row.pk, unit_row.code, unit_row.name)
        table.units[unit_row.pk] = unit
        table.unit_by_code[unit_row.code] = unit
        table.unit_rows[unit_row.pk] = unit_row
    for pk, cat_id, area_id, unit_id in RoutingRule.objects.values_list(
        "id", "category_id", "area_id", "unit_id"
    ):
        if unit_id in table.units:
            table.rules[(cat_id, area_id)] = (pk, unit_id)
    unit_areas: dict[int, list[int]] = {}
    for unit_id, area_id in Unit.areas.through.objects.values_list("unit_id", "area_id"):
        if unit_id in table.units:
            unit_areas.setdefault(unit_id, []).append(area_id)
    for unit_id, cat_id in Unit.categories.through.objects.values_list("unit_id", "category_id"):
        for area_id in unit_areas.get(unit_id, []):
            table.remits.setdefault((cat_id, area_id), []).append(unit_id)
    for ids in table.remits.values():
        ids.sort(key=lambda i: table.units[i].code)
    for district_id, unit_id in DistrictFallback.objects.values_list("district_id", "unit_id"):
        if unit_id in table.units:
            table.fallbacks[district_id] = unit_id
    names: dict[tuple[str, int], tuple[str, AreaInfo, bool]] = {}
    for area in table.areas.values():
        if area.level not in (Level.DISTRICT, Level.STREET, Level.COMMUNITY) or len(area.name) < 2:
            continue
        names[(area.name, area.id)] = (area.name, area, False)
        for suffix in _SUFFIXES:
            stem = area.name.removesuffix(suffix)
            if stem != area.name and len(stem) >= 2:
                names.setdefault((stem, area.id), (stem, area, True))
                break
    table.place_names = sorted(names.values(), key=lambda item: -len(item[0]))
    table.emergency_terms = tuple(
        EmergencyTerm.objects.filter(active=True).values_list("term", flat=True)
    )
    for cat_id, threshold, automatic in CategoryPolicy.objects.values_list(
        "category_id", "threshold", "automatic"
    ):
        table.policies[cat_id] = (float(threshold), bool(automatic))
    return table


_lock = threading.Lock()
_table: Table | None = None


def current() -> Table:
    global _table
    with _lock:
        if _table is None or time.monotonic() - _table.built_at > CACHE_SECONDS:
            _table = _build()
        return _table


def invalidate(**_: Any) -> None:
    global _table
    _table = None


def connect_signals() -> None:
    from urbangov.dispatch.models import (
        CategoryPolicy,
        DistrictFallback,
        EmergencyTerm,
        RoutingRule,
    )

    for model in (
        Area,
        Category,
        Unit,
        RoutingRule,
        DistrictFallback,
        CategoryPolicy,
        EmergencyTerm,
    ):
        uid = f"dispatch.routing.{model._meta.label_lower}"
        post_save.connect(invalidate, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(invalidate, sender=model, dispatch_uid=uid + ".delete")
    for through in (Unit.areas.through, Unit.categories.through):
        m2m_changed.connect(invalidate, sender=through, dispatch_uid=f"dispatch.routing.{through}")
