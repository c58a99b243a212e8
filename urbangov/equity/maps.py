"""Maps and small charts drawn on the server as SVG: they work without JavaScript, print,
and carry a title and description for screen readers (each page also gives the numbers as a
table)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# ColorBrewer YlGnBu, 5 classes: distinguishable by people with colour-blindness, and
# readable in greyscale (light = low).
PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
NONE_COLOUR = "#d4d4d4"  # nothing in reach
WIDTH = 1000.0


@dataclass(frozen=True)
class Feature:
    geometry: dict[str, Any]
    value: float | None  # None: no data; 0: nothing in reach
    label: str


@dataclass(frozen=True)
class Marker:
    lon: float
    lat: float
    label: str
    kind: str  # "existing" or "proposed"


@dataclass(frozen=True)
class Legend:
    colour: str
    text: str


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry.get("type") == "Polygon":
        return list(geometry.get("coordinates") or [])
    if geometry.get("type") == "MultiPolygon":
        return [ring for poly in geometry.get("coordinates") or [] for ring in poly]
    return []


def breaks(values: Sequence[float], classes: int = len(PALETTE)) -> list[float]:
    """Quantile class breaks over the positive values (upper bounds, ascending)."""
    positive = np.array([v for v in values if v is not None and v > 0], dtype=np.float64)
    if positive.size == 0:
        return []
    qs = np.quantile(positive, np.linspace(0, 1, classes + 1)[1:])
    return sorted({float(q) for q in qs})


def colour_of(value: float | None, cuts: Sequence[float]) -> str:
    if value is None:
        return "#ffffff"
    if value <= 0 or not cuts:
        return NONE_COLOUR
    for i, cut in enumerate(cuts):
        if value <= cut:
            return PALETTE[min(i, len(PALETTE) - 1)]
    return PALETTE[-1]


def legend(cuts: Sequence[float], fmt: str, none_text: str) -> list[Legend]:
    items = [Legend(NONE_COLOUR, none_text)]
    lower = 0.0
    for i, cut in enumerate(cuts):
        items.append(
            Legend(PALETTE[min(i, len(PALETTE) - 1)], f"{fmt.format(lower)} – {fmt.format(cut)}")
        )
        lower = cut
    return items


def choropleth(
    features: Sequence[Feature],
    *,
    title: str,
    description: str,
    cuts: Sequence[float],
    markers: Sequence[Marker] = (),
    ident: str = "map",
) -> SafeString:
    """An SVG map of polygons coloured by value, with optional point markers."""
    points = [pt for f in features for ring in _rings(f.geometry) for pt in ring]
    if not points:
        return mark_safe("")
    lons = np.array([p[0] for p in points], dtype=np.float64)
    lats = np.array([p[1] for p in points], dtype=np.float64)
    lat0 = float(lats.mean())
    kx = math.cos(math.radians(lat0))
    x0, x1 = float(lons.min()) * kx, float(lons.max()) * kx
    y0, y1 = float(lats.min()), float(lats.max())
    scale = WIDTH / max(x1 - x0, 1e-9)
    height = max((y1 - y0) * scale, 1.0)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon * kx - x0) * scale, (y1 - lat) * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-4 -4 {WIDTH + 8:.0f} '
        f'{height + 8:.0f}" role="img" aria-labelledby="{ident}-t {ident}-d" class="equity-map">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(description)}</desc>',
    ]
    for f in features:
        d = []
        for ring in _rings(f.geometry):
            coords = [xy(p[0], p[1]) for p in ring]
            if not coords:
                continue
            d.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in coords) + "Z")
        if not d:
            continue
        parts.append(
            f'<path d="{"".join(d)}" fill="{colour_of(f.value, cuts)}" fill-rule="evenodd">'
            f"<title>{escape(f.label)}</title></path>"
        )
    for m in markers:
        x, y = xy(m.lon, m.lat)
        if m.kind == "proposed":
            parts.append(
                f'<g class="marker proposed"><circle cx="{x:.1f}" cy="{y:.1f}" r="11"/>'
                f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">+</text>'
                f"<title>{escape(m.label)}</title></g>"
            )
        else:
            parts.append(
                f'<circle class="marker existing" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                f"<title>{escape(m.label)}</title></circle>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text inside is escaped


def line_chart(
    series: Sequence[tuple[str, Sequence[float | None]]],
    labels: Sequence[str],
    *,
    title: str,
    description: str,
    ident: str = "chart",
    fmt: str = "{:.2f}",
) -> SafeString:
    """A small line chart (one line per series) over ``labels`` on the x axis."""
    values = [v for _, vs in series for v in vs if v is not None and math.isfinite(v)]
    if not values or not labels:
        return mark_safe("")
    w, h, pad = 600.0, 220.0, 40.0
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    n = len(labels)

    def x(i: int) -> float:
        return pad + (w - 2 * pad) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return h - pad - (h - 2 * pad) * (v - lo) / (hi - lo)

    styles = ("solid", "dashed", "dotted", "dashdot")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" class="equity-chart">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(description)}</desc>',
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" class="axis"/>',
        f'<text x="{pad - 4}" y="{y(hi) + 4:.1f}" text-anchor="end">{escape(fmt.format(hi))}</text>',
        f'<text x="{pad - 4}" y="{y(lo) + 4:.1f}" text-anchor="end">{escape(fmt.format(lo))}</text>',
        f'<text x="{x(0):.1f}" y="{h - pad + 16:.1f}">{escape(labels[0])}</text>',
        f'<text x="{x(n - 1):.1f}" y="{h - pad + 16:.1f}" text-anchor="end">'
        f"{escape(labels[-1])}</text>",
    ]
    for k, (name, vs) in enumerate(series):
        pts = [(x(i), y(v)) for i, v in enumerate(vs) if v is not None and math.isfinite(v)]
        if not pts:
            continue
        style = styles[k % len(styles)]
        parts.append(
            f'<polyline class="series s{k % 6} {style}" points="'
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            + f'"><title>{escape(name)}</title></polyline>'
        )
        for px, py in pts:
            parts.append(f'<circle class="series s{k % 6}" cx="{px:.1f}" cy="{py:.1f}" r="3"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text inside is escaped
