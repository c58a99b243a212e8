"""The equity pages: access reports per facility kind with a map, group gaps and trend; the
digital divide; service-level equity; the siting tool. Analysts, supervisors and
administrators only — everyone else gets 404. Every form works without JavaScript.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from urbangov.equity import actions, maps, permissions, queries
from urbangov.equity.forms import DigitalForm, ReportForm, ServiceForm, SitingForm
from urbangov.equity.models import AccessReport, Method, Objective, SitingPlan
from urbangov.org.models import Area, FacilityKind, Level


def equity_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-in analysts, supervisors and administrators; others sign in first, or get 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not permissions.can_view(request.user):
            raise Http404("Not an equity page for this user")
        return view(request, *args, **kwargs)

    return wrapper


def _kind_or_404(kind: str) -> str:
    if kind not in FacilityKind.values:
        raise Http404("No such facility kind")
    return kind


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


# --- overview ------------------------------------------------------------------------------


@require_GET
@equity_required
def index(request: HttpRequest) -> HttpResponse:
    kinds = []
    labels = queries.group_labels()
    for value, label in FacilityKind.choices:
        report = queries.latest_report(value)
        gaps = [
            g
            for g in (report.summary.get("groups", []) if report else [])
            if g["relative"] is not None
        ]
        worst = min(gaps, key=lambda g: g["relative"]) if gaps else None
        kinds.append(
            {
                "kind": value,
                "label": label,
                "report": report,
                "worst": labels.get(worst["group"], worst["group"]) if worst else "",
                "worst_gap": worst["relative"] if worst else None,
            }
        )
    return render(
        request,
        "equity/index.html",
        {"kinds": kinds, "plans": queries.recent_plans(5)},
    )


# --- access reports ------------------------------------------------------------------------


def _report_context(report: AccessReport) -> dict[str, Any]:
    values = queries.report_values(report)
    summary = report.summary or {}
    cells = list(
        Area.objects.filter(level=Level.GRID, code__in=values.keys()).values_list(
            "code", "name", "geometry", "population"
        )
    )
    raw = [values[c][0] for c, *_ in cells]
    cuts = maps.breaks(raw)
    fmt = "{:.2e}" if cuts and max(cuts) < 0.01 else "{:.3f}"
    features = [
        maps.Feature(
            geometry or {},
            values[code][0],
            f"{name}: {values[code][0]:.3g}"
            + ("" if values[code][1] else " — " + _("nothing in reach")),
        )
        for code, name, geometry, _pop in cells
    ]
    fac = queries.facilities(report.kind)
    markers = [
        maps.Marker(float(lon), float(lat), name, "existing")
        for lon, lat, name in zip(fac.lon, fac.lat, fac.names, strict=True)
    ]
    the_map = maps.choropleth(
        features,
        title=_("Access to %(kind)s per grid cell") % {"kind": report.get_kind_display()},
        description=_(
            "Darker cells have more capacity per resident within %(m)d metres; grey cells have "
            "none in reach; dots are the existing facilities. The table below gives the numbers."
        )
        % {"m": report.threshold_m},
        cuts=cuts,
        markers=markers,
        ident=f"access-{report.pk}",
    )
    labels = queries.group_labels()
    groups = [{**g, "name": labels.get(g["group"], g["group"])} for g in summary.get("groups", [])]
    lowest = sorted(
        ((values[c][0], n, c, values[c][1], p) for c, n, _g, p in cells if p > 0),
        key=lambda r: (r[0], -r[4]),
    )[:15]
    history = queries.report_history(report.kind)
    same = [
        r
        for r in history
        if r.method == report.method
        and r.decay == report.decay
        and math.isclose(r.threshold_m, report.threshold_m)
    ]
    trend = maps.line_chart(
        [
            (_("Gini of access"), [r.summary.get("gini") for r in same]),
            (_("Coverage"), [r.summary.get("coverage") for r in same]),
        ],
        [r.created_at.strftime("%Y-%m-%d") for r in same],
        title=_("Trend of the Gini of access and of coverage"),
        description=_("One point per report with the same method and catchment; see the table."),
        ident=f"trend-{report.pk}",
    )
    return {
        "report": report,
        "summary": summary,
        "atkinson": [summary.get("atkinson", {}).get(e) for e in ("0.5", "1", "2")],
        "groups": groups,
        "districts": summary.get("districts", []),
        "the_map": the_map,
        "legend": maps.legend(cuts, fmt, _("nothing in reach")),
        "lowest": lowest,
        "history": history,
        "trend": trend if len(same) > 1 else "",
        "demand_label": queries.demand_label(report.demand),
    }


@never_cache
@require_http_methods(["GET", "POST"])
@equity_required
def access(request: HttpRequest, kind: str) -> HttpResponse:
    kind = _kind_or_404(kind)
    status = 200
    initial = {"threshold": queries.THRESHOLD_M[kind]}
    if request.method == "POST":
        if not permissions.can_run(request.user):
            raise Http404("May not run reports")
        form = ReportForm(request.POST)
        if form.is_valid():
            try:
                actions.run_access_report(
                    actor=request.user,
                    kind=kind,
                    method=form.cleaned_data["method"],
                    decay=form.cleaned_data.get("decay") or "",
                    threshold=form.cleaned_data["threshold"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("The report was computed and kept."))
                return redirect("equity:access", kind=kind)
        status = 400
    else:
        form = ReportForm(initial=initial)
    report: AccessReport | None
    wanted = request.GET.get("report")
    if wanted:
        if not wanted.isdigit():
            raise Http404("No such report")
        report = get_object_or_404(AccessReport, pk=int(wanted), kind=kind)
    else:
        report = queries.latest_report(kind)
    context: dict[str, Any] = {
        "kind": kind,
        "kind_label": FacilityKind(kind).label,
        "form": form,
        "report": report,
        "methods": dict(Method.choices),
    }
    if report is not None:
        context.update(_report_context(report))
    return render(request, "equity/access.html", context, status=status)


def _download(content: str, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@equity_required
def report_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "geojson"):
        raise Http404("No such format")
    report = get_object_or_404(AccessReport, pk=pk)
    rows = list(
        report.values.select_related("area")
        .order_by("area__path")
        .values_list(
            "area__code",
            "area__name",
            "area__geometry",
            "area__population",
            "access",
            "in_reach",
            "nearest_m",
        )
    )
    name = f"access-{report.kind}-{report.created_at:%Y%m%d-%H%M}-{report.pk}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["code", "name", "population", "access", "in_reach", "nearest_m"])
        for code, area_name, _geom, pop, value, in_reach, nearest in rows:
            writer.writerow(
                [
                    code,
                    area_name,
                    pop,
                    repr(value),
                    int(in_reach),
                    "" if nearest is None else nearest,
                ]
            )
        return _download(out.getvalue(), f"{name}.csv", "text/csv; charset=utf-8")
    features = [
        {
            "type": "Feature",
            "geometry": geom,
            "properties": {
                "code": code,
                "name": area_name,
                "population": pop,
                "access": value,
                "in_reach": in_reach,
                "nearest_m": nearest,
            },
        }
        for code, area_name, geom, pop, value, in_reach, nearest in rows
    ]
    body = {
        "type": "FeatureCollection",
        "properties": {
            "kind": report.kind,
            "method": report.method,
            "decay": report.decay,
            "threshold_m": report.threshold_m,
            "computed_at": report.created_at.isoformat(),
        },
        "features": features,
    }
    return _download(
        json.dumps(body, ensure_ascii=False), f"{name}.geojson", "application/geo+json"
    )


# --- digital divide ------------------------------------------------------------------------


@require_GET
@equity_required
def digital(request: HttpRequest) -> HttpResponse:
    form = DigitalForm(request.GET or None)
    level, days = "community", 365
    if form.is_bound:
        if not form.is_valid():
            return render(request, "equity/digital.html", {"form": form}, status=400)
        level = form.cleaned_data.get("level") or level
        days = form.cleaned_data.get("days") or days
    data = queries.digital_divide(request.user, level=level, days=days)
    if request.GET.get("format") == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        keys = [
            "code",
            "name",
            "population",
            "elderly",
            "migrants",
            "low_income",
            "cases",
            "offline_share",
            "offline_z",
            "index",
            "flagged",
        ]
        writer.writerow(keys)
        for a in data["areas"]:
            writer.writerow(["" if a[k] is None else a[k] for k in keys])
        return _download(out.getvalue(), f"digital-divide-{level}.csv", "text/csv; charset=utf-8")
    geometry = dict(
        Area.objects.filter(level=level, code__in=[a["code"] for a in data["areas"]]).values_list(
            "code", "geometry"
        )
    )
    cuts = maps.breaks([a["index"] for a in data["areas"]])
    features = [
        maps.Feature(
            geometry.get(a["code"]) or {},
            a["index"],
            f"{a['name']}: {a['index']:.2f}" + (" — " + _("flagged") if a["flagged"] else ""),
        )
        for a in data["areas"]
    ]
    the_map = maps.choropleth(
        features,
        title=_("Digital-divide index by area"),
        description=_(
            "Darker areas are more at risk of being left out by digital channels; the table "
            "below gives the numbers and the flagged areas."
        ),
        cuts=cuts,
        ident="digital",
    )
    return render(
        request,
        "equity/digital.html",
        {
            "form": form,
            "data": data,
            "days": days,
            "the_map": the_map,
            "legend": maps.legend(cuts, "{:.2f}", _("lowest")),
            "flagged": [a for a in data["areas"] if a["flagged"]],
        },
    )


# --- service-level equity ------------------------------------------------------------------


@require_GET
@equity_required
def service(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.GET or None)
    by, days = "district", 365
    if form.is_bound:
        if not form.is_valid():
            return render(request, "equity/service.html", {"form": form}, status=400)
        by = form.cleaned_data.get("by") or by
        days = form.cleaned_data.get("days") or days
    data = queries.service_equity(request.user, by=by, days=days)
    names = {row["label"]: row["name"] for row in data["rows"]}
    labels = sorted(names)
    months = [t["month"] for t in data["trend"]]
    chart = maps.line_chart(
        [(str(names[label]), [t["ratios"].get(label) for t in data["trend"]]) for label in labels][
            :6
        ],
        months,
        title=_("Time to resolve against what the case mix predicts, by month"),
        description=_("1 means as expected; above 1, slower. The table below gives the numbers."),
        ident="service-trend",
    )
    return render(
        request,
        "equity/service.html",
        {
            "form": form,
            "data": data,
            "outcomes": queries.outcome_labels(),
            "trend_labels": [(label, names[label]) for label in labels],
            "chart": chart,
        },
    )


# --- siting --------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@equity_required
def siting(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not permissions.can_run(request.user):
            raise Http404("May not plan")
        form = SitingForm(request.POST)
        if form.is_valid():
            try:
                plan = actions.create_siting_plan(
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    k=form.cleaned_data["k"],
                    objective=form.cleaned_data["objective"],
                    radius=form.cleaned_data.get("radius"),
                    new_capacity=form.cleaned_data.get("new_capacity"),
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                return redirect("equity:plan", pk=plan.pk)
        return render(
            request,
            "equity/siting.html",
            {"form": form, "plans": queries.recent_plans()},
            status=400,
        )
    kind = request.GET.get("kind")
    initial = {"kind": kind} if kind in FacilityKind.values else {}
    return render(
        request,
        "equity/siting.html",
        {"form": SitingForm(initial=initial), "plans": queries.recent_plans()},
    )


def _plan_rows(plan: SitingPlan) -> list[dict[str, Any]]:
    labels = {**dict(Objective.choices), "before": _("today (before)")}
    rows = []
    for row in plan.table:
        sol = plan.solutions.get(row["plan"], {})
        rows.append(
            {
                **row,
                "label": labels.get(row["plan"], row["plan"]),
                "chosen": row["plan"] == plan.objective,
                "solution": sol,
                "covered_pct": _pct(row.get("covered")),
                "worst_pct": _pct(row.get("worst_coverage")),
            }
        )
    return rows


@require_GET
@equity_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(SitingPlan, pk=pk)
    report = queries.latest_report(plan.kind)
    values = queries.report_values(report) if report is not None else {}
    cells = list(
        Area.objects.filter(level=Level.GRID, geometry__isnull=False).values_list(
            "code", "name", "geometry"
        )
    )
    cuts = maps.breaks([v[0] for v in values.values()])
    features = [
        maps.Feature(geometry or {}, values[code][0] if code in values else None, name)
        for code, name, geometry in cells
    ]
    fac = queries.facilities(plan.kind)
    markers = [
        maps.Marker(float(lon), float(lat), name, "existing")
        for lon, lat, name in zip(fac.lon, fac.lat, fac.names, strict=True)
    ] + [
        maps.Marker(s["lon"], s["lat"], _("Proposed: %(name)s") % {"name": s["name"]}, "proposed")
        for s in plan.sites
    ]
    the_map = maps.choropleth(
        features,
        title=_("Proposed sites for %(kind)s") % {"kind": plan.get_kind_display()},
        description=_(
            "Crosses are the proposed sites, dots the existing facilities; cells are shaded by "
            "today's access where a report exists. The list below names the sites."
        ),
        cuts=cuts,
        markers=markers,
        ident=f"plan-{plan.pk}",
    )
    return render(
        request,
        "equity/plan.html",
        {
            "plan": plan,
            "rows": _plan_rows(plan),
            "the_map": the_map,
            "legend": maps.legend(cuts, "{:.3g}", _("nothing in reach")) if values else [],
        },
    )


@require_GET
@equity_required
def plan_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "geojson"):
        raise Http404("No such format")
    plan = get_object_or_404(SitingPlan, pk=pk)
    name = f"siting-{plan.kind}-{plan.objective}-{plan.pk}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["rank", "code", "name", "lat", "lon"])
        for i, s in enumerate(plan.sites, start=1):
            writer.writerow([i, s["code"], s["name"], s["lat"], s["lon"]])
        return _download(out.getvalue(), f"{name}.csv", "text/csv; charset=utf-8")
    body = {
        "type": "FeatureCollection",
        "properties": {
            "kind": plan.kind,
            "objective": plan.objective,
            "k": plan.k,
            "radius_m": plan.radius_m,
            "new_capacity": plan.new_capacity,
            "solutions": plan.solutions,
            "table": plan.table,
        },
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                "properties": {"rank": i, "code": s["code"], "name": s["name"]},
            }
            for i, s in enumerate(plan.sites, start=1)
        ],
    }
    return _download(
        json.dumps(body, ensure_ascii=False), f"{name}.geojson", "application/geo+json"
    )
