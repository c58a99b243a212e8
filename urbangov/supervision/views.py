"""Supervision pages: thin views that check filters and permissions, read through
:mod:`urbangov.supervision.queries`, and change things through actions.

Signed-out visitors are sent to sign in; signed-in staff without a supervising role (and a
unit's board for anyone outside the unit) get 404, the same as for a page that does not
exist. Bad filters answer 400 with the reason on the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from urbangov.cases import queries as case_queries
from urbangov.cases.actions import TransitionError, escalate_case
from urbangov.org.models import Area, Category, Level, Unit
from urbangov.supervision import actions, permissions, queries
from urbangov.supervision.evaluation import DEFINITIONS
from urbangov.supervision.models import RATES, Alert, Hotspot, Metric, Notification

METRIC_BY_NAME = {
    "volume": Metric.VOLUME,
    "response": Metric.RESPONSE,
    "resolution": Metric.RESOLUTION,
    "satisfaction": Metric.SATISFACTION,
}
NAME_OF = {v: k for k, v in METRIC_BY_NAME.items()}


def _signed_in(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def supervisor_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Supervisors, analysts and administrators; others 404."""

    @wraps(view)
    @_signed_in
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not permissions.can_supervise(request.user):
            raise Http404("Not a supervising role")
        return view(request, *args, **kwargs)

    return wrapper


def _definitions() -> dict[str, str]:
    return {k: str(v) for k, v in DEFINITIONS.items()}


def _filter_context(request: HttpRequest) -> dict[str, Any]:
    """What the filter form offers: the districts and streets the user may see, units."""
    streets = queries.visible_streets(request.user)
    areas = list(
        Area.objects.filter(level__in=[Level.DISTRICT, Level.STREET])
        .defer("geometry")
        .order_by("path")
    )
    if streets is not None:
        paths = [a.path for a in areas if a.pk in streets]
        areas = [
            a for a in areas if any(p.startswith(a.path) or a.path.startswith(p) for p in paths)
        ]
    return {
        "areas": areas,
        "units": Unit.objects.filter(active=True).order_by("name"),
        "params": request.GET,
        "weights": queries.configured_weights(),
    }


def _bad_filters(
    request: HttpRequest, template: str, error: queries.FilterError, **extra: Any
) -> HttpResponse:
    context = {**_filter_context(request), "filter_errors": error.errors, **extra}
    return render(request, template, context, status=400)


def _rates_context(rates: dict[int, queries.Rate]) -> list[dict[str, Any]]:
    return [
        {
            "metric": m,
            "name": NAME_OF[m],
            "label": Metric(m).label,
            "n": rates[m].n,
            "ok": rates[m].ok,
            "value": rates[m].value,
        }
        for m in RATES
    ]


def _chart(kind: str, **spec: Any) -> dict[str, Any]:
    """What js/charts.js draws (read from a json_script element, so text is escaped)."""
    return {"kind": kind, **spec}


def _category_name(category: Category | None) -> str:
    if category is None:
        return _("(no category)")
    return category.display_name(get_language() or "")


@require_GET
@supervisor_required
def overview(request: HttpRequest) -> HttpResponse:
    """The city at a glance: volume trend, category mix, cases per 10,000 residents by
    street, the three rates and the composite, overdue and due soon."""
    try:
        filters = queries.parse_filters(request.GET)
    except queries.FilterError as exc:
        return _bad_filters(request, "supervision/overview.html", exc)
    data = queries.overview(request.user, filters)
    return render(request, "supervision/overview.html", _overview_context(request, data))


def _overview_context(
    request: HttpRequest, data: queries.Overview, *, unit: Unit | None = None
) -> dict[str, Any]:
    filters = data.filters
    evidence = reverse("supervision:evidence")

    def link(**extra: Any) -> str:
        return f"{evidence}?{filters.query(**extra)}"

    unit_code = unit.code if unit else None
    volume = "response" if unit else "volume"
    trend_rows = []
    for label, d, n in data.trend:
        last = d if data.trend_grain == "day" else queries.next_month(d) - timedelta(days=1)
        part = queries.Period(
            max(d, filters.period.start), min(last, filters.period.last) + timedelta(days=1)
        )
        scoped_filters = queries.Filters(
            part, filters.area, filters.unit, filters.level, filters.weights
        )
        trend_rows.append(
            {
                "label": label,
                "n": n,
                "url": f"{evidence}?" + scoped_filters.query(metric=volume, board=unit_code),
            }
        )
    category_rows = [
        {
            "name": _category_name(c),
            "n": n,
            "share": 100 * n / data.volume if data.volume else 0,
            "url": link(
                metric=volume, category=c.code if c else queries.NO_CATEGORY, board=unit_code
            ),
        }
        for c, n in data.categories
    ]
    street_rows = [
        {
            "name": s["area"].name,
            "code": s["area"].code,
            "cases": s["cases"],
            "population": s["population"],
            "per10k": s["per10k"],
            "url": link(metric=volume, street=s["area"].code, board=unit_code),
        }
        for s in data.streets
    ]
    rates = _rates_context(data.rates)
    for r in rates:
        r["url"] = link(metric=r["name"], board=unit_code)
        r["url_failed"] = link(metric=r["name"], ok="0", board=unit_code)
    busiest = max(
        (s for s in street_rows if s["per10k"] is not None),
        key=lambda s: s["per10k"],
        default=None,
    )
    top_category = category_rows[0] if category_rows else None
    charts = {
        "trend": _chart(
            "line",
            labels=[r["label"] for r in trend_rows],
            values=[r["n"] for r in trend_rows],
            urls=[r["url"] for r in trend_rows],
            series=_("Cases received"),
        ),
        "categories": _chart(
            "bar",
            labels=[r["name"] for r in category_rows],
            values=[r["n"] for r in category_rows],
            urls=[r["url"] for r in category_rows],
            series=_("Cases received"),
            horizontal=True,
        ),
        "rates": _chart(
            "bar",
            labels=[str(r["label"]) for r in rates],
            values=[round(r["value"], 1) if r["value"] is not None else None for r in rates],
            urls=[r["url"] for r in rates],
            series=_("Rate (%)"),
            max=100,
        ),
        "map": _chart(
            "map",
            geojson=reverse("supervision:streets_geojson") + "?" + filters.query(),
            names=[r["code"] for r in street_rows],
            labels=[r["name"] for r in street_rows],
            values=[r["per10k"] for r in street_rows],
            urls=[r["url"] for r in street_rows],
            series=_("Cases per 10,000 residents"),
        ),
    }
    return {
        **_filter_context(request),
        "data": data,
        "filters": filters,
        "trend_rows": trend_rows,
        "category_rows": category_rows,
        "street_rows": street_rows,
        "rates": rates,
        "busiest": busiest,
        "top_category": top_category,
        "charts": charts,
        "definitions": _definitions(),
        "unit": unit,
        "overdue_url": reverse("supervision:overdue") + "?" + filters.query(),
    }


@require_GET
@supervisor_required
def performance(request: HttpRequest) -> HttpResponse:
    """The evaluation table: rates, composite, rank and change since the period before."""
    try:
        filters = queries.parse_filters(request.GET)
    except queries.FilterError as exc:
        return _bad_filters(request, "supervision/performance.html", exc)
    rows = queries.performance(request.user, filters)
    evidence = reverse("supervision:evidence")
    units = {u.code: u for u in Unit.objects.filter(code__in=[r.code for r in rows])}
    key_param = {"unit": "unit", "street": "street", "district": "district"}[filters.level]
    table: list[dict[str, Any]] = []
    for row in rows:
        cells = []
        for m in RATES:
            rate = row.rates[m]
            extra = {key_param: row.code} if row.code else {}
            if filters.level == "unit" and filters.unit is not None:
                extra = {}
            query = (
                filters.query(metric=NAME_OF[m], **extra)
                if key_param != "unit"
                else queries.Filters(
                    filters.period,
                    filters.area,
                    units.get(row.code) or filters.unit,
                    filters.level,
                    filters.weights,
                ).query(metric=NAME_OF[m])
            )
            cells.append({"rate": rate, "url": f"{evidence}?{query}"})
        table.append({"row": row, "cells": cells})
    ranked: list[tuple[queries.Row, list[dict[str, Any]]]] = [
        (t["row"], t["cells"]) for t in table if t["row"].rank is not None
    ]
    chart = _chart(
        "bar",
        labels=[r.name for r, _c in ranked[:30]],
        values=[round(r.composite or 0, 1) for r, _c in ranked[:30]],
        urls=[c[1]["url"] for _r, c in ranked[:30]],
        series=_("Composite score"),
        horizontal=True,
        max=100,
    )
    return render(
        request,
        "supervision/performance.html",
        {
            **_filter_context(request),
            "filters": filters,
            "table": table,
            "chart": chart,
            "definitions": _definitions(),
            "level": filters.level,
            "best": ranked[0][0] if ranked else None,
            "worst": ranked[-1][0] if ranked else None,
        },
    )


def _area_or_error(code: str, errors: dict[str, str], name: str, level: str) -> Area | None:
    if not code:
        return None
    area = Area.objects.filter(code=code, level=level).defer("geometry").first()
    if area is None:
        errors[name] = _("No %(level)s with code %(code)r.") % {
            "level": Level(level).label,
            "code": code,
        }
    return area


@require_GET
@_signed_in
def evidence(request: HttpRequest) -> HttpResponse:
    """The exact cases behind a number on the overview, the evaluation or a unit's board."""
    board_code = request.GET.get("board", "").strip()
    view = None
    board = None
    if board_code:
        board = Unit.objects.filter(code=board_code).first()
        if board is None or not permissions.can_view_unit_board(request.user, board):
            raise Http404("No such board")
        view = queries.View(None, board)
    elif not permissions.can_supervise(request.user):
        raise Http404("Not a supervising role")
    errors: dict[str, str] = {}
    try:
        filters = queries.parse_filters(request.GET)
    except queries.FilterError as exc:
        errors.update(exc.errors)
        filters = None
    metric_name = request.GET.get("metric", "").strip()
    metric = METRIC_BY_NAME.get(metric_name)
    if metric is None:
        errors["metric"] = _("Choose what to list: volume, response, resolution or satisfaction.")
    ok_raw = request.GET.get("ok", "").strip()
    ok = {"": None, "1": True, "0": False}.get(ok_raw, "bad")
    if ok == "bad":
        errors["ok"] = _("ok is 1 (counted as met) or 0 (counted as missed).")
    street = _area_or_error(request.GET.get("street", "").strip(), errors, "street", Level.STREET)
    district = _area_or_error(
        request.GET.get("district", "").strip(), errors, "district", Level.DISTRICT
    )
    category = None
    no_category = request.GET.get("category", "").strip() == queries.NO_CATEGORY
    if request.GET.get("category", "").strip() and not no_category:
        category = Category.objects.filter(code=request.GET["category"].strip()).first()
        if category is None:
            errors["category"] = _("No category with code %(code)r.") % {
                "code": request.GET["category"].strip()
            }
    if errors or filters is None or metric is None:
        return render(
            request,
            "supervision/evidence.html",
            {"filter_errors": errors, "params": request.GET},
            status=400,
        )
    qs = queries.evidence(
        request.user,
        filters,
        metric=metric,
        ok=ok if isinstance(ok, bool) else None,
        street=street,
        district=district,
        category=category,
        no_category=no_category,
        view=view,
    )
    page = Paginator(qs.select_related("unit", "area", "category"), 50).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "supervision/evidence.html",
        {
            "page": page,
            "metric": metric,
            "metric_label": Metric(metric).label,
            "definition": str(DEFINITIONS.get(metric_name, "")),
            "filters": filters,
            "ok": ok,
            "street": street,
            "district": district,
            "category": category,
            "board": board,
            "query": params.urlencode(),
            "params": request.GET,
        },
    )


@require_GET
@supervisor_required
def overdue(request: HttpRequest) -> HttpResponse:
    """Cases past their deadline and due soon, per unit and area, with escalation."""
    try:
        filters = queries.parse_filters(request.GET)
    except queries.FilterError as exc:
        return _bad_filters(request, "supervision/overdue.html", exc)
    hours_raw = request.GET.get("hours", "").strip()
    hours: float | None = None
    if hours_raw:
        try:
            hours = float(hours_raw)
            if not 1 <= hours <= 24 * 30:
                raise ValueError
        except ValueError:
            return _bad_filters(
                request,
                "supervision/overdue.html",
                queries.FilterError({"hours": _("Hours ahead is a number from 1 to 720.")}),
            )
    data = queries.overdue_lists(request.user, filters, hours=hours)
    overdue_page = Paginator(data["overdue"], 50).get_page(request.GET.get("page"))
    return render(
        request,
        "supervision/overdue.html",
        {
            **_filter_context(request),
            "filters": filters,
            "data": data,
            "overdue_page": overdue_page,
            "soon": list(data["soon"][:100]),
            "soon_count": data["soon"].count(),
            "can_escalate_any": permissions.can_create_task(request.user),
        },
    )


def _local_input(value: str) -> datetime | None:
    """A datetime-local input ("2026-03-01T17:00") in the city's time zone."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return parsed


@require_http_methods(["GET", "POST"])
@_signed_in
def escalate(request: HttpRequest, pk: int) -> HttpResponse:
    """The supervisor's formal escalation (督办): a new deadline and a note, on the timeline."""
    case = case_queries.get_for(request.user, pk)
    if not permissions.can_escalate(request.user, case):
        raise Http404("Not allowed to escalate this case")
    errors: dict[str, str] = {}
    default_due = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    values = {"due": default_due, "note": ""}
    status = 200
    if request.method == "POST":
        values = {"due": request.POST.get("due", ""), "note": request.POST.get("note", "")}
        due = _local_input(values["due"])
        if due is None:
            errors["due"] = _("Give the new deadline as a date and time.")
        else:
            try:
                escalate_case(case, actor=request.user, due=due, note=values["note"])
            except TransitionError as exc:
                errors["__all__"] = str(exc)
            except ValidationError as exc:
                for name, msgs in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                    errors[name if name in ("due", "note") else "__all__"] = " ".join(msgs)
            else:
                messages.success(
                    request,
                    _("Case %(code)s is escalated; the unit must resolve it by %(due)s.")
                    % {
                        "code": case.tracking_code,
                        "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M"),
                    },
                )
                return redirect("cases:case_detail", pk=case.pk)
        status = 400
    return render(
        request,
        "supervision/escalate.html",
        {"case": case, "errors": errors, "values": values},
        status=status,
    )


@require_GET
@_signed_in
def unit_board(request: HttpRequest, code: str) -> HttpResponse:
    """A unit's own board: its rates, its cases overdue and due soon, its trend."""
    unit = Unit.objects.filter(code=code).first()
    if unit is None or not permissions.can_view_unit_board(request.user, unit):
        raise Http404("No such board")
    try:
        filters = queries.parse_filters({k: str(v) for k, v in request.GET.items() if k != "unit"})
    except queries.FilterError as exc:
        return _bad_filters(request, "supervision/unit_board.html", exc, unit=unit)
    view = queries.View(None, unit)
    rows = queries.performance(request.user, filters, view)
    data = queries.overview(request.user, filters, view)
    context = _overview_context(request, data, unit=unit)
    context.update(
        {
            "rows": rows,
            "unit": unit,
            "overdue_cases": list(
                queries.Case.objects.filter(unit=unit).overdue().order_by("resolve_due")[:50]
            ),
        }
    )
    return render(request, "supervision/unit_board.html", context)


@require_GET
@supervisor_required
def streets_geojson(request: HttpRequest) -> JsonResponse:
    """The street polygons the user may see, for the overview's map."""
    streets = queries.visible_streets(request.user)
    qs = Area.objects.filter(level=Level.STREET, geometry__isnull=False)
    if streets is not None:
        qs = qs.filter(pk__in=streets)
    features = [
        {"type": "Feature", "properties": {"name": a.code, "label": a.name}, "geometry": a.geometry}
        for a in qs.order_by("path")
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


@require_GET
@supervisor_required
def hotspots(request: HttpRequest) -> HttpResponse:
    """The latest hot-spot run: the clusters on a map and in a table, and the alerts."""
    try:
        filters = queries.parse_filters(request.GET)
    except queries.FilterError as exc:
        return _bad_filters(request, "supervision/hotspots.html", exc)
    run = queries.latest_run()
    found = queries.hotspots_for(request.user, run, filters) if run else []
    alerts = queries.alerts_for(request.user, run) if run else []
    chart = _chart(
        "scatter",
        geojson=reverse("supervision:streets_geojson"),
        points=[
            [h.lon, h.lat, h.heat, h.size] for h in found if h.lat is not None and h.lon is not None
        ],
        labels=[h.label for h in found if h.lat is not None and h.lon is not None],
        urls=[
            reverse("supervision:hotspot", args=[h.pk])
            for h in found
            if h.lat is not None and h.lon is not None
        ],
        series=_("Hot-spots"),
    )
    return render(
        request,
        "supervision/hotspots.html",
        {
            **_filter_context(request),
            "filters": filters,
            "run": run,
            "hotspots": found,
            "alerts": alerts,
            "chart": chart,
            "can_task": permissions.can_create_task(request.user),
            "units": Unit.objects.filter(active=True).order_by("name"),
        },
    )


def _visible_hotspot(request: HttpRequest, pk: int) -> Hotspot:
    hotspot = get_object_or_404(Hotspot.objects.select_related("street", "category"), pk=pk)
    streets = queries.visible_streets(request.user)
    if streets is not None and hotspot.street_id not in streets:
        raise Http404("No such hot-spot")
    return hotspot


@require_GET
@supervisor_required
def hotspot(request: HttpRequest, pk: int) -> HttpResponse:
    found = _visible_hotspot(request, pk)
    cases = queries.hotspot_cases(request.user, found).select_related("area", "unit")
    return render(
        request,
        "supervision/hotspot.html",
        {
            "hotspot": found,
            "cases": cases,
            "can_task": permissions.can_create_task(request.user),
            "units": Unit.objects.filter(active=True).order_by("name"),
            "task": getattr(found, "task_case_id", None),
        },
    )


def _task_from(
    request: HttpRequest, *, hotspot: Hotspot | None = None, alert: Alert | None = None
) -> HttpResponse:
    if not permissions.can_create_task(request.user):
        raise Http404("Not allowed to create tasks")
    unit = Unit.objects.filter(code=request.POST.get("unit", "").strip(), active=True).first()
    title = request.POST.get("title", "").strip()
    text = request.POST.get("text", "").strip()
    back = (
        reverse("supervision:hotspot", args=[hotspot.pk])
        if hotspot
        else reverse("supervision:hotspots")
    )
    if unit is None:
        messages.error(request, _("Choose the unit that should act."))
        return redirect(back)
    default = hotspot.label if hotspot else _("Proactive follow-up of an early-warning alert")
    try:
        task = actions.create_task(
            actor=request.user,
            unit=unit,
            title=(title or _("Proactive: %(label)s") % {"label": default})[:200],
            text=text or default,
            hotspot=hotspot,
            alert=alert,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.success(
        request,
        _("Proactive task %(code)s is dispatched to %(unit)s.")
        % {"code": task.case.tracking_code, "unit": unit.name},
    )
    return redirect("cases:case_detail", pk=task.case_id)


@require_POST
@supervisor_required
def hotspot_task(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_from(request, hotspot=_visible_hotspot(request, pk))


@require_POST
@supervisor_required
def alert_task(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("street", "category"), pk=pk)
    streets = queries.visible_streets(request.user)
    if streets is not None and alert.street_id not in streets:
        raise Http404("No such alert")
    return _task_from(request, alert=alert)


@require_GET
@supervisor_required
def report(request: HttpRequest) -> HttpResponse:
    """The monthly decision-support report, printable."""
    params = {k: str(v) for k, v in request.GET.items()}
    if not any(params.get(k) for k in ("month", "from", "to")):
        previous = queries.today().replace(day=1) - timedelta(days=1)
        params["month"] = previous.strftime("%Y-%m")
    try:
        filters = queries.parse_filters(params)
    except queries.FilterError as exc:
        return _bad_filters(request, "supervision/report.html", exc)
    data = queries.monthly_report(request.user, filters)
    evidence = reverse("supervision:evidence")
    return render(
        request,
        "supervision/report.html",
        {
            **_filter_context(request),
            "report": data,
            "filters": filters,
            "rates": _rates_context(data.overview.rates),
            "previous_rates": _rates_context(data.previous.rates),
            "definitions": _definitions(),
            "evidence": evidence,
            "generated": timezone.now(),
        },
    )


@require_http_methods(["GET", "POST"])
@_signed_in
def notifications(request: HttpRequest) -> HttpResponse:
    """The signed-in staff member's notices; POST marks them read."""
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
        actions.mark_read(actor=request.user, ids=ids or None)  # type: ignore[arg-type]
        return redirect("supervision:notifications")
    notices = Notification.objects.filter(user_id=int(request.user.pk or 0)).select_related("case")[
        :200
    ]
    return render(request, "supervision/notifications.html", {"notices": notices})
