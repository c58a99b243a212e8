"""Reads for supervision: filters checked with clear messages, the overview, the evaluation
table, the cases behind every number, overdue lists, a unit's board, hot-spots and the
monthly report. Numbers come from the rollups (never a scan of cases), within the reader's
scope: city-wide supervisors and analysts see the whole city, others the streets their
units answer for; a unit's staff see their own unit's board."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov.cases.models import Case, CaseQuerySet
from urbangov.cases.queries import scoped
from urbangov.org.models import Area, Category, Level, Unit
from urbangov.org.queries import scope_of
from urbangov.supervision.models import (
    RATES,
    Grain,
    Hotspot,
    HotspotRun,
    Item,
    Metric,
    ProactiveTask,
    Rollup,
)
from urbangov.supervision.permissions import SUPERVISE_ROLES

# --- filters -----------------------------------------------------------------------------------


class FilterError(ValueError):
    """Filters that cannot be used: ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(" ".join(errors.values()))


class WeightsError(ValueError):
    pass


@dataclass(frozen=True)
class Weights:
    response: int = 30
    resolution: int = 35
    satisfaction: int = 35

    def of(self, metric: int) -> int:
        by_metric: dict[int, int] = {
            Metric.RESPONSE: self.response,
            Metric.RESOLUTION: self.resolution,
            Metric.SATISFACTION: self.satisfaction,
        }
        return by_metric[metric]


def weights_from(values: list[str] | tuple[str, ...] | list[int]) -> Weights:
    """Three whole percentages (response, resolution, satisfaction) that add up to 100."""
    if len(values) != 3:
        raise WeightsError(_("Give three weights: response, resolution and satisfaction."))
    try:
        numbers = [int(str(v).strip()) for v in values]
    except ValueError:
        raise WeightsError(_("Weights are whole numbers from 0 to 100.")) from None
    if any(not 0 <= n <= 100 for n in numbers):
        raise WeightsError(_("Weights are whole numbers from 0 to 100."))
    if sum(numbers) != 100:
        raise WeightsError(
            _("The weights add up to %(sum)d; they must add up to 100.") % {"sum": sum(numbers)}
        )
    return Weights(*numbers)


def configured_weights() -> Weights:
    """The city's weights (``URBANGOV_SCORE_WEIGHTS``, default 30,35,35)."""
    raw = settings.URBANGOV.get("SCORE_WEIGHTS", (30, 35, 35))
    try:
        return weights_from(list(raw))
    except WeightsError as exc:
        raise WeightsError(_("URBANGOV_SCORE_WEIGHTS: %(error)s") % {"error": exc}) from None


@dataclass(frozen=True)
class Period:
    """Days from ``start`` up to, not including, ``end`` (city time)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == next_month(self.start)

    def previous(self) -> Period:
        if self.is_month():
            prev = (self.start - timedelta(days=1)).replace(day=1)
            return Period(prev, self.start)
        return Period(self.start - timedelta(days=self.days), self.start)

    def label(self) -> str:
        if self.is_month():
            return self.start.strftime("%Y-%m")
        return f"{self.start.isoformat()} – {self.last.isoformat()}"

    def bounds(self) -> tuple[datetime, datetime]:
        tz = ZoneInfo(settings.TIME_ZONE)
        return (
            datetime.combine(self.start, time(0), tzinfo=tz),
            datetime.combine(self.end, time(0), tzinfo=tz),
        )


def next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


LEVELS = ("unit", "street", "district")
# the category code that stands for "counted without a category" in links
NO_CATEGORY = "-"
# No evaluation over more than this: a longer range is almost surely a typing mistake.
MAX_DAYS = 366 * 3
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Filters:
    period: Period
    area: Area | None = None
    unit: Unit | None = None
    level: str = "unit"
    weights: Weights = field(default_factory=Weights)

    def query(self, **extra: Any) -> str:
        """These filters as a query string (for links that keep them)."""
        from urllib.parse import urlencode

        params: dict[str, Any] = {}
        if self.period.is_month():
            params["month"] = self.period.start.strftime("%Y-%m")
        else:
            params["from"] = self.period.start.isoformat()
            params["to"] = self.period.last.isoformat()
        if self.area is not None:
            params["area"] = self.area.code
        if self.unit is not None:
            params["unit"] = self.unit.code
        if self.weights != Weights():
            params["w"] = (
                f"{self.weights.response},{self.weights.resolution},{self.weights.satisfaction}"
            )
        params.update({k: v for k, v in extra.items() if v is not None and v != ""})
        return urlencode(params)


def today() -> date:
    return timezone.localdate(timezone.now(), ZoneInfo(settings.TIME_ZONE))


def _date(value: str, field_name: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[field_name] = _("%(value)r is not a date (YYYY-MM-DD).") % {"value": value}
        return None


def parse_filters(params: Mapping[str, str], *, now: date | None = None) -> Filters:
    """Filters from a page's or the API's query; a :class:`FilterError` says what is wrong."""
    current = now or today()
    errors: dict[str, str] = {}
    month, start_s, end_s = (params.get(k, "").strip() for k in ("month", "from", "to"))
    period: Period | None = None
    if month and (start_s or end_s):
        errors["month"] = _("Give either a month or a date range, not both.")
    elif month:
        try:
            year, mon = (int(p) for p in month.split("-"))
            start = date(year, mon, 1)
            period = Period(start, next_month(start))
        except ValueError:
            errors["month"] = _("%(value)r is not a month (YYYY-MM).") % {"value": month}
    elif start_s or end_s:
        if not (start_s and end_s):
            errors["from"] = _("Give both the first and the last day of the range.")
        else:
            start_d = _date(start_s, "from", errors)
            end_d = _date(end_s, "to", errors)
            if start_d and end_d:
                if end_d < start_d:
                    errors["to"] = _("The range ends (%(end)s) before it starts (%(start)s).") % {
                        "end": end_d.isoformat(),
                        "start": start_d.isoformat(),
                    }
                else:
                    period = Period(start_d, end_d + timedelta(days=1))
    else:
        start = current.replace(day=1)
        period = Period(start, next_month(start))
    if period is not None:
        if period.start < EARLIEST or period.start > current + timedelta(days=366):
            errors["from" if not month else "month"] = _(
                "The period must start between %(first)s and a year from today."
            ) % {"first": EARLIEST.isoformat()}
        elif period.days > MAX_DAYS:
            errors["to"] = _("The range is %(n)d days long; at most %(max)d are allowed.") % {
                "n": period.days,
                "max": MAX_DAYS,
            }
    area = None
    if params.get("area", "").strip():
        code = params["area"].strip()
        area = Area.objects.filter(code=code).defer("geometry").first()
        if area is None:
            errors["area"] = _("No area with code %(code)r.") % {"code": code}
        elif area.level not in (Level.CITY, Level.DISTRICT, Level.STREET):
            errors["area"] = _(
                "The evaluation is by district or street; %(name)s is a %(level)s."
            ) % {
                "name": area.name,
                "level": area.get_level_display(),
            }
        elif area.level == Level.CITY:
            area = None
    unit = None
    if params.get("unit", "").strip():
        code = params["unit"].strip()
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            errors["unit"] = _("No handling unit with code %(code)r.") % {"code": code}
    level = params.get("level", "").strip() or "unit"
    if level not in LEVELS:
        errors["level"] = _("Rank by unit, street or district, not %(value)r.") % {"value": level}
    weights = configured_weights()
    if params.get("w", "").strip():
        try:
            weights = weights_from(params["w"].split(","))
        except WeightsError as exc:
            errors["w"] = str(exc)
    if errors:
        raise FilterError(errors)
    assert period is not None
    return Filters(period=period, area=area, unit=unit, level=level, weights=weights)


# --- scope -------------------------------------------------------------------------------------


def visible_streets(user: Any) -> set[int] | None:
    """The streets whose numbers the user may see: None for the whole city (unlocated cases
    included). A supervisor or analyst of a district sees the streets inside it."""
    scope = scope_of(user)
    if scope.is_citywide(*SUPERVISE_ROLES):
        return None
    paths = scope.paths(*SUPERVISE_ROLES)
    if not paths:
        return set()
    q = Q()
    for p in paths:
        q |= Q(path__startswith=p)
    return set(Area.objects.filter(q, level=Level.STREET).values_list("pk", flat=True))


@dataclass(frozen=True)
class View:
    """Whose numbers: the reader's visible streets (None = all), or one unit's own board."""

    streets: set[int] | None
    unit: Unit | None = None


def view_for(user: Any) -> View:
    return View(visible_streets(user))


# --- rollup reads ------------------------------------------------------------------------------


def _range_q(period: Period) -> Q:
    """Rows covering ``period``: whole months from the monthly rollups, the rest by day."""
    first_full = period.start if period.start.day == 1 else next_month(period.start)
    months = []
    m = first_full
    while next_month(m) <= period.end:
        months.append(m)
        m = next_month(m)
    if not months:
        return Q(grain=Grain.DAY, day__gte=period.start, day__lt=period.end)
    tail = next_month(months[-1])
    q = Q(grain=Grain.MONTH, day__in=months)
    if period.start < first_full:
        q |= Q(grain=Grain.DAY, day__gte=period.start, day__lt=first_full)
    if tail < period.end:
        q |= Q(grain=Grain.DAY, day__gte=tail, day__lt=period.end)
    return q


def _scope_q(view: View, filters: Filters) -> Q:
    q = Q()
    if view.streets is not None:
        q &= Q(street_id__in=view.streets)
    if view.unit is not None:
        q &= Q(unit_id=view.unit.pk)
    area = filters.area
    if area is not None:
        q &= Q(street_id=area.pk) if area.level == Level.STREET else Q(district_id=area.pk)
    if filters.unit is not None:
        q &= Q(unit_id=filters.unit.pk)
    return q


def rollups(
    view: View, filters: Filters, metrics: tuple[int, ...], period: Period | None = None
) -> QuerySet[Rollup]:
    return Rollup.objects.filter(
        _range_q(period or filters.period), _scope_q(view, filters), metric__in=metrics
    )


@dataclass
class Rate:
    n: int = 0
    ok: int = 0

    @property
    def value(self) -> float | None:
        return 100.0 * self.ok / self.n if self.n else None

    @property
    def missed(self) -> int:
        return self.n - self.ok


def composite(rates: Mapping[int, Rate], weights: Weights) -> float | None:
    """Σ weight × rate ÷ 100, only when all three rates have cases."""
    values = [rates.get(m, Rate()).value for m in RATES]
    if any(v is None for v in values):
        return None
    return sum(weights.of(m) * v for m, v in zip(RATES, values, strict=True) if v is not None) / 100


def _rates(qs: QuerySet[Rollup], by: str | None = None) -> dict[Any, dict[int, Rate]]:
    fields = ["metric", *([by] if by else [])]
    out: dict[Any, dict[int, Rate]] = defaultdict(dict)
    for row in qs.values(*fields).annotate(total=Sum("n"), good=Sum("ok")):
        key = row[by] if by else None
        out[key][row["metric"]] = Rate(int(row["total"] or 0), int(row["good"] or 0))
    return out


# --- the overview ------------------------------------------------------------------------------


@dataclass
class Overview:
    filters: Filters
    volume: int
    rates: dict[int, Rate]
    composite: float | None
    trend: list[tuple[str, date, int]]  # label, first day, cases
    trend_grain: str  # "day" or "month"
    categories: list[tuple[Category | None, int]]
    streets: list[dict[str, Any]]
    overdue: int
    due_soon: int
    # The reminder window due_soon counts (hours; the city's REMINDER_HOURS).
    due_hours: int = 24


def _cases_for(user: Any, view: View, filters: Filters) -> CaseQuerySet:
    qs = scoped(user) if view.unit is None else Case.objects.filter(unit=view.unit)
    if filters.area is not None:
        qs = qs.in_area(filters.area)
    if filters.unit is not None:
        qs = qs.filter(unit=filters.unit)
    return qs


def overview(user: Any, filters: Filters, view: View | None = None) -> Overview:
    view = view or view_for(user)
    # A unit's board counts the dispatches it received (volume rows carry no unit).
    metric = Metric.RESPONSE if view.unit else Metric.VOLUME
    base = rollups(view, filters, (metric,))
    monthly = filters.period.days > 92
    # Each breakdown summed by the database: a month of a big city is thousands of rows.
    if monthly:
        by_day: dict[date, int] = defaultdict(int)
        for r in base.values("day").annotate(total=Sum("n")):
            by_day[r["day"].replace(day=1)] += int(r["total"])
    else:
        daily = Rollup.objects.filter(
            _scope_q(view, filters),
            grain=Grain.DAY,
            metric=metric,
            day__gte=filters.period.start,
            day__lt=filters.period.end,
        )
        by_day = {r["day"]: int(r["total"]) for r in daily.values("day").annotate(total=Sum("n"))}
    by_category = {
        r["category_id"]: int(r["total"])
        for r in base.values("category_id").annotate(total=Sum("n"))
    }
    by_street = {
        r["street_id"]: int(r["total"]) for r in base.values("street_id").annotate(total=Sum("n"))
    }
    volume = sum(by_category.values())
    trend: list[tuple[str, date, int]] = []
    d = filters.period.start.replace(day=1) if monthly else filters.period.start
    while d < filters.period.end:
        trend.append((d.strftime("%Y-%m") if monthly else d.isoformat(), d, by_day.get(d, 0)))
        d = next_month(d) if monthly else d + timedelta(days=1)
    cats = {c.pk: c for c in Category.objects.filter(pk__in=[k for k in by_category if k])}
    categories = sorted(
        ((cats.get(k) if k else None, n) for k, n in by_category.items()), key=lambda x: -x[1]
    )
    street_filter = Q(level=Level.STREET)
    if view.streets is not None:
        street_filter &= Q(pk__in=view.streets)
    if filters.area is not None:
        street_filter &= Q(path__startswith=filters.area.path)
    streets = []
    for s in Area.objects.filter(street_filter).defer("geometry").order_by("path"):
        n = by_street.get(s.pk, 0)
        streets.append(
            {
                "area": s,
                "cases": n,
                "population": s.population,
                "per10k": round(10000 * n / s.population, 2) if s.population else None,
            }
        )
    rates = _rates(rollups(view, filters, RATES)).get(None, {})
    now = timezone.now()
    cases = _cases_for(user, view, filters)
    due_hours = int(settings.URBANGOV.get("REMINDER_HOURS", 24))
    return Overview(
        filters=filters,
        volume=volume,
        rates={m: rates.get(m, Rate()) for m in RATES},
        composite=composite(rates, filters.weights),
        trend=trend,
        trend_grain="month" if monthly else "day",
        categories=categories,
        streets=streets,
        overdue=cases.overdue(now).count(),
        due_soon=cases.due_within(due_hours, now).count(),
        due_hours=due_hours,
    )


# --- the evaluation table ----------------------------------------------------------------------


@dataclass
class Row:
    key: int | None
    name: str
    code: str
    rates: dict[int, Rate]
    composite: float | None
    rank: int | None = None
    previous: float | None = None

    @property
    def change(self) -> float | None:
        if self.composite is None or self.previous is None:
            return None
        return self.composite - self.previous


def _names(level: str, keys: set[Any]) -> dict[Any, tuple[str, str]]:
    ids = [k for k in keys if k is not None]
    if level == "unit":
        return {u.pk: (u.name, u.code) for u in Unit.objects.filter(pk__in=ids)}
    return {a.pk: (a.name, a.code) for a in Area.objects.filter(pk__in=ids).only("name", "code")}


def performance(user: Any, filters: Filters, view: View | None = None) -> list[Row]:
    """One row per unit, street or district (``filters.level``) with the three rates, the
    composite, its rank and the composite of the period before."""
    view = view or view_for(user)
    by = {"unit": "unit_id", "street": "street_id", "district": "district_id"}[filters.level]
    now_rates = _rates(rollups(view, filters, RATES), by)
    before = _rates(rollups(view, filters, RATES, filters.period.previous()), by)
    names = _names(filters.level, set(now_rates) | set(before))
    rows = []
    for key, rates in now_rates.items():
        name, code = names.get(
            key, (_("(no unit)") if filters.level == "unit" else _("(not located)"), "")
        )
        rows.append(
            Row(
                key=key,
                name=name,
                code=code,
                rates={m: rates.get(m, Rate()) for m in RATES},
                composite=composite(rates, filters.weights),
                previous=composite(before.get(key, {}), filters.weights),
            )
        )
    ranked = sorted((r for r in rows if r.composite is not None), key=lambda r: -(r.composite or 0))
    rank = 0
    last: float | None = None
    for position, r in enumerate(ranked, start=1):
        if r.composite != last:
            rank, last = position, r.composite
        r.rank = rank
    unranked = sorted((r for r in rows if r.composite is None), key=lambda r: r.name)
    return ranked + unranked


# --- the cases behind a number ------------------------------------------------------------------


def evidence(
    user: Any,
    filters: Filters,
    *,
    metric: int,
    ok: bool | None = None,
    street: Area | None = None,
    district: Area | None = None,
    category: Category | None = None,
    no_category: bool = False,
    day: date | None = None,
    view: View | None = None,
) -> CaseQuerySet:
    """Exactly the cases counted in a number the pages show (the same filters, the same
    scope), newest first. ``no_category``: only those counted without a category."""
    view = view or view_for(user)
    q = Q(metric=metric, day__gte=filters.period.start, day__lt=filters.period.end)
    if day is not None:
        q &= Q(day=day)
    if view.streets is not None:
        q &= Q(street_id__in=view.streets)
    if view.unit is not None:
        q &= Q(unit_id=view.unit.pk)
    if filters.area is not None:
        q &= (
            Q(street_id=filters.area.pk)
            if filters.area.level == Level.STREET
            else Q(district_id=filters.area.pk)
        )
    if filters.unit is not None:
        q &= Q(unit_id=filters.unit.pk)
    if street is not None:
        q &= Q(street_id=street.pk)
    if district is not None:
        q &= Q(district_id=district.pk)
    if category is not None:
        q &= Q(category_id=category.pk)
    elif no_category:
        q &= Q(category_id__isnull=True)
    if ok is not None:
        q &= Q(ok=ok)
    ids = Item.objects.filter(q).values("case_id")
    return Case.objects.filter(pk__in=ids).order_by("-created_at", "-id")


# --- overdue and due soon ----------------------------------------------------------------------


def overdue_lists(user: Any, filters: Filters, *, hours: float | None = None) -> dict[str, Any]:
    """The cases past their deadline and those due within ``hours``, with counts per unit
    and per street, within the user's scope."""
    now = timezone.now()
    hours = hours if hours is not None else settings.URBANGOV.get("REMINDER_HOURS", 24)
    cases = _cases_for(user, View(None), filters).select_related("unit", "area", "category")
    overdue = cases.overdue(now).order_by("resolve_due", "id")
    soon = cases.due_within(hours, now).order_by("resolve_due", "id")
    per_unit: dict[str, int] = defaultdict(int)
    for name, n in overdue.order_by().values_list("unit__name").annotate(n=Count("id")):
        per_unit[name or "—"] += int(n)
    # per street: a case's area is a grid cell (or any level); its street is the street
    # whose path is a prefix of the area's path
    by_area = dict(overdue.order_by().values_list("area_id").annotate(n=Count("id")))
    paths = dict(
        Area.objects.filter(pk__in=[a for a in by_area if a is not None]).values_list("pk", "path")
    )
    streets = list(Area.objects.filter(level=Level.STREET).values_list("path", "name"))
    per_street: dict[str, int] = defaultdict(int)
    for area_id, n in by_area.items():
        path = paths.get(area_id, "")
        name = next((s_name for s_path, s_name in streets if path.startswith(s_path)), "—")
        per_street[name] += int(n)
    return {
        "overdue": overdue,
        "soon": soon,
        "hours": hours,
        "per_unit": sorted(per_unit.items(), key=lambda x: -x[1]),
        "per_street": sorted(per_street.items(), key=lambda x: (-x[1], x[0])),
        "now": now,
    }


# --- hot-spots ---------------------------------------------------------------------------------


def latest_run() -> HotspotRun | None:
    return HotspotRun.objects.filter(finished_at__isnull=False).first()


def hotspots_for(user: Any, run: HotspotRun, filters: Filters | None = None) -> list[Hotspot]:
    """The run's hot-spots in the user's streets (a city-wide reader sees all)."""
    streets = visible_streets(user)
    qs = run.hotspots.select_related("street", "category", "representative")
    if streets is not None:
        qs = qs.filter(street_id__in=streets)
    if filters is not None and filters.area is not None:
        if filters.area.level == Level.STREET:
            qs = qs.filter(street=filters.area)
        else:
            qs = qs.filter(street__path__startswith=filters.area.path)
    found = list(qs.order_by("rank"))
    tasks = dict(
        ProactiveTask.objects.filter(hotspot__in=[h.pk for h in found]).values_list(
            "hotspot_id", "case_id"
        )
    )
    for h in found:
        h.task_case_id = tasks.get(h.pk)  # type: ignore[attr-defined]
    return found


def alerts_for(user: Any, run: HotspotRun) -> list[Any]:
    streets = visible_streets(user)
    qs = run.alerts.select_related("street", "category")
    if streets is not None:
        qs = qs.filter(street_id__in=streets)
    found = list(qs)
    tasks = dict(
        ProactiveTask.objects.filter(alert__in=[a.pk for a in found]).values_list(
            "alert_id", "case_id"
        )
    )
    for a in found:
        a.task_case_id = tasks.get(a.pk)  # type: ignore[attr-defined]
    return found


def hotspot_cases(user: Any, hotspot: Hotspot) -> CaseQuerySet:
    """The hot-spot's cases the user may see."""
    return scoped(user, Case.objects.filter(pk__in=list(hotspot.members))).order_by("created_at")


# --- the monthly report ------------------------------------------------------------------------


@dataclass
class Report:
    filters: Filters
    overview: Overview
    previous: Overview
    units: list[Row]
    lagging: list[Row]
    worst_areas: list[Row]
    hotspots: list[Hotspot]
    alerts: list[Any]
    run: HotspotRun | None


def monthly_report(user: Any, filters: Filters) -> Report:
    """What the month's report lists: the top problems (hot-spots and alerts), the
    worst-served streets, the units falling behind (lowest composite, or falling most since
    the month before), with the numbers behind each."""
    prev_filters = Filters(
        period=filters.period.previous(),
        area=filters.area,
        unit=filters.unit,
        level="unit",
        weights=filters.weights,
    )
    units = performance(
        user, Filters(filters.period, filters.area, filters.unit, "unit", filters.weights)
    )
    streets = performance(
        user, Filters(filters.period, filters.area, filters.unit, "street", filters.weights)
    )
    ranked = [r for r in units if r.composite is not None]
    falling = sorted(
        (r for r in ranked if r.change is not None and r.change < 0), key=lambda r: r.change or 0
    )
    lagging: list[Row] = []
    for r in [*ranked[::-1][:5], *falling[:5]]:
        if r not in lagging:
            lagging.append(r)
    worst = [r for r in streets if r.composite is not None][::-1][:5]
    run = latest_run()
    return Report(
        filters=filters,
        overview=overview(user, filters),
        previous=overview(user, prev_filters),
        units=ranked,
        lagging=lagging,
        worst_areas=worst,
        hotspots=hotspots_for(user, run, filters)[:10] if run else [],
        alerts=alerts_for(user, run)[:10] if run else [],
        run=run,
    )
