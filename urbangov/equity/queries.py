"""Reads for the equity pages: the city's grid cells and facilities as arrays for
:mod:`urbangov.analytics`, the measures computed from them, and the kept reports and plans.

Case outcomes are read through :func:`urbangov.cases.queries.scoped`, so a supervisor of one
district sees the service-level equity of that district's cases only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from numpy.typing import NDArray
from shapely.geometry import shape

from urbangov.analytics import accessibility, inequality
from urbangov.cases.models import Channel, Feedback, Rating, Status
from urbangov.cases.queries import scoped
from urbangov.equity.models import AccessReport, SitingPlan
from urbangov.org.models import Area, Facility, FacilityKind, IncomeBand, Level

# Who competes for each kind of facility: the grid cells' population column.
DEMAND: dict[str, str] = {
    FacilityKind.ELDERLY_CARE: "pop_elderly",
    FacilityKind.CLINIC: "population",
    FacilityKind.SCHOOL: "pop_children",
    FacilityKind.CULTURE: "population",
    FacilityKind.EMPLOYMENT: "pop_working",
}

# Default catchments in metres, after the "life circles" of China's residential planning
# standard (GB 50180-2018: 5-, 10- and 15-minute walks of about 300, 500 and 1,000 m), widened
# where facilities serve a district rather than a neighbourhood.
THRESHOLD_M: dict[str, float] = {
    FacilityKind.ELDERLY_CARE: 1000.0,
    FacilityKind.CLINIC: 1500.0,
    FacilityKind.SCHOOL: 1000.0,
    FacilityKind.CULTURE: 1500.0,
    FacilityKind.EMPLOYMENT: 3000.0,
}

OFFLINE_CHANNELS = (Channel.PHONE, Channel.COUNTER, Channel.ASSISTED)
LEVEL_DEPTH = {Level.DISTRICT: 2, Level.STREET: 3, Level.COMMUNITY: 4}


def group_labels() -> dict[str, str]:
    return {
        "everyone": _("everyone"),
        "elderly": _("aged 60+"),
        "children": _("aged 0–14"),
        "working_age": _("aged 15–59"),
        "migrants": _("migrant residents"),
        "low_income": _("low-income households"),
    }


def demand_label(field: str) -> str:
    return {
        "population": _("all residents"),
        "pop_elderly": _("residents aged 60+"),
        "pop_children": _("children aged 0–14"),
        "pop_working": _("residents aged 15–59"),
    }.get(field, field)


# --- the grid and the facilities as arrays -----------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """The city's grid cells that have a polygon, with who lives there."""

    ids: NDArray[np.int64]
    codes: list[str]
    names: list[str]
    paths: list[str]
    geometry: list[dict[str, Any]]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    population: NDArray[np.float64]
    pop_children: NDArray[np.float64]
    pop_working: NDArray[np.float64]
    pop_elderly: NDArray[np.float64]
    migrant_share: NDArray[np.float64]
    income_band: list[str]

    def __len__(self) -> int:
        return len(self.codes)

    def column(self, field: str) -> NDArray[np.float64]:
        value = getattr(self, field)
        assert isinstance(value, np.ndarray)
        return value

    def groups(self) -> dict[str, NDArray[np.float64]]:
        """Residents of each group per cell."""
        low = np.array([b == IncomeBand.LOW for b in self.income_band], dtype=np.float64)
        return {
            "elderly": self.pop_elderly,
            "children": self.pop_children,
            "working_age": self.pop_working,
            "migrants": self.population * self.migrant_share,
            "low_income": self.population * low,
        }

    def ancestor(self, depth: int) -> list[str]:
        """Each cell's ancestor code at a depth of the path (2: district, 3: street, …)."""
        out = []
        for path in self.paths:
            parts = path.strip("/").split("/")
            out.append(parts[depth - 1] if len(parts) >= depth else parts[-1])
        return out

    def districts(self) -> list[str]:
        return self.ancestor(LEVEL_DEPTH[Level.DISTRICT])

    def lonlat(self) -> NDArray[np.float64]:
        return np.column_stack([self.lon, self.lat])


def grid() -> Grid:
    rows = list(
        Area.objects.filter(level=Level.GRID, geometry__isnull=False)
        .order_by("path")
        .values_list(
            "id",
            "code",
            "name",
            "path",
            "geometry",
            "population",
            "pop_children",
            "pop_working",
            "pop_elderly",
            "migrant_share",
            "income_band",
        )
    )
    centroids = [shape(r[4]).centroid for r in rows]
    return Grid(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        codes=[r[1] for r in rows],
        names=[r[2] for r in rows],
        paths=[r[3] for r in rows],
        geometry=[r[4] or {} for r in rows],
        lon=np.array([c.x for c in centroids], dtype=np.float64),
        lat=np.array([c.y for c in centroids], dtype=np.float64),
        population=np.array([r[5] for r in rows], dtype=np.float64),
        pop_children=np.array([r[6] for r in rows], dtype=np.float64),
        pop_working=np.array([r[7] for r in rows], dtype=np.float64),
        pop_elderly=np.array([r[8] for r in rows], dtype=np.float64),
        migrant_share=np.array([r[9] for r in rows], dtype=np.float64),
        income_band=[r[10] for r in rows],
    )


@dataclass(frozen=True)
class Facilities:
    ids: NDArray[np.int64]
    names: list[str]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    capacity: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.names)

    def lonlat(self) -> NDArray[np.float64]:
        return np.column_stack([self.lon, self.lat])


def facilities(kind: str) -> Facilities:
    rows = list(
        Facility.objects.filter(kind=kind)
        .order_by("id")
        .values_list("id", "name", "lon", "lat", "capacity")
    )
    return Facilities(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        names=[r[1] for r in rows],
        lon=np.array([r[2] for r in rows], dtype=np.float64),
        lat=np.array([r[3] for r in rows], dtype=np.float64),
        capacity=np.array([r[4] for r in rows], dtype=np.float64),
    )


def area_names(codes: set[str]) -> dict[str, str]:
    return dict(Area.objects.filter(code__in=codes).values_list("code", "name"))


# --- access and its summary --------------------------------------------------------------------


@dataclass(frozen=True)
class AccessResult:
    grid: Grid
    facilities: Facilities
    result: accessibility.Accessibility
    nearest: NDArray[np.float64]  # metres to the nearest facility in reach (inf: none)
    demand: NDArray[np.float64]
    summary: dict[str, Any]


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def compute_access(
    kind: str, *, method: str, decay: str, threshold: float, cells: Grid | None = None
) -> AccessResult:
    """Access of every grid cell to the facilities of ``kind``, and its equity summary."""
    g = cells if cells is not None else grid()
    fac = facilities(kind)
    reach = accessibility.reach_from_points(g.lonlat(), fac.lonlat(), threshold, metric="haversine")
    demand = g.column(DEMAND[kind])
    result = accessibility.accessibility(
        demand,
        fac.capacity,
        reach,
        method=method,  # type: ignore[arg-type]
        decay=decay or "step",  # type: ignore[arg-type]
    )
    summary = summarise(g, result, demand)
    return AccessResult(g, fac, result, reach.nearest(), demand, summary)


def summarise(
    g: Grid, result: accessibility.Accessibility, demand: NDArray[np.float64]
) -> dict[str, Any]:
    """The indices, group gaps, coverage and decompositions kept with a report."""
    access = result.access
    if demand.sum() <= 0:
        return {"population": 0}
    s = inequality.summary(access, demand)
    groups = g.groups()
    gaps = inequality.group_gaps(access, demand, groups, result.in_reach)
    # Each group's people weighted by the kind's demand share in the cell, so that e.g. the
    # elderly's gap for schools is not counted.
    districts = g.districts()
    decomposition = inequality.theil_decomposition(access, districts, demand, kind="T")
    names = area_names(set(districts))
    rank = np.array(
        [{"low": 0, "middle": 1, "high": 2}.get(b, 1) for b in g.income_band], dtype=np.float64
    )
    by_district = []
    for part in decomposition.groups:
        sel = np.array([d == part.label for d in districts])
        pop = float(demand[sel].sum())
        by_district.append(
            {
                "code": part.label,
                "name": names.get(part.label, part.label),
                "population": pop,
                "mean": _finite(part.mean),
                "coverage": _finite(float(demand[sel & result.in_reach].sum() / pop))
                if pop
                else None,
                "theil": _finite(part.index),
            }
        )
    return {
        "population": float(demand.sum()),
        "theil_groups": _group_decompositions(g, access, demand),
        "mean": _finite(s.mean),
        "gini": _finite(s.gini),
        "theil_t": _finite(s.theil_t),
        "theil_l": _finite(s.theil_l),
        "atkinson": {
            "0.5": _finite(s.atkinson_05),
            "1": _finite(s.atkinson_1),
            "2": _finite(s.atkinson_2),
        },
        "zero_share": _finite(s.zero_share),
        "coverage": _finite(float(demand[result.in_reach].sum() / demand.sum())),
        "concentration_income": _finite(inequality.concentration_index(access, rank, demand)),
        "groups": [
            {
                "group": gap.group,
                "people": gap.people,
                "mean": _finite(gap.mean),
                "gap": _finite(gap.gap),
                "relative": _finite(gap.relative),
                "coverage": _finite(gap.coverage),
            }
            for gap in gaps
        ],
        "theil_districts": {
            "total": _finite(decomposition.total),
            "between": _finite(decomposition.between),
            "within": _finite(decomposition.within),
            "between_share": _finite(decomposition.between_share),
        },
        "districts": by_district,
    }


def _group_decompositions(
    g: Grid, access: NDArray[np.float64], demand: NDArray[np.float64]
) -> dict[str, dict[str, float | None]]:
    """Theil T split between and within groups of residents: by the income band of their cell,
    and migrants against everyone else (each cell's residents split by its migrant share)."""
    n = len(g)
    mig = np.clip(g.migrant_share, 0.0, 1.0)
    splits = {
        "income": (access, np.array(g.income_band, dtype=str), demand),
        "migrants": (
            np.concatenate([access, access]),
            np.array(["migrants"] * n + ["others"] * n),
            np.concatenate([demand * mig, demand * (1 - mig)]),
        ),
    }
    out: dict[str, dict[str, float | None]] = {}
    for name, (x, labels, w) in splits.items():
        d = inequality.theil_decomposition(x, labels, w, kind="T")
        out[name] = {
            "total": _finite(d.total),
            "between": _finite(d.between),
            "within": _finite(d.within),
            "between_share": _finite(d.between_share),
        }
    return out


def latest_report(kind: str) -> AccessReport | None:
    return AccessReport.objects.filter(kind=kind).first()


def report_history(kind: str, limit: int = 24) -> list[AccessReport]:
    """The kind's reports, oldest first (for the trend)."""
    return list(reversed(AccessReport.objects.filter(kind=kind)[:limit]))


def report_values(report: AccessReport) -> dict[str, tuple[float, bool, float | None]]:
    """Area code -> (access, in reach, metres to the nearest facility)."""
    return {
        code: (access, in_reach, nearest)
        for code, access, in_reach, nearest in report.values.values_list(
            "area__code", "access", "in_reach", "nearest_m"
        )
    }


def recent_plans(limit: int = 10) -> QuerySet[SitingPlan]:
    return SitingPlan.objects.all()[:limit]


# --- case outcomes -------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRows:
    """The outcomes of the cases a user may see, one array entry per case."""

    area_path: list[str]
    category: list[str]
    channel: list[str]
    created: list[datetime]
    hours: NDArray[np.float64]  # to resolve (nan: not resolved)
    satisfied: NDArray[np.float64]  # 1 satisfied or basically, 0 dissatisfied, nan: unrated
    reopened: NDArray[np.float64]  # for resolved cases; nan otherwise
    overdue: NDArray[np.float64]  # 1 past its deadline (resolved late or still open), nan: none


def case_rows(user: Any, *, days: int = 365, now: datetime | None = None) -> CaseRows:
    now = now or timezone.now()
    qs = (
        scoped(user)
        .filter(created_at__gte=now - timedelta(days=days), area__isnull=False)
        .exclude(status__in=[Status.MERGED, Status.REJECTED])
    )
    rows = list(
        qs.values_list(
            "id",
            "area__path",
            "category__code",
            "reported_category__code",
            "channel",
            "created_at",
            "resolved_at",
            "resolve_due",
            "status",
            "reopen_count",
        )
    )
    ratings: dict[int, tuple[int, str]] = {}
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 5000):
        for case_id, rnd, rating in Feedback.objects.filter(
            case_id__in=ids[start : start + 5000]
        ).values_list("case_id", "round", "rating"):
            if case_id not in ratings or rnd > ratings[case_id][0]:
                ratings[case_id] = (rnd, rating)
    hours: list[float] = []
    satisfied: list[float] = []
    reopened: list[float] = []
    overdue: list[float] = []
    for cid, _path, _cat, _rep, _ch, created, resolved, due, status, reopen_count in rows:
        done = resolved is not None and status in (Status.RESOLVED, Status.CLOSED)
        if resolved is not None and done:
            hours.append(max((resolved - created).total_seconds() / 3600, 1 / 60))
        else:
            hours.append(math.nan)
        rated = ratings.get(cid)
        satisfied.append(
            math.nan if rated is None else float(rated[1] in (Rating.SATISFIED, Rating.BASIC))
        )
        reopened.append(float(reopen_count > 0) if done else math.nan)
        if due is None:
            overdue.append(math.nan)
        elif resolved is not None and done:
            overdue.append(float(resolved > due))
        else:
            overdue.append(float(due < now))
    return CaseRows(
        area_path=[r[1] for r in rows],
        category=[r[2] or r[3] or "" for r in rows],
        channel=[r[4] for r in rows],
        created=[r[5] for r in rows],
        hours=np.array(hours, dtype=np.float64),
        satisfied=np.array(satisfied, dtype=np.float64),
        reopened=np.array(reopened, dtype=np.float64),
        overdue=np.array(overdue, dtype=np.float64),
    )


def _at_depth(path: str, depth: int) -> str:
    parts = path.strip("/").split("/")
    return parts[depth - 1] if len(parts) >= depth else parts[-1]


# Outcomes of service-level equity: (key, attribute of CaseRows, kind of standardisation).
OUTCOMES = (
    ("hours", "hours", "log-mean"),
    ("satisfied", "satisfied", "rate"),
    ("reopened", "reopened", "rate"),
    ("overdue", "overdue", "rate"),
)


def outcome_labels() -> dict[str, str]:
    return {
        "hours": _("time to resolve"),
        "satisfied": _("satisfaction rate"),
        "reopened": _("reopen rate"),
        "overdue": _("overdue rate"),
    }


def cell_groups(cells: Grid) -> dict[str, dict[str, str]]:
    """For each way of grouping areas, each grid cell's group label."""
    mig = cells.migrant_share
    old = np.divide(
        cells.pop_elderly, cells.population, out=np.zeros_like(mig), where=cells.population > 0
    )
    cut_m = np.quantile(mig, [1 / 3, 2 / 3]) if mig.size else [0.0, 0.0]
    cut_o = np.quantile(old, [1 / 3, 2 / 3]) if old.size else [0.0, 0.0]

    def tercile(x: float, cut: Any) -> str:
        return "low" if x <= cut[0] else ("high" if x > cut[1] else "middle")

    return {
        "income": {p: b or "middle" for p, b in zip(cells.paths, cells.income_band, strict=True)},
        "migrants": {p: tercile(float(v), cut_m) for p, v in zip(cells.paths, mig, strict=True)},
        "elderly": {p: tercile(float(v), cut_o) for p, v in zip(cells.paths, old, strict=True)},
    }


def service_equity(
    user: Any, *, by: str = "district", days: int = 365, now: datetime | None = None
) -> dict[str, Any]:
    """Outcomes by area (``by`` = district, street, community) or by area group (income,
    migrants, elderly), standardised for the category mix, with significance."""
    rows = case_rows(user, days=days, now=now)
    if by in ("district", "street", "community"):
        depth = LEVEL_DEPTH[Level(by)]
        labels = [_at_depth(p, depth) for p in rows.area_path]
        names = area_names(set(labels))
    else:
        mapping = cell_groups(grid())[by]
        labels = [mapping.get(p, "middle") for p in rows.area_path]
        names = {"low": _("low"), "middle": _("middle"), "high": _("high")}
    cats = np.array(rows.category)
    lab = np.array(labels)
    table: dict[str, dict[str, Any]] = {}
    for key, attr, kind in OUTCOMES:
        y = getattr(rows, attr)
        keep = ~np.isnan(y) & (cats != "")
        if not np.any(keep):
            continue
        res = inequality.standardise(y[keep], cats[keep], lab[keep], kind=kind)
        for i, label in enumerate(res.labels):
            entry = table.setdefault(label, {"label": label, "name": names.get(label, label)})
            entry[key] = {
                "n": int(res.n[i]),
                "observed": _finite(float(res.observed[i])),
                "expected": _finite(float(res.expected[i])),
                "ratio": _finite(float(res.ratio[i])),
                "z": _finite(float(res.z[i])),
                "q": _finite(float(res.q[i])),
                "significant": bool(res.significant[i]),
                "worse": bool(res.significant[i]) and ((res.ratio[i] > 1) != (key == "satisfied")),
            }
    trend = _monthly_trend(rows, lab, now or timezone.now())
    return {
        "by": by,
        "rows": sorted(table.values(), key=lambda e: str(e["name"])),
        "cases": len(rows.category),
        "trend": trend,
    }


def _monthly_trend(rows: CaseRows, labels: NDArray[Any], now: datetime) -> list[dict[str, Any]]:
    """Per month: each area's (or group's) standardised time-to-resolve ratio."""
    if not rows.created:
        return []
    tz = timezone.get_current_timezone()
    months = np.array([timezone.localtime(c, tz).strftime("%Y-%m") for c in rows.created])
    cats = np.array(rows.category)
    out = []
    for month in sorted(set(months.tolist())):
        sel = (months == month) & ~np.isnan(rows.hours) & (cats != "")
        if np.count_nonzero(sel) < 2:
            continue
        res = inequality.standardise(rows.hours[sel], cats[sel], labels[sel], kind="log-mean")
        out.append(
            {
                "month": month,
                "ratios": {
                    label: _finite(float(r)) for label, r in zip(res.labels, res.ratio, strict=True)
                },
            }
        )
    return out


def digital_divide(
    user: Any, *, level: str = "community", days: int = 365, now: datetime | None = None
) -> dict[str, Any]:
    """The digital-divide index of each area at ``level`` and the areas flagged for outreach."""
    cells = grid()
    depth = LEVEL_DEPTH[Level(level)]
    cell_area = cells.ancestor(depth)
    codes = sorted(set(cell_area))
    index_of = {c: i for i, c in enumerate(codes)}
    n = len(codes)
    pop = np.zeros(n)
    old = np.zeros(n)
    mig = np.zeros(n)
    low = np.zeros(n)
    for i, code in enumerate(cell_area):
        a = index_of[code]
        pop[a] += cells.population[i]
        old[a] += cells.pop_elderly[i]
        mig[a] += cells.population[i] * cells.migrant_share[i]
        low[a] += cells.population[i] if cells.income_band[i] == IncomeBand.LOW else 0.0
    rows = case_rows(user, days=days, now=now)
    total = np.zeros(n)
    offline = np.zeros(n)
    for path, channel in zip(rows.area_path, rows.channel, strict=True):
        code = _at_depth(path, depth)
        if code in index_of:
            total[index_of[code]] += 1
            offline[index_of[code]] += channel in OFFLINE_CHANNELS
    safe = np.where(pop > 0, pop, 1)
    result = inequality.digital_divide(
        elderly_share=old / safe,
        migrant_share=mig / safe,
        low_income_share=low / safe,
        offline_cases=offline,
        cases=total,
        population=pop,
    )
    names = area_names(set(codes))
    areas: list[dict[str, Any]] = []
    for i, code in enumerate(codes):
        areas.append(
            {
                "code": code,
                "name": names.get(code, code),
                "population": int(pop[i]),
                "elderly": float(old[i] / safe[i]),
                "migrants": float(mig[i] / safe[i]),
                "low_income": float(low[i] / safe[i]),
                "cases": int(total[i]),
                "offline_share": _finite(float(result.offline_share[i])),
                "offline_z": _finite(float(result.offline_z[i])),
                "index": float(result.index[i]),
                "flagged": bool(result.flagged[i]),
            }
        )
    areas.sort(key=lambda a: -float(a["index"]))
    return {
        "level": level,
        "areas": areas,
        "city_offline_share": _finite(result.city_offline_share),
        "threshold": result.threshold,
        "flagged": sum(1 for a in areas if a["flagged"]),
    }
