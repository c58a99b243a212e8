"""The public, read-only catalogue: categories with their deadlines, areas and handling units."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from urbangov.org.models import Area, Category, Level, Unit, UnitKind, Urgency

router = Router(tags=["organisation"])


class CategoryOut(Schema):
    code: str
    name: str = Field(description="The name in the request's language where one is kept.")
    name_zh: str
    name_en: str
    description: str
    urgency: str = Field(description="One of " + ", ".join(Urgency.values))
    resolve_hours: int = Field(description="Hours from dispatch to resolution, by default.")
    response_hours: int = Field(description="Hours from dispatch to the unit's response.")
    children: list[CategoryOut] = []


def _category(category: Category, language: str, children: list[CategoryOut]) -> CategoryOut:
    resolve, respond = category.deadlines()
    return CategoryOut(
        code=category.code,
        name=category.display_name(language),
        name_zh=category.name,
        name_en=category.name_en,
        description=category.description,
        urgency=category.urgency,
        resolve_hours=int(resolve.total_seconds() // 3600),
        response_hours=int(respond.total_seconds() // 3600),
        children=children,
    )


@router.get("/categories", response=list[CategoryOut], summary="Case categories (two levels)")
def categories(request: HttpRequest) -> list[CategoryOut]:
    """The active categories a resident may choose, top level first, each with its children
    and the deadlines (SLA) a case of that category gets by default."""
    language = get_language() or "zh-hans"
    rows = list(Category.objects.filter(active=True).order_by("code"))
    by_parent: dict[int | None, list[Category]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)
    return [
        _category(top, language, [_category(c, language, []) for c in by_parent.get(top.pk, [])])
        for top in by_parent.get(None, [])
    ]


class AreaOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None
    population: int
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON geometry; only with ?geometry=1."
    )


class AreaPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AreaOut]


class AreaFilters(Schema):
    level: str | None = Field(None, description="One of " + ", ".join(Level.values))
    parent: str | None = Field(None, description="Only the areas directly below this code.")
    within: str | None = Field(None, description="This area and every area below it.")
    geometry: bool = Field(False, description="Include each area's GeoJSON geometry.")
    limit: int = Field(500, ge=1, le=5000)
    offset: int = Field(0, ge=0, le=1_000_000_000)


def _known_area(code: str, name: str) -> Area:
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise HttpError(
            400, _("%(filter)s: no area with code %(code)r.") % {"filter": name, "code": code}
        )
    return area


@router.get(
    "/areas", response=AreaPage, summary="Areas: city, districts, streets, communities, grid"
)
def areas(request: HttpRequest, filters: Query[AreaFilters]) -> dict[str, Any]:
    """The city's areas in tree order (each after its parent)."""
    qs = Area.objects.all()
    if filters.level:
        if filters.level not in Level.values:
            raise HttpError(
                400,
                _("level: unknown level %(value)r; use one of %(choices)s.")
                % {"value": filters.level, "choices": ", ".join(Level.values)},
            )
        qs = qs.filter(level=filters.level)
    if filters.parent:
        qs = qs.filter(parent=_known_area(filters.parent, "parent"))
    if filters.within:
        qs = qs.within(_known_area(filters.within, "within"))
    fields = ["code", "name", "level", "parent__code", "population"]
    if filters.geometry:
        fields.append("geometry")
    page = qs.order_by("path").values(*fields)[filters.offset : filters.offset + filters.limit]
    items = [
        AreaOut(
            code=row["code"],
            name=row["name"],
            level=row["level"],
            parent=row["parent__code"],
            population=row["population"],
            geometry=row.get("geometry"),
        )
        for row in page
    ]
    return {"count": qs.count(), "limit": filters.limit, "offset": filters.offset, "items": items}


class UnitOut(Schema):
    code: str
    name: str
    kind: str
    parent: str | None
    areas: list[str] = Field(description="Codes of the areas the unit answers for.")
    categories: list[str] = Field(description="Codes of the categories the unit answers for.")


@router.get("/units", response=list[UnitOut], summary="Handling units")
def units(request: HttpRequest, kind: str | None = None) -> list[UnitOut]:
    """The active handling units (departments, street offices, the dispatch centre) with the
    areas and categories each answers for."""
    qs = Unit.objects.filter(active=True).select_related("parent").order_by("code")
    if kind:
        if kind not in UnitKind.values:
            raise HttpError(
                400,
                _("kind: unknown kind %(value)r; use one of %(choices)s.")
                % {"value": kind, "choices": ", ".join(UnitKind.values)},
            )
        qs = qs.filter(kind=kind)
    qs = qs.prefetch_related(
        Prefetch("areas", queryset=Area.objects.only("code")),
        Prefetch("categories", queryset=Category.objects.only("code")),
    )
    return [
        UnitOut(
            code=u.code,
            name=u.name,
            kind=u.kind,
            parent=u.parent.code if u.parent else None,
            areas=sorted(a.code for a in u.areas.all()),
            categories=sorted(c.code for c in u.categories.all()),
        )
        for u in qs
    ]
