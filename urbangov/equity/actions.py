"""State changes of the equity app: keeping an access report, keeping a siting plan.

Each action checks its input first, computes everything, and only then writes — in one
transaction, with its audit event — so a bad input or a failed computation leaves nothing
half-saved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from urbangov.analytics import accessibility, siting
from urbangov.equity import queries
from urbangov.equity.models import AccessReport, AccessValue, Decay, Method, Objective, SitingPlan
from urbangov.org.models import FacilityKind
from urbangov.privacy.actions import Actor, actor_user, record

MIN_THRESHOLD_M = 50.0
MAX_THRESHOLD_M = 50_000.0
MAX_NEW_SITES = 50
# Candidate sites considered at most (the cells with the most residents in reach).
MAX_CANDIDATES = 1000


def _check_kind(kind: str) -> None:
    if kind not in FacilityKind.values:
        raise ValidationError({"kind": _("Unknown facility kind %(kind)r.") % {"kind": kind}})


def _check_threshold(value: float, field: str = "threshold") -> float:
    if not (isinstance(value, int | float) and math.isfinite(value)):
        raise ValidationError({field: _("The distance must be a number of metres.")})
    if not MIN_THRESHOLD_M <= value <= MAX_THRESHOLD_M:
        raise ValidationError(
            {
                field: _("The distance must be between %(lo)d and %(hi)d metres.")
                % {"lo": MIN_THRESHOLD_M, "hi": MAX_THRESHOLD_M}
            }
        )
    return float(value)


def _check_data(cells: queries.Grid, fac: queries.Facilities, kind: str) -> None:
    if len(cells) == 0:
        raise ValidationError(_("The city has no grid cells with a map to measure access on."))
    if float(cells.column(queries.DEMAND[kind]).sum()) <= 0:
        raise ValidationError(_("No one lives in the grid cells for this kind of facility."))
    if np.any(fac.capacity < 0):
        raise ValidationError(_("A facility has a negative capacity."))
    bad = ~(np.isfinite(fac.lon) & np.isfinite(fac.lat))
    if np.any(bad):
        raise ValidationError(
            _("Facility %(name)s has no valid coordinates.")
            % {"name": fac.names[int(np.flatnonzero(bad)[0])]}
        )


def run_access_report(
    *, actor: Actor, kind: str, method: str, decay: str = "", threshold: float
) -> AccessReport:
    """Compute access to ``kind`` in every grid cell, with its equity summary, and keep it."""
    _check_kind(kind)
    if method not in Method.values:
        raise ValidationError({"method": _("Unknown method %(m)r.") % {"m": method}})
    if method == Method.ENHANCED:
        decay = decay or Decay.STEP
        if decay not in Decay.values:
            raise ValidationError({"decay": _("Unknown distance decay %(d)r.") % {"d": decay}})
    else:
        decay = ""
    threshold = _check_threshold(threshold)
    cells = queries.grid()
    fac = queries.facilities(kind)
    _check_data(cells, fac, kind)
    computed = queries.compute_access(
        kind, method=method, decay=decay, threshold=threshold, cells=cells
    )
    with transaction.atomic():
        report = AccessReport.objects.create(
            kind=kind,
            method=method,
            decay=decay,
            threshold_m=threshold,
            demand=queries.DEMAND[kind],
            created_by=actor_user(actor),
            cells=len(cells),
            facilities=len(fac),
            summary=computed.summary,
        )
        result = computed.result
        AccessValue.objects.bulk_create(
            (
                AccessValue(
                    report=report,
                    area_id=int(area_id),
                    access=float(result.access[i]),
                    in_reach=bool(result.in_reach[i]),
                    nearest_m=float(computed.nearest[i])
                    if math.isfinite(computed.nearest[i])
                    else None,
                )
                for i, area_id in enumerate(cells.ids)
            ),
            batch_size=2000,
        )
        record(
            actor=actor,
            action="equity.access_report",
            obj=report,
            data={
                "kind": kind,
                "method": method,
                "decay": decay,
                "threshold_m": threshold,
                "cells": len(cells),
                "facilities": len(fac),
                "gini": computed.summary.get("gini"),
            },
        )
    return report


# --- siting ----------------------------------------------------------------------------------


def _haversine_matrix(
    lonlat_a: NDArray[np.float64], lonlat_b: NDArray[np.float64]
) -> NDArray[np.float64]:
    out = np.empty((len(lonlat_a), len(lonlat_b)))
    step = max(1, 2_000_000 // max(len(lonlat_b), 1))
    for start in range(0, len(lonlat_a), step):
        a = lonlat_a[start : start + step]
        out[start : start + step] = accessibility.haversine(
            a[:, None, 0], a[:, None, 1], lonlat_b[None, :, 0], lonlat_b[None, :, 1]
        )
    return out


@dataclass(frozen=True)
class SitingInputs:
    cells: queries.Grid
    facilities: queries.Facilities
    candidates: NDArray[np.int64]  # indices of grid cells
    cost: NDArray[np.float64]  # cells × candidates, metres
    existing: NDArray[np.float64]  # metres to the nearest existing facility
    demand: NDArray[np.float64]
    groups: dict[str, NDArray[np.float64]]
    group_names: dict[str, str]
    model: siting.AccessModel


def siting_inputs(kind: str, radius: float, new_capacity: float) -> SitingInputs:
    """Candidates are the grid cells' centres; costs are great-circle metres."""
    cells = queries.grid()
    fac = queries.facilities(kind)
    _check_data(cells, fac, kind)
    demand = cells.column(queries.DEMAND[kind])
    lonlat = cells.lonlat()
    near_demand = accessibility.reach_from_points(lonlat, lonlat, radius, metric="haversine")
    in_reach = np.bincount(
        near_demand.supply, weights=demand[near_demand.demand], minlength=len(cells)
    )
    candidates = np.flatnonzero(in_reach > 0)
    if candidates.size > MAX_CANDIDATES:
        candidates = np.sort(np.argsort(-in_reach, kind="stable")[:MAX_CANDIDATES])
    cost = _haversine_matrix(lonlat, lonlat[candidates])
    if len(fac):
        existing = _haversine_matrix(lonlat, fac.lonlat()).min(axis=1)
    else:
        existing = np.full(len(cells), np.inf)
    low = np.array([b == "low" for b in cells.income_band], dtype=np.float64)
    districts = cells.districts()
    names = queries.area_names(set(districts))
    groups: dict[str, NDArray[np.float64]] = {
        "everyone": demand,
        "migrants": demand * cells.migrant_share,
        "low_income": demand * low,
    }
    labels = queries.group_labels()
    group_names = {k: labels.get(k, k) for k in groups}
    for code in sorted(set(districts)):
        key = f"district:{code}"
        groups[key] = demand * np.array([d == code for d in districts], dtype=np.float64)
        group_names[key] = names.get(code, code)
    reach = accessibility.reach_from_points(lonlat, fac.lonlat(), radius, metric="haversine")
    candidate_reach = accessibility.reach_from_points(
        lonlat, lonlat[candidates], radius, metric="haversine"
    )
    model = siting.AccessModel(
        population=demand,
        capacity=fac.capacity,
        reach=reach,
        candidate_reach=candidate_reach,
        new_capacity=float(new_capacity),
    )
    return SitingInputs(cells, fac, candidates, cost, existing, demand, groups, group_names, model)


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def _measures(m: siting.Measures, names: dict[str, str]) -> dict[str, Any]:
    return {
        "mean_cost": _number(m.mean_cost),
        "covered": _number(m.covered),
        "worst_group": m.worst_group,
        "worst_group_name": names.get(m.worst_group, m.worst_group),
        "worst_coverage": _number(m.worst_coverage),
        "access_gini": _number(m.access_gini),
        "access_mean": _number(m.access_mean),
    }


def create_siting_plan(
    *,
    actor: Actor,
    kind: str,
    k: int,
    objective: str,
    radius: float | None = None,
    new_capacity: int | None = None,
    time_limit: float | None = None,
) -> SitingPlan:
    """Solve every objective for ``k`` new facilities of ``kind``, keep the plan of
    ``objective`` with the trade-off table of all of them, before and after."""
    _check_kind(kind)
    if objective not in Objective.values:
        raise ValidationError({"objective": _("Unknown objective %(o)r.") % {"o": objective}})
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_NEW_SITES:
        raise ValidationError(
            {
                "k": _("The number of new facilities must be between 1 and %(n)d.")
                % {"n": MAX_NEW_SITES}
            }
        )
    radius = _check_threshold(radius if radius is not None else queries.THRESHOLD_M[kind], "radius")
    fac = queries.facilities(kind)
    if new_capacity is None:
        new_capacity = int(np.median(fac.capacity)) if len(fac) else 100
    if isinstance(new_capacity, bool) or not isinstance(new_capacity, int) or new_capacity < 1:
        raise ValidationError(
            {"new_capacity": _("The capacity of a new facility must be a whole number above 0.")}
        )
    inputs = siting_inputs(kind, radius, new_capacity)
    if k > inputs.candidates.size:
        raise ValidationError(
            {
                "k": _(
                    "Only %(n)d grid cells have residents within reach to place a facility in; "
                    "ask for at most that many."
                )
                % {"n": inputs.candidates.size}
            }
        )
    seconds = float(
        time_limit if time_limit is not None else settings.URBANGOV.get("EQUITY_SITING_SECONDS", 20)
    )
    try:
        result = siting.plan(
            inputs.cost,
            inputs.demand,
            k,
            radius,
            existing=inputs.existing,
            groups=inputs.groups,
            model=inputs.model,
            time_limit=seconds,
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    codes = inputs.cells.codes
    cand = inputs.candidates

    def cell_codes(sites: tuple[int, ...]) -> list[str]:
        return [codes[int(cand[j])] for j in sites]

    solutions = {
        name: {
            "value": _number(sol.value),
            "bound": _number(sol.bound),
            "gap": _number(sol.gap),
            "method": sol.method,
            "seconds": round(sol.seconds, 3),
            "sense": sol.sense,
            "sites": cell_codes(sol.sites),
        }
        for name, sol in result.solutions.items()
    }
    table = [{"plan": "before", **_measures(result.before, inputs.group_names)}]
    for name, measured in result.after.items():
        table.append({"plan": name, **_measures(measured, inputs.group_names)})
    chosen = result.solutions[objective].sites
    sites = [
        {
            "code": codes[int(cand[j])],
            "name": inputs.cells.names[int(cand[j])],
            "lat": float(inputs.cells.lat[int(cand[j])]),
            "lon": float(inputs.cells.lon[int(cand[j])]),
        }
        for j in chosen
    ]
    with transaction.atomic():
        plan = SitingPlan.objects.create(
            kind=kind,
            objective=objective,
            k=k,
            radius_m=radius,
            new_capacity=new_capacity,
            created_by=actor_user(actor),
            sites=sites,
            solutions=solutions,
            table=table,
        )
        record(
            actor=actor,
            action="equity.siting_plan",
            obj=plan,
            data={
                "kind": kind,
                "objective": objective,
                "k": k,
                "radius_m": radius,
                "sites": [s["code"] for s in sites],
            },
        )
    return plan
