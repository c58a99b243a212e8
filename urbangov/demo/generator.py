"""The Demo City, drawn from a seed: its map, its people, its units, its facilities and a year
of residents' requests with their whole timelines.

Pure Python and numpy (shapely for the map); nothing here imports Django or touches a
database. The same seed and the same end of history always give the same city, down to the
last character (see :func:`digest`). :mod:`urbangov.demo.actions` writes it.

What the demo plants, so that later analysis has something true to find:

- **Places differ.** The old town is dense and old (a third of its people are 60+) and phones
  in its requests; the development zone is full of migrant workers and raises unpaid wages;
  the new town is young, rich and uses the app; the suburbs are poor, sparse and far from
  clinics and schools.
- **Service differs.** Each unit works at its own speed and quality (the housing bureau and
  the development zone's street offices are slow). On top of that, cases from cells with more
  migrants and from low-income cells take longer and are rated worse: about
  ``1 + 0.6 × migrant share`` times as long, ×1.25 when low-income.
- **Time differs.** Heating complaints come in winter, water, power and noise in summer,
  unpaid wages before the Spring Festival, school places in summer; people call in office
  hours and write in the evening.
- **Some cases get stuck.** About 3 % (more at slow units) wait on someone else and take
  three to eight times as long: the overdue backlog supervisors chase. Residents' ratings
  fall when a case is late, reopened or raised again.
- **Incidents cluster.** A burst main or a dark street brings several calls within hours
  from one community; operators merge many of them as duplicates.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from urbangov.demo import catalogue as cat
from urbangov.demo import texts

# Level and kind names as urbangov.org.models spells them (this module imports no Django).
CITY, DISTRICT, STREET, COMMUNITY, GRID = "city", "district", "street", "community", "grid"
DISPATCH, DEPARTMENT, STREET_OFFICE, OTHER = "dispatch", "department", "street_office", "other"
# As urbangov.cases.models.CODE_ALPHABET: no 0/O, 1/I/L or U, to be read out on the phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
SOURCE = "demo"

KM_PER_DEGREE = 111.32


# --- the city ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaRec:
    code: str
    name: str
    level: str
    parent: str | None
    geometry: dict[str, Any]
    character: str
    population: int = 0
    pop_children: int = 0
    pop_working: int = 0
    pop_elderly: int = 0
    migrant_share: float = 0.0
    income_band: str = ""


@dataclass(frozen=True)
class CategoryRec:
    code: str
    name: str
    name_en: str
    parent: str | None
    urgency: str
    keywords: str
    description: str


@dataclass(frozen=True)
class UnitRec:
    code: str
    name: str
    kind: str
    areas: tuple[str, ...]
    categories: tuple[str, ...]
    speed: float  # 1 = the norm; more is slower
    satisfaction: float  # logit offset of residents' ratings


@dataclass(frozen=True)
class FacilityRec:
    kind: str  # as urbangov.org.models.FacilityKind
    name: str
    lat: float
    lon: float
    capacity: int
    area: str  # the grid cell


@dataclass(frozen=True)
class City:
    seed: int
    areas: tuple[AreaRec, ...]
    categories: tuple[CategoryRec, ...]
    units: tuple[UnitRec, ...]
    facilities: tuple[FacilityRec, ...]
    # community code -> the names a resident uses there
    places: Mapping[str, texts.Place]

    def by_level(self, level: str) -> list[AreaRec]:
        return [a for a in self.areas if a.level == level]

    def area(self, code: str) -> AreaRec:
        return self._areas[code]

    @property
    def _areas(self) -> dict[str, AreaRec]:
        cached: dict[str, AreaRec] | None = self.__dict__.get("_area_index")
        if cached is None:
            cached = {a.code: a for a in self.areas}
            object.__setattr__(self, "_area_index", cached)
        return cached


def _project(u: float, v: float) -> tuple[float, float]:
    """Unit-disc coordinates to lon/lat around the city centre."""
    (lon0, lat0), (hx, hy) = cat.CITY_CENTRE, cat.CITY_HALF_SIZE
    return lon0 + u * hx, lat0 + v * hy


def _km2(geom: BaseGeometry) -> float:
    lat0 = cat.CITY_CENTRE[1]
    return float(geom.area) * KM_PER_DEGREE**2 * math.cos(math.radians(lat0))


def _points_in(
    geom: BaseGeometry, count: int, rng: np.random.Generator, *, decimals: int = 6
) -> np.ndarray:
    """``count`` points (lon, lat) uniformly inside ``geom``, rounded, each strictly inside."""
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    out = np.empty((0, 2))
    while len(out) < count:
        want = max(
            16,
            int((count - len(out)) * 1.6 * (maxx - minx) * (maxy - miny) / max(geom.area, 1e-12)),
        )
        xs = np.round(rng.uniform(minx, maxx, want), decimals)
        ys = np.round(rng.uniform(miny, maxy, want), decimals)
        inside = shapely.contains_xy(geom, xs, ys)
        out = np.vstack([out, np.column_stack([xs[inside], ys[inside]])])
    return out[:count]


def _voronoi(parent: Polygon, seeds: np.ndarray, relax: int) -> list[Polygon]:
    """Split ``parent`` into one cell per seed (Voronoi, clipped, with Lloyd relaxation)."""
    points = seeds
    cells: list[Polygon] = []
    for step in range(relax + 1):
        diagram = shapely.voronoi_polygons(
            MultiPoint([tuple(p) for p in points]), extend_to=parent, ordered=True
        )
        cells = []
        for cell in shapely.get_parts(diagram):
            clipped = cell.intersection(parent)
            if clipped.geom_type != "Polygon":
                # A convex parent cut by a convex cell is convex; keep the largest piece if a
                # floating-point sliver ever splits it.
                clipped = max(shapely.get_parts(clipped), key=lambda g: g.area)
            cells.append(clipped)
        if step < relax:
            points = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    return cells


def _geojson(poly: Polygon) -> dict[str, Any]:
    mapped = mapping(poly)
    return {
        "type": "Polygon",
        "coordinates": [[[float(x), float(y)] for x, y in ring] for ring in mapped["coordinates"]],
    }


def _city_outline(rng: np.random.Generator) -> Polygon:
    angles = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    radius = 1 + 0.07 * rng.standard_normal(72)
    pts = [_project(r * math.cos(a), r * math.sin(a)) for a, r in zip(angles, radius, strict=True)]
    hull = MultiPoint(pts).convex_hull
    assert isinstance(hull, Polygon)
    return shapely.set_precision(hull, 1e-7)


# Where each character's district lies, as an angle around the old town (east = 0°).
_BEARING = {
    cat.RIVERSIDE: 0,
    cat.INDUSTRIAL: 60,
    cat.SUBURBAN: 130,
    cat.UNIVERSITY: 200,
    cat.NEW_TOWN: 290,
}


def build_city(seed: int) -> City:
    """The map, population, units, catalogue and facilities of the Demo City."""
    rng = np.random.default_rng([seed, 1])
    words = random.Random(f"urbangov-demo:{seed}:names")
    outline = _city_outline(rng)

    district_seeds = [_project(0.02 * rng.standard_normal(), 0.02 * rng.standard_normal())]
    characters = [cat.OLD_TOWN]
    for character, bearing in _BEARING.items():
        angle = math.radians(bearing + rng.normal(0, 6))
        r = 0.62 + rng.normal(0, 0.03)
        district_seeds.append(_project(r * math.cos(angle), r * math.sin(angle)))
        characters.append(character)
    district_cells = _voronoi(outline, np.array(district_seeds), relax=0)

    areas: list[AreaRec] = []
    places: dict[str, texts.Place] = {}
    taken_streets: set[str] = set()
    taken_communities: set[str] = set()
    taken_xiaoqu: set[str] = set()
    taken_roads: set[str] = set()
    # per grid cell: (code, polygon, character, community code, street code)
    grid_rows: list[tuple[str, Polygon, str, str, str]] = []
    pending: list[tuple[str, str, str | None, Polygon, str]] = []  # code, name, level, parent…

    for d_index, (d_poly, character) in enumerate(zip(district_cells, characters, strict=True)):
        spec = cat.CHARACTER[character]
        d_code = f"{cat.CITY_CODE}{d_index + 1:02d}"
        pending.append((d_code, spec.district_name, cat.CITY_CODE, d_poly, character))
        street_polys = _voronoi(d_poly, _points_in(d_poly, spec.streets, rng), relax=3)
        street_names = texts.unique_names(
            words, texts.STREET_WORDS[character], len(street_polys), taken_streets, suffix="街道"
        )
        for s_index, s_poly in enumerate(street_polys):
            s_code = f"{d_code}{s_index + 1:02d}"
            s_name = street_names[s_index]
            pending.append((s_code, s_name, d_code, s_poly, character))
            roads = texts.road_names(words, character, 4, taken_roads)
            n_comm = int(np.clip(round(rng.normal(spec.communities_per_street, 0.9)), 3, 9))
            comm_polys = _voronoi(s_poly, _points_in(s_poly, n_comm, rng), relax=2)
            comm_names = []
            for _ in comm_polys:
                suffix = "村" if character == cat.SUBURBAN and words.random() < 0.45 else "社区"
                comm_names += texts.unique_names(
                    words, texts.COMMUNITY_WORDS[character], 1, taken_communities, suffix=suffix
                )
            for c_index, c_poly in enumerate(comm_polys):
                c_code = f"{s_code}{c_index + 1:02d}"
                c_name = comm_names[c_index]
                pending.append((c_code, c_name, s_code, c_poly, character))
                places[c_code] = texts.Place(
                    district=spec.district_name,
                    street=s_name,
                    community=c_name,
                    xiaoqu=tuple(
                        texts.xiaoqu_names(words, character, words.randint(3, 5), taken_xiaoqu)
                    ),
                    roads=(*words.sample(roads, 3), words.choice(roads)),
                    character=character,
                )
                n_grid = int(np.clip(round(rng.normal(spec.grids_per_community, 1.2)), 3, 12))
                grid_polys = _voronoi(c_poly, _points_in(c_poly, n_grid, rng), relax=2)
                for g_index, g_poly in enumerate(grid_polys):
                    g_code = f"{c_code}{g_index + 1:02d}"
                    grid_rows.append((g_code, g_poly, character, c_code, s_code))

    grids = _populate(grid_rows, places, rng)
    by_code = {g.code: g for g in grids}
    # Higher levels sum their cells.
    levels = {2: DISTRICT, 4: STREET, 6: COMMUNITY}
    areas.append(_summed(cat.CITY_CODE, cat.CITY_NAME, CITY, None, outline, "", grids))
    for code, name, parent, poly, character in pending:
        level = levels[len(code) - len(cat.CITY_CODE)]
        cells = [g for g in grids if g.code.startswith(code)]
        areas.append(_summed(code, name, level, parent, poly, character, cells))
    areas.extend(grids)
    areas.sort(key=lambda a: (len(a.code), a.code))

    units = _units(areas, rng)
    categories = _categories()
    facilities = _facilities(areas, by_code, places, rng)
    return City(seed, tuple(areas), categories, units, facilities, places)


def _populate(
    rows: list[tuple[str, Polygon, str, str, str]],
    places: Mapping[str, texts.Place],
    rng: np.random.Generator,
) -> list[AreaRec]:
    """Who lives in each grid cell, with the variation of real cities: districts differ by
    character, communities differ within a district, cells differ within a community."""
    lon0, lat0 = cat.CITY_CENTRE
    community_effect: dict[str, tuple[float, float, float, str]] = {}
    raw: list[float] = []
    for _, poly, character, c_code, _ in rows:
        spec = cat.CHARACTER[character]
        if c_code not in community_effect:
            band = str(rng.choice(["low", "middle", "high"], p=spec.income))
            community_effect[c_code] = (
                float(rng.lognormal(0, 0.35)),  # density
                float(rng.lognormal(0, 0.35)),  # migrants
                float(rng.normal(0, 0.05)),  # elderly share shift
                band,
            )
        c = poly.centroid
        dist = math.hypot(
            (c.x - lon0) / cat.CITY_HALF_SIZE[0], (c.y - lat0) / cat.CITY_HALF_SIZE[1]
        )
        density = spec.density * math.exp(-0.5 * dist) * community_effect[c_code][0]
        raw.append(_km2(poly) * density * float(rng.lognormal(0, 0.25)))
    scale = cat.CITY_POPULATION / sum(raw)
    out: list[AreaRec] = []
    for (code, poly, character, c_code, _), pop_raw in zip(rows, raw, strict=True):
        spec = cat.CHARACTER[character]
        _, mig_eff, old_shift, band = community_effect[c_code]
        population = max(30, round(pop_raw * scale))
        child, _work, old = rng.dirichlet(np.array(spec.ages) * 80)
        old = float(np.clip(old + old_shift, 0.03, 0.6))
        child = float(np.clip(child, 0.03, 0.3))
        pop_children = round(population * child)
        pop_elderly = round(population * old)
        pop_working = population - pop_children - pop_elderly
        migrant = float(np.clip(spec.migrant_share * mig_eff * rng.lognormal(0, 0.15), 0.01, 0.9))
        if rng.random() > 0.75:
            band = str(rng.choice(["low", "middle", "high"], p=spec.income))
        out.append(
            AreaRec(
                code=code,
                name=f"{places[c_code].community}第{int(code[-2:])}网格",
                level=GRID,
                parent=c_code,
                geometry=_geojson(poly),
                character=character,
                population=population,
                pop_children=pop_children,
                pop_working=pop_working,
                pop_elderly=pop_elderly,
                migrant_share=round(migrant, 3),
                income_band=band,
            )
        )
    return out


def _summed(
    code: str,
    name: str,
    level: str,
    parent: str | None,
    poly: Polygon,
    character: str,
    cells: list[AreaRec],
) -> AreaRec:
    population = sum(c.population for c in cells)
    by_band: dict[str, int] = {}
    for c in cells:
        by_band[c.income_band] = by_band.get(c.income_band, 0) + c.population
    band = max(sorted(by_band), key=lambda b: by_band[b]) if by_band else ""
    migrant = sum(c.migrant_share * c.population for c in cells) / population if population else 0
    return AreaRec(
        code=code,
        name=name,
        level=level,
        parent=parent,
        geometry=_geojson(poly),
        character=character,
        population=population,
        pop_children=sum(c.pop_children for c in cells),
        pop_working=sum(c.pop_working for c in cells),
        pop_elderly=sum(c.pop_elderly for c in cells),
        migrant_share=round(migrant, 3),
        income_band=band,
    )


def street_office_code(street_code: str) -> str:
    return "JD" + street_code[len(cat.CITY_CODE) :]


def _units(areas: list[AreaRec], rng: np.random.Generator) -> tuple[UnitRec, ...]:
    street_subs = tuple(s.code for s in cat.SUBS.values() if s.unit == cat.STREET)
    units = [
        UnitRec(
            cat.DISPATCH_CENTRE,
            "12345政务服务便民热线中心",
            DISPATCH,
            (cat.CITY_CODE,),
            (),
            1.0,
            0.0,
        ),
        UnitRec(cat.DATA_BUREAU, "市政务服务和数据管理局", OTHER, (cat.CITY_CODE,), (), 1.0, 0.0),
    ]
    for dept in cat.DEPARTMENTS:
        subs = tuple(s.code for s in cat.SUBS.values() if s.unit == dept.code)
        units.append(
            UnitRec(
                dept.code,
                dept.name,
                DEPARTMENT,
                (cat.CITY_CODE,),
                subs,
                dept.speed,
                dept.satisfaction,
            )
        )
    for street in (a for a in areas if a.level == STREET):
        spec = cat.CHARACTER[street.character]
        units.append(
            UnitRec(
                street_office_code(street.code),
                street.name + "办事处",
                STREET_OFFICE,
                (street.code,),
                street_subs,
                round(spec.office_speed * float(rng.lognormal(0, 0.15)), 3),
                round(spec.office_satisfaction + float(rng.normal(0, 0.2)), 3),
            )
        )
    return tuple(units)


def _categories() -> tuple[CategoryRec, ...]:
    out: list[CategoryRec] = []
    for top in cat.CATALOGUE:
        out.append(
            CategoryRec(top.code, top.name, top.name_en, None, "ordinary", "", f"{top.name}类诉求")
        )
        for s in top.subs:
            out.append(
                CategoryRec(
                    s.code,
                    s.name,
                    s.name_en,
                    top.code,
                    s.urgency,
                    s.keywords,
                    f"{top.name} — {s.name}",
                )
            )
    return tuple(out)


# kind, how many per community (by character), capacity range, name pattern
_FACILITY_COVER = {
    # probability that a community has its own day-care centre / clinic station / activity room
    "elderly_care": {
        cat.OLD_TOWN: 0.85,
        cat.RIVERSIDE: 0.6,
        cat.NEW_TOWN: 0.45,
        cat.INDUSTRIAL: 0.25,
        cat.UNIVERSITY: 0.4,
        cat.SUBURBAN: 0.3,
    },
    "clinic": {
        cat.OLD_TOWN: 0.9,
        cat.RIVERSIDE: 0.75,
        cat.NEW_TOWN: 0.7,
        cat.INDUSTRIAL: 0.35,
        cat.UNIVERSITY: 0.6,
        cat.SUBURBAN: 0.35,
    },
    "culture": {
        cat.OLD_TOWN: 0.6,
        cat.RIVERSIDE: 0.6,
        cat.NEW_TOWN: 0.55,
        cat.INDUSTRIAL: 0.2,
        cat.UNIVERSITY: 0.6,
        cat.SUBURBAN: 0.25,
    },
}


def _facilities(
    areas: list[AreaRec],
    grids: Mapping[str, AreaRec],
    places: Mapping[str, texts.Place],
    rng: np.random.Generator,
) -> tuple[FacilityRec, ...]:
    """Public facilities, placed in cells (weighted by who they serve), with capacities.

    Coverage is deliberately uneven, as in real cities: the old town is well served, the
    development zone and the suburbs are not.
    """
    cells_of: dict[str, list[AreaRec]] = {}
    for g in grids.values():
        cells_of.setdefault(g.code[:-2], []).append(g)
        cells_of.setdefault(g.code[:-4], []).append(g)
    out: list[FacilityRec] = []

    def place(kind: str, name: str, scope: str, weight: str, capacity: int) -> None:
        cells = cells_of[scope]
        w = np.array([float(getattr(c, weight)) + 1.0 for c in cells])
        cell = cells[int(rng.choice(len(cells), p=w / w.sum()))]
        poly = shape(cell.geometry)
        lon, lat = _points_in(poly, 1, rng)[0]
        out.append(FacilityRec(kind, name, float(lat), float(lon), int(capacity), cell.code))

    for street in (a for a in areas if a.level == STREET):
        stem = street.name.removesuffix("街道")
        place(
            "clinic",
            f"{stem}街道社区卫生服务中心",
            street.code,
            "population",
            int(rng.integers(15, 60)) * 10,
        )
        if rng.random() < (0.5 if street.character in (cat.INDUSTRIAL, cat.SUBURBAN) else 0.8):
            place(
                "elderly_care",
                f"{stem}养老服务中心",
                street.code,
                "pop_elderly",
                int(rng.integers(8, 40)) * 10,
            )
        place(
            "culture",
            f"{stem}街道综合文化站",
            street.code,
            "population",
            int(rng.integers(10, 50)) * 10,
        )
        if street.character == cat.INDUSTRIAL or rng.random() < 0.6:
            place(
                "employment",
                f"{stem}街道就业服务站",
                street.code,
                "pop_working",
                int(rng.integers(5, 25)) * 10,
            )
    for community in (a for a in areas if a.level == COMMUNITY):
        stem = community.name.removesuffix("社区").removesuffix("村")
        character = community.character
        if rng.random() < _FACILITY_COVER["elderly_care"][character]:
            place(
                "elderly_care",
                f"{community.name}日间照料中心",
                community.code,
                "pop_elderly",
                int(rng.integers(2, 9)) * 10,
            )
        if rng.random() < _FACILITY_COVER["clinic"][character]:
            place(
                "clinic",
                f"{community.name}卫生服务站",
                community.code,
                "population",
                int(rng.integers(4, 16)) * 10,
            )
        if rng.random() < _FACILITY_COVER["culture"][character]:
            place(
                "culture",
                f"{community.name}文化活动室",
                community.code,
                "population",
                int(rng.integers(3, 13)) * 10,
            )
        # Schools follow children, but the new town's grew slower than its families.
        per_school = 1400 if character != cat.NEW_TOWN else 2200
        for k in range(int(community.pop_children // per_school)):
            kind = ("小学", "幼儿园", "中学", "实验学校")[k % 4]
            place(
                "school",
                f"{stem}{kind}" if k < 4 else f"{stem}第{k // 4 + 1}{kind}",
                community.code,
                "pop_children",
                int(rng.integers(10, 40)) * 60,
            )
    return tuple(out)


# --- a year of cases -----------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a year of cases makes a million of these
class EventRec:
    at: datetime
    kind: str
    from_status: str
    to_status: str
    actor_label: str
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FeedbackRec:
    round: int
    rating: str
    comment: str
    at: datetime


@dataclass(frozen=True)
class ExtensionRec:
    requested_at: datetime
    hours: int
    reason: str
    status: str  # pending / granted / refused
    decided_at: datetime | None
    decision_note: str


@dataclass
class CaseRec:
    external_id: str
    tracking_code: str
    channel: str
    title: str
    text: str
    language: str
    template: str
    reported_category: str | None
    category: str | None
    urgency: str
    lat: float
    lon: float
    address: str
    area: str  # grid cell code
    contact_name: str
    contact_phone: str
    status: str
    unit: str | None
    created_at: datetime
    updated_at: datetime
    dispatched_at: datetime | None = None
    response_due: datetime | None = None
    resolve_due: datetime | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str = ""
    reject_reason: str = ""
    merged_into: str | None = None  # external id of the surviving case
    reopen_count: int = 0
    events: list[EventRec] = field(default_factory=list)
    feedback: list[FeedbackRec] = field(default_factory=list)
    extensions: list[ExtensionRec] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Every field, events and all, as one string (cheaper than ``repr``)."""

        def ts(moment: datetime | None) -> str:
            return "" if moment is None else repr(moment.timestamp())

        head = "\x1f".join(
            str(v)
            for v in (
                self.external_id,
                self.tracking_code,
                self.channel,
                self.title,
                self.text,
                self.language,
                self.template,
                self.reported_category,
                self.category,
                self.urgency,
                repr(self.lat),
                repr(self.lon),
                self.address,
                self.area,
                self.contact_name,
                self.contact_phone,
                self.status,
                self.unit,
                ts(self.created_at),
                ts(self.updated_at),
                ts(self.dispatched_at),
                ts(self.response_due),
                ts(self.resolve_due),
                ts(self.accepted_at),
                ts(self.resolved_at),
                ts(self.closed_at),
                self.resolution,
                self.reject_reason,
                self.merged_into,
                self.reopen_count,
            )
        )
        events = "\x1e".join(
            f"{ts(e.at)}|{e.kind}|{e.from_status}|{e.to_status}|{e.actor_label}|{e.note}|"
            f"{sorted(e.data.items())}"
            for e in self.events
        )
        feedback = "\x1e".join(
            f"{f.round}|{f.rating}|{f.comment}|{ts(f.at)}" for f in self.feedback
        )
        extensions = "\x1e".join(
            f"{ts(x.requested_at)}|{x.hours}|{x.reason}|{x.status}|{ts(x.decided_at)}|"
            f"{x.decision_note}"
            for x in self.extensions
        )
        return f"{head}\x1d{events}\x1d{feedback}\x1d{extensions}\n"


CHANNELS = ("phone", "app", "web", "counter", "assisted")
OPEN = ("submitted", "awaiting_dispatch", "dispatched", "accepted")
IN_HANDS = ("dispatched", "accepted")
# Matters that drag on and are raised again and again.
CHRONIC = frozenset(
    {
        "environment.construction_noise",
        "environment.living_noise",
        "environment.cooking_fumes",
        "construction.illegal_building",
        "transport.parking",
        "labour.wages",
        "construction.heating",
        "construction.property",
        "city.street_vending",
        "environment.industrial",
    }
)
# Matters of working age and of young families: not raised in an old person's voice.
YOUNG = (
    "labour.wages",
    "labour.contracts",
    "labour.jobs",
    "labour.social_insurance",
    "education.",
    "health.vaccination",
    "health.maternity",
    "civil_affairs.marriage",
)
# Matters residents often raise anonymously.
DISCREET = frozenset(
    {
        "public_safety",
        "environment",
        "construction.illegal_building",
        "transport.parking",
        "market.unlicensed",
    }
)

_HOUR_PROFILE = {
    "phone": (
        1,
        1,
        0.5,
        0.5,
        0.5,
        1,
        3,
        8,
        15,
        17,
        17,
        14,
        10,
        11,
        15,
        15,
        14,
        12,
        9,
        8,
        7,
        5,
        3,
        2,
    ),
    "app": (3, 2, 1, 0.5, 0.5, 1, 3, 6, 9, 10, 10, 9, 9, 9, 9, 9, 9, 9, 10, 12, 13, 13, 10, 6),
    "web": (2, 1, 0.5, 0.5, 0.5, 1, 2, 5, 10, 12, 12, 10, 8, 9, 11, 11, 10, 9, 9, 10, 11, 10, 7, 4),
    "counter": (0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 14, 12, 4, 3, 12, 14, 12, 5, 0, 0, 0, 0, 0, 0),
    "assisted": (0, 0, 0, 0, 0, 0, 0, 0, 6, 12, 14, 12, 4, 5, 12, 14, 12, 6, 2, 0, 0, 0, 0, 0),
}
_WEEKDAY = (1.0, 1.0, 0.97, 0.97, 0.93, 0.72, 0.68)
_VOLUME_BY_MONTH = (0.85, 0.8, 0.92, 0.95, 1.0, 1.1, 1.22, 1.2, 1.0, 0.95, 1.0, 1.0)
_ECHO_SHARE = 0.07  # extra calls about an incident already reported


def end_of_history(anchor: date, tz: tzinfo) -> datetime:
    """History ends at the start of the anchor day, so nothing lies in a demo's future."""
    return datetime.combine(anchor, time(0, 0), tzinfo=tz)


@dataclass(frozen=True)
class _Grid:
    code: str
    community: str
    street: str
    character: str
    elderly: float
    children: float
    migrant: float
    income: str
    poly: BaseGeometry
    bounds: tuple[float, float, float, float]


class _Clock:
    """Local-time helpers: people work by the clock on the wall."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz

    def local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self.tz)

    def office(self, ts: float, rnd: random.Random) -> float:
        """The first office moment (8:00–20:00) at or after ``ts``."""
        moment = self.local(ts)
        if 8 <= moment.hour < 20:
            return ts
        day = moment.date() if moment.hour < 8 else moment.date() + timedelta(days=1)
        start = datetime.combine(day, time(8, 0), tzinfo=self.tz).timestamp()
        return start + rnd.expovariate(1 / 2400)


def _lognormal(rnd: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(sigma * rnd.gauss(0, 1))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class _Simulator:
    """Lives one case after another through the lifecycle, ending each at ``end``."""

    def __init__(
        self,
        city: City,
        *,
        seed: int,
        end: datetime,
        sla: Mapping[str, tuple[timedelta, timedelta]],
    ) -> None:
        self.city = city
        self.end = end.timestamp()
        self.sla = {k: (r.total_seconds(), d.total_seconds()) for k, (r, d) in sla.items()}
        self.rnd = random.Random(f"urbangov-demo:{seed}:cases")
        self.clock = _Clock(end.tzinfo or UTC)
        self.units = {u.code: u for u in city.units}
        self.unit_names = {u.code: u.name for u in city.units}
        self.urgency_of = {c.code: c.urgency for c in city.categories}
        self.codes: set[str] = set()
        # external id -> (tracking code, time its first round was resolved or closed, rejected?)
        self.lives: dict[str, tuple[str, float, bool]] = {}

    def tracking_code(self) -> str:
        while True:
            n = self.rnd.randrange(30**10)
            chars = []
            for _ in range(10):
                n, d = divmod(n, 30)
                chars.append(CODE_ALPHABET[d])
            code = f"{''.join(chars[:5])}-{''.join(chars[5:])}"
            if code not in self.codes:
                self.codes.add(code)
                return code

    # who did it: staff labels, not accounts
    def operator(self) -> str:
        return f"op{self.rnd.randint(1, 24):02d}"

    def handler(self, unit: str) -> str:
        return f"{unit.lower()}-{self.rnd.randint(1, 6):02d}"

    def supervisor(self) -> str:
        return f"sup{self.rnd.randint(1, 5):02d}"

    def right_unit(self, sub: cat.Sub, grid: _Grid) -> str:
        return street_office_code(grid.street) if sub.unit == cat.STREET else sub.unit

    def wrong_unit(self, sub: cat.Sub, grid: _Grid) -> str:
        if sub.unit == cat.STREET:
            return cat.FIRST_GUESS[cat.TOP_OF[sub.code].code]
        return street_office_code(grid.street)

    def operator_delay(self, ts: float, urgency: str) -> float:
        rnd = self.rnd
        if urgency == "emergency":
            return ts + rnd.expovariate(1 / 360)
        if rnd.random() < 0.04:
            # Hard to place (疑难工单): whose it is must be worked out first.
            return self.clock.office(ts + _lognormal(rnd, 30 * 3600, 0.8), rnd)
        if 8 <= self.clock.local(ts).hour < 21:
            return ts + min(_lognormal(rnd, 2100, 0.8), 10 * 3600)
        return self.clock.office(ts, rnd)

    def live(
        self,
        index: int,
        created: float,
        grid: _Grid,
        sub: cat.Sub,
        channel: str,
        foreign: bool,
        echo_of: str | None,
    ) -> CaseRec:
        rnd = self.rnd
        place = self.city.places[grid.community]
        elderly_voice = channel in ("phone", "counter", "assisted")
        p_elderly = min(0.55, 1.4 * grid.elderly) if elderly_voice else 0.3 * grid.elderly
        if sub.code.startswith(YOUNG):
            p_elderly = 0.0
        repeat = rnd.random() < (0.13 if sub.code in CHRONIC else 0.04)
        u = rnd.random()
        if u < p_elderly:
            tone = texts.ELDERLY
        elif u < p_elderly + (0.2 if repeat else 0.1):
            tone = texts.ANGRY
        elif u < 0.55:
            tone = texts.POLITE
        else:
            tone = texts.PLAIN
        discreet = sub.code in DISCREET or cat.TOP_OF[sub.code].code in DISCREET
        anonymous = rnd.random() < (0.25 if discreet else 0.08)
        if anonymous:
            name = phone = ""
        else:
            name = (
                texts.foreign_name(rnd)
                if foreign
                else texts.person_name(rnd, elderly=tone == texts.ELDERLY)
            )
            phone = texts.phone_number(rnd)
        written = texts.case_text(
            rnd,
            sub.code,
            place,
            channel=channel,
            tone=tone,
            repeat=repeat,
            foreign=foreign,
            caller=name if not foreign else "",
            phone=phone,
        )
        lon, lat = _point_in(grid.poly, grid.bounds, rnd)
        # Residents who write choose a category, not always the right one.
        reported: str | None = None
        if channel in ("app", "web") and rnd.random() < 0.75:
            v = rnd.random()
            siblings = cat.TOP_OF[sub.code].subs
            if v < 0.8:
                reported = sub.code
            elif v < 0.9:
                reported = rnd.choice(siblings).code
            else:
                reported = cat.TOP_OF[sub.code].code
        reported_urgency = self.urgency_of[reported] if reported else "ordinary"
        ext_id = f"DEMO-{index + 1:06d}"
        rec = CaseRec(
            external_id=ext_id,
            tracking_code=self.tracking_code(),
            channel=channel,
            title=written.title,
            text=written.text,
            language=written.language,
            template=written.template,
            reported_category=reported,
            category=None,
            urgency=reported_urgency,
            lat=float(lat),
            lon=float(lon),
            address=written.address,
            area=grid.code,
            contact_name=name,
            contact_phone=phone,
            status="submitted",
            unit=None,
            created_at=self.clock.local(created),
            updated_at=self.clock.local(created),
        )
        life = _Life(self, rec, created)
        submitter = "resident" if channel in ("app", "web") else self.operator()
        life.event(created, "submit", "submitted", submitter, data={"channel": channel})
        self._run(life, grid, sub, echo_of, anonymous=anonymous, repeat=repeat, foreign=foreign)
        first_done = life.first_done if life.first_done is not None else math.inf
        self.lives[ext_id] = (rec.tracking_code, first_done, rec.status == "rejected")
        return rec

    def _run(  # the lifecycle reads best as one story
        self,
        life: _Life,
        grid: _Grid,
        sub: cat.Sub,
        echo_of: str | None,
        *,
        anonymous: bool,
        repeat: bool,
        foreign: bool,
    ) -> None:
        rnd, rec = self.rnd, life.rec
        t = life.t + rnd.uniform(1, 20)
        if not life.event(t, "triage", "awaiting_dispatch", "system"):
            return
        respond_s, resolve_s = self.sla[sub.code]
        t = self.operator_delay(t, sub.urgency)
        # The operator's first decision: a duplicate, out of scope, or dispatch.
        if echo_of is not None:
            code, primary_done, primary_rejected = self.lives[echo_of]
            if not primary_rejected and t < primary_done and rnd.random() < 0.8:
                if life.event(
                    t,
                    "merge",
                    "merged",
                    self.operator(),
                    note=texts.merge_note(rnd, code),
                    data={"into": code},
                ):
                    rec.merged_into = echo_of
                return
        if rnd.random() < 0.025:
            reason = texts.reject_reason(rnd)
            if life.event(t, "reject", "rejected", self.operator(), note=reason):
                rec.reject_reason = reason
                rec.closed_at = rec.updated_at
            return
        area_factor = (1 + 0.6 * grid.migrant) * {"low": 1.25, "middle": 1.0, "high": 0.92}[
            grid.income
        ]
        right = self.right_unit(sub, grid)
        first_unit = right
        if rnd.random() < (0.14 if sub.ambiguous else 0.04):
            first_unit = self.wrong_unit(sub, grid)
        unit = first_unit
        rounds = 0
        while True:
            # dispatch
            rec.category = sub.code
            rec.urgency = sub.urgency
            due = t + resolve_s
            respond_due = t + respond_s
            note = texts.dispatch_note(rnd, reopened=rounds > 0)
            if not life.event(
                t,
                "dispatch",
                "dispatched",
                self.operator(),
                note=note,
                data={
                    "unit": unit,
                    "unit_name": self.unit_names[unit],
                    "category": sub.code,
                    "urgency": sub.urgency,
                    "resolve_due": datetime.fromtimestamp(due, UTC).isoformat(),
                },
            ):
                return
            rec.unit = unit
            rec.dispatched_at = self.clock.local(t)
            rec.response_due = self.clock.local(respond_due)
            rec.resolve_due = self.clock.local(due)
            rec.accepted_at = None
            u_spec = self.units[unit]
            speed = u_spec.speed * area_factor
            # accept (签收)
            if sub.urgency == "emergency":
                t = t + rnd.expovariate(1 / 300)
            else:
                t = t + _lognormal(rnd, 0.22 * respond_s, 0.9) * u_spec.speed
                if sub.urgency in ("ordinary", "complex"):
                    t = self.clock.office(t, rnd)
            if unit != right:
                # Not ours: sent back, before or after accepting.
                if rnd.random() < 0.25:
                    if not life.event(t, "accept", "accepted", self.handler(unit)):
                        return
                    rec.accepted_at = self.clock.local(t)
                    t += rnd.uniform(1800, 6 * 3600)
                reason = texts.send_back_reason(rnd, self.unit_names[right])
                if not life.event(
                    t,
                    "send_back",
                    "awaiting_dispatch",
                    self.handler(unit),
                    note=reason,
                    data={"unit": unit},
                ):
                    return
                rec.unit = None
                rec.dispatched_at = rec.response_due = rec.resolve_due = rec.accepted_at = None
                t = self.operator_delay(t, sub.urgency)
                unit = right
                continue
            if not life.event(t, "accept", "accepted", self.handler(unit)):
                return
            rec.accepted_at = self.clock.local(t)
            # resolve (办结), later where the unit is slow and the place is poor
            base = 0.3 if sub.urgency != "complex" else 0.35
            resolve_at = t + _lognormal(rnd, base * resolve_s, 0.75) * speed
            if rnd.random() < 0.03 * u_spec.speed:
                # Stuck: waiting on another body, a budget, a contractor. Slow units more so.
                resolve_at = t + (resolve_at - t) * rnd.uniform(3, 8)
            if sub.urgency in ("ordinary", "complex"):
                resolve_at = self.clock.office(resolve_at, rnd)
            if resolve_at > due and sub.urgency in ("ordinary", "complex") and rnd.random() < 0.45:
                ask = t + (due - t) * rnd.uniform(0.4, 0.9)
                hours = int(min(720, max(48, math.ceil((resolve_at - due) / 86400 + 1) * 24)))
                reason = texts.extension_reason(rnd)
                handler = self.handler(unit)
                if not life.event(
                    ask,
                    "request_extension",
                    "accepted",
                    handler,
                    note=reason,
                    data={"hours": hours},
                ):
                    return
                decide = min(ask + rnd.uniform(3600, 30 * 3600), (ask + resolve_at) / 2)
                granted = rnd.random() < 0.75
                if granted:
                    note = texts.grant_note(rnd)
                    new_due = due + hours * 3600
                    ok = life.event(
                        decide,
                        "grant_extension",
                        "accepted",
                        self.supervisor(),
                        note=note,
                        data={
                            "hours": hours,
                            "resolve_due": datetime.fromtimestamp(new_due, UTC).isoformat(),
                        },
                    )
                else:
                    note = texts.refuse_note(rnd)
                    ok = life.event(
                        decide,
                        "refuse_extension",
                        "accepted",
                        self.supervisor(),
                        note=note,
                        data={"hours": hours},
                    )
                if not ok:
                    rec.extensions.append(
                        ExtensionRec(self.clock.local(ask), hours, reason, "pending", None, "")
                    )
                    return
                rec.extensions.append(
                    ExtensionRec(
                        self.clock.local(ask),
                        hours,
                        reason,
                        "granted" if granted else "refused",
                        self.clock.local(decide),
                        note,
                    )
                )
                if granted:
                    due = new_due
                    rec.resolve_due = self.clock.local(due)
            when = self.clock.local(resolve_at)
            answer = texts.resolution(
                rnd,
                sub.code,
                self.city.places[grid.community],
                days=rnd.randint(3, 15),
                when=f"{when.month}月{when.day}日",
            )
            if not life.event(resolve_at, "resolve", "resolved", self.handler(unit), note=answer):
                return
            if life.first_done is None:
                life.first_done = resolve_at
            rec.resolved_at = when
            rec.resolution = answer
            overdue = resolve_at > due
            t = resolve_at
            # the callback and the rating (回访)
            rated = rnd.random() < (0.2 if anonymous else 0.82)
            rate_at = t + _lognormal(rnd, 20 * 3600, 0.8)
            window = 15 * 86400
            if rated and rate_at < t + window:
                logit = (
                    2.8
                    + u_spec.satisfaction
                    - 1.3 * overdue
                    - 1.4 * grid.migrant
                    - 0.5 * (grid.income == "low")
                    - 0.6 * rounds
                    - 0.4 * repeat
                    - 0.3 * (sub.urgency == "complex")
                    + rnd.gauss(0, 0.3)
                )
                v = rnd.random()
                if v < _sigmoid(logit):
                    rating = "basic" if rnd.random() < 0.25 else "satisfied"
                else:
                    rating = "dissatisfied"
                comment = texts.comment(rnd, rating, english=foreign)
                if not life.event(
                    rate_at, "rate", "resolved", "resident", note=comment, data={"rating": rating}
                ):
                    return
                rec.feedback.append(FeedbackRec(rounds, rating, comment, self.clock.local(rate_at)))
                if rating != "dissatisfied":
                    close_at = rate_at + 1
                    if life.event(close_at, "close", "closed", "resident"):
                        rec.closed_at = self.clock.local(close_at)
                    return
                reopen_p = (0.5, 0.25)[rounds] if rounds < 2 else 0.0
                if rnd.random() < reopen_p:
                    reopen_at = min(rate_at + _lognormal(rnd, 4 * 3600, 1.0), t + window - 60)
                    previous = unit
                    if not life.event(
                        reopen_at,
                        "reopen",
                        "awaiting_dispatch",
                        "resident",
                        note=texts.reopen_reason(rnd),
                        data={"previous_unit": previous},
                    ):
                        return
                    rounds += 1
                    rec.reopen_count = rounds
                    rec.unit = None
                    rec.dispatched_at = rec.response_due = rec.resolve_due = None
                    rec.accepted_at = rec.resolved_at = rec.closed_at = None
                    t = self.operator_delay(reopen_at, sub.urgency)
                    continue
            # no rating, or dissatisfied without reopening: closed when the window passes
            close_at = t + window + rnd.uniform(0, 600)
            if life.event(close_at, "close", "closed", "system", note=texts.SYSTEM_CLOSE_NOTE):
                rec.closed_at = self.clock.local(close_at)
            return


class _Life:
    """A case's timeline under construction; refuses anything after the end of history."""

    def __init__(self, sim: _Simulator, rec: CaseRec, created: float) -> None:
        self.sim = sim
        self.tz = sim.clock.tz
        self.rec = rec
        self.t = created
        self.first_done: float | None = None

    def event(
        self,
        ts: float,
        kind: str,
        to_status: str,
        actor: str,
        *,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> bool:
        if ts > self.sim.end:
            return False
        if ts < self.t:
            ts = self.t
        at = datetime.fromtimestamp(ts, self.tz)
        rec = self.rec
        rec.events.append(
            EventRec(
                at,
                kind,
                rec.status if kind != "submit" else "",
                to_status,
                actor,
                note,
                data if data is not None else {},
            )
        )
        rec.status = to_status
        rec.updated_at = at
        self.t = ts
        return True


def _point_in(
    poly: BaseGeometry, bounds: tuple[float, float, float, float], rnd: random.Random
) -> tuple[float, float]:
    """A point (lon, lat) strictly inside a prepared polygon, rounded to about 10 cm."""
    minx, miny, maxx, maxy = bounds
    while True:
        x = round(rnd.uniform(minx, maxx), 6)
        y = round(rnd.uniform(miny, maxy), 6)
        if shapely.contains_xy(poly, x, y):
            return x, y


def _grids(city: City) -> list[_Grid]:
    out = []
    for a in city.by_level(GRID):
        pop = max(a.population, 1)
        poly = shape(a.geometry)
        out.append(
            _Grid(
                code=a.code,
                community=a.code[:-2],
                street=a.code[:-4],
                character=a.character,
                elderly=a.pop_elderly / pop,
                children=a.pop_children / pop,
                migrant=a.migrant_share,
                income=a.income_band,
                poly=poly,
                bounds=tuple(poly.bounds),
            )
        )
    for g in out:
        shapely.prepare(g.poly)
    return out


def _sub_weights(grids: list[_Grid]) -> tuple[list[cat.Sub], np.ndarray, np.ndarray]:
    """Weights of each sub-category by cell (who lives there) and by month (the season)."""
    subs = list(cat.SUBS.values())
    by_cell = np.empty((len(grids), len(subs)))
    for i, g in enumerate(grids):
        for j, s in enumerate(subs):
            w = s.weight * s.affinity.get(g.character, 1.0)
            if s.driver == "elderly":
                w *= g.elderly / 0.2
            elif s.driver == "children":
                w *= g.children / 0.13
            elif s.driver == "migrant":
                w *= (0.2 + g.migrant) / 0.45
            elif s.driver == "low_income":
                w *= {"low": 1.8, "middle": 1.0, "high": 0.4}[g.income]
            by_cell[i, j] = w
    by_month = np.array([s.season for s in subs]).T  # 12 × subs
    return subs, by_cell, by_month


def _channel_probabilities(g: _Grid) -> np.ndarray:
    e = g.elderly - 0.2
    lo, hi = g.income == "low", g.income == "high"
    p = np.array(
        [
            0.46 + 0.9 * e + 0.06 * lo - 0.06 * hi,  # phone
            0.24 - 0.8 * e + 0.08 * hi - 0.05 * lo + 0.1 * (g.character == cat.UNIVERSITY),  # app
            0.13 - 0.3 * e + 0.04 * hi,  # web
            0.07 + 0.35 * e + 0.03 * lo,  # counter
            0.05 + 0.25 * e + 0.04 * (g.character == cat.SUBURBAN) + 0.03 * lo,  # assisted
        ]
    )
    p = np.clip(p, 0.01, None)
    return p / p.sum()


def _pick_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row of ``weights``, each drawn with that row's weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def generate_cases(
    city: City,
    *,
    count: int,
    seed: int,
    end: datetime,
    sla: Mapping[str, tuple[timedelta, timedelta]],
    days: int = 365,
) -> Iterator[CaseRec]:
    """``count`` cases submitted in the ``days`` before ``end``, oldest first, each with its
    timeline as far as it got by ``end``.

    ``sla`` maps each sub-category code to (time to respond, time to resolve), as
    :func:`urbangov.cases.actions.deadlines_for` gives them.
    """
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    rng = np.random.default_rng([seed, 2])
    grids = _grids(city)
    subs, sub_by_cell, sub_by_month = _sub_weights(grids)
    clock = _Clock(end.tzinfo)

    # when: days weighted by weekday and season, then the hour by channel
    start_day = (end - timedelta(days=days)).date()
    day_dates = [start_day + timedelta(days=i) for i in range(days)]
    day_w = np.array([_WEEKDAY[d.weekday()] * _VOLUME_BY_MONTH[d.month - 1] for d in day_dates])
    # where: cells by population and the district's habit of calling
    cell_w = np.array(
        [a.population * cat.CHARACTER[a.character].case_rate for a in city.by_level(GRID)]
    )
    n_echo = int(count * _ECHO_SHARE) if count >= 50 else 0
    n_base = count - n_echo

    cell_idx = rng.choice(len(grids), size=n_base, p=cell_w / cell_w.sum())
    day_idx = rng.choice(days, size=n_base, p=day_w / day_w.sum())
    months = np.array([day_dates[i].month - 1 for i in day_idx])
    sub_idx = np.empty(n_base, dtype=np.int64)
    for lo in range(0, n_base, 20000):
        hi = min(n_base, lo + 20000)
        w = sub_by_cell[cell_idx[lo:hi]] * sub_by_month[months[lo:hi]]
        sub_idx[lo:hi] = _pick_rows(rng, w)

    # echoes: more calls about a clustered incident, from the same community within hours
    cells_by_community: dict[str, list[int]] = {}
    for i, g in enumerate(grids):
        cells_by_community.setdefault(g.community, []).append(i)
    clustered = np.array([subs[j].clustered for j in sub_idx])
    candidates = np.flatnonzero(clustered)
    primary = (
        rng.choice(candidates, size=n_echo)
        if len(candidates) and n_echo
        else np.empty(0, dtype=np.int64)
    )
    n_echo = len(primary)

    foreign_p = np.array([cat.CHARACTER[g.character].foreign_share for g in grids])
    channel_p = np.array([_channel_probabilities(g) for g in grids])
    hour_p = {
        ch: np.array(_HOUR_PROFILE[ch], dtype=float) / sum(_HOUR_PROFILE[ch]) for ch in CHANNELS
    }

    # base cases' moments
    base_cells = cell_idx
    foreign = rng.random(n_base) < foreign_p[base_cells]
    channels = _pick_rows(rng, channel_p[base_cells])
    channels[foreign] = np.where(rng.random(int(foreign.sum())) < 0.6, 1, 2)
    seconds = np.empty(n_base)
    for c_i, ch in enumerate(CHANNELS):
        mask = channels == c_i
        hours = rng.choice(24, size=int(mask.sum()), p=hour_p[ch])
        seconds[mask] = hours * 3600 + rng.uniform(0, 3600, int(mask.sum()))
    day_start = np.array(
        [datetime.combine(d, time(0, 0), tzinfo=clock.tz).timestamp() for d in day_dates]
    )
    created = day_start[day_idx] + seconds

    # echo cases
    e_cells = np.array(
        [int(rng.choice(cells_by_community[grids[base_cells[p]].community])) for p in primary],
        dtype=np.int64,
    )
    e_created = created[primary] + rng.exponential(3 * 3600, n_echo) + 60
    # An echo never falls after the end of history: halve its delay until it fits.
    late = e_created >= end.timestamp()
    e_created[late] = (created[primary][late] + end.timestamp()) / 2
    e_foreign = np.zeros(n_echo, dtype=bool)
    e_channels = _pick_rows(rng, channel_p[e_cells]) if n_echo else np.empty(0, dtype=np.int64)

    all_created = np.concatenate([created, e_created])
    all_cells = np.concatenate([base_cells, e_cells]).astype(np.int64)
    all_subs = np.concatenate([sub_idx, sub_idx[primary]]).astype(np.int64)
    all_channels = np.concatenate([channels, e_channels]).astype(np.int64)
    all_foreign = np.concatenate([foreign, e_foreign])
    echo_of = np.concatenate([np.full(n_base, -1), primary]).astype(np.int64)
    keep = all_created < end.timestamp()
    order = np.lexsort((np.arange(len(all_created)), all_created))
    order = order[keep[order]]
    position = np.empty(len(all_created), dtype=np.int64)
    position[order] = np.arange(len(order))

    sim = _Simulator(city, seed=seed, end=end, sla=sla)
    for index, k in enumerate(order):
        primary_k = int(echo_of[k])
        yield sim.live(
            index,
            float(all_created[k]),
            grids[int(all_cells[k])],
            subs[int(all_subs[k])],
            CHANNELS[int(all_channels[k])],
            bool(all_foreign[k]),
            f"DEMO-{position[primary_k] + 1:06d}" if primary_k >= 0 else None,
        )


# --- fingerprints and summaries --------------------------------------------------------------


def digest(city: City, cases: Iterable[CaseRec] = ()) -> str:
    """A SHA-256 over everything generated: equal digests, equal data."""
    h = hashlib.sha256()
    for part in (city.areas, city.categories, city.units, city.facilities):
        for item in part:
            h.update(repr(item).encode("utf-8"))
    for rec in cases:
        h.update(rec.fingerprint().encode("utf-8"))
    return h.hexdigest()


def point_in_cell(city: City, rec: CaseRec) -> bool:
    return bool(shape(city.area(rec.area).geometry).contains(Point(rec.lon, rec.lat)))
