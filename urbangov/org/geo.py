"""Where a point lies: point-in-polygon over the city's finest areas (shapely STRtree)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import shapely
from django.core.exceptions import ValidationError
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from urbangov.org.models import Area

_CACHE_SECONDS = 60.0


def shape_or_error(geometry: Any) -> BaseGeometry:
    """A shapely geometry from GeoJSON, or a ValidationError saying what is wrong."""
    try:
        geom = shape(geometry)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise ValidationError(_("Not a GeoJSON geometry: %(error)s") % {"error": exc}) from exc
    if geom.is_empty or geom.geom_type not in {"Polygon", "MultiPolygon"}:
        raise ValidationError(_("An area's geometry must be a non-empty Polygon or MultiPolygon."))
    return geom


@dataclass(frozen=True)
class Cell:
    """A finest area as the index knows it: enough to file a case without a query."""

    id: int
    code: str


@dataclass
class _Index:
    built_at: float
    cells: list[Cell]
    tree: shapely.STRtree | None
    geoms: list[BaseGeometry]
    boundary: BaseGeometry | None


_lock = threading.Lock()
_index: _Index | None = None


def invalidate(**_: Any) -> None:
    global _index
    _index = None


post_save.connect(invalidate, sender=Area, dispatch_uid="org.geo.invalidate.save")
post_delete.connect(invalidate, sender=Area, dispatch_uid="org.geo.invalidate.delete")


def _build() -> _Index:
    rows = list(
        Area.objects.filter(geometry__isnull=False, children__isnull=True).values_list(
            "id", "code", "geometry"
        )
    )
    cells = [Cell(r[0], r[1]) for r in rows]
    geoms = [shape(r[2]) for r in rows]
    roots = [
        shape(g)
        for g in Area.objects.filter(parent__isnull=True, geometry__isnull=False).values_list(
            "geometry", flat=True
        )
    ]
    boundary = shapely.union_all(roots) if roots else (shapely.union_all(geoms) if geoms else None)
    if boundary is not None:
        shapely.prepare(boundary)
    tree = shapely.STRtree(geoms) if geoms else None
    return _Index(time.monotonic(), cells, tree, geoms, boundary)


def _current() -> _Index:
    global _index
    with _lock:
        if _index is None or time.monotonic() - _index.built_at > _CACHE_SECONDS:
            _index = _build()
        return _index


def has_geometry() -> bool:
    return _current().boundary is not None


def locate_cell(lat: float, lon: float) -> Cell | None:
    """The finest area whose polygon holds the point, from the in-memory index alone."""
    index = _current()
    if index.tree is None:
        return None
    hits = index.tree.query(Point(lon, lat), predicate="intersects")
    if len(hits) == 0:
        return None
    # On a shared edge the point touches two cells; the lowest id wins, deterministically.
    return min((index.cells[int(i)] for i in hits), key=lambda cell: cell.id)


def locate(lat: float, lon: float) -> Area | None:
    """The finest area whose polygon holds the point, or None."""
    cell = locate_cell(lat, lon)
    if cell is None:
        return None
    return Area.objects.defer("geometry").filter(pk=cell.id).first()


def check_point(lat: float, lon: float) -> None:
    """Refuse coordinates that are not numbers on Earth, or that lie outside the city."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (
        -90 <= lat <= 90 and -180 <= lon <= 180
    ):
        raise ValidationError(_("Latitude must be within ±90 and longitude within ±180."))
    index = _current()
    if index.boundary is not None and not shapely.intersects_xy(index.boundary, lon, lat):
        raise ValidationError(_("The point lies outside the city."))
