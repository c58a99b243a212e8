"""Spatial accessibility of facilities: 2SFCA, enhanced 2SFCA and the gravity model.

Demand points (grid cells with a population) and supply points (facilities with a capacity)
are joined only where they are within reach of each other, so everything here is sparse: the
pairs within the threshold are three flat arrays (demand index, supply index, cost), and each
measure is two weighted sums over them (``numpy.bincount``). A city of a million cells and ten
thousand facilities is a few tens of millions of pairs and fits in memory.

The measures follow PySAL ``access`` (Saxon et al.) and give the same numbers on the same
inputs, with one deliberate difference: a demand point with no facility in reach has access
``0`` here (``access`` leaves it ``NaN``), and :attr:`Accessibility.in_reach` says which
points had none. Definitions and references: ``docs/equity.md``.

Pure numpy/scipy: no Django, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

Metric = Literal["euclidean", "haversine"]
Method = Literal["2sfca", "e2sfca", "gravity"]
DecayKind = Literal["step", "gaussian"]

METHODS: tuple[str, ...] = ("2sfca", "e2sfca", "gravity")
DECAYS: tuple[str, ...] = ("step", "gaussian")
METRICS: tuple[str, ...] = ("euclidean", "haversine")

# Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8

# Luo & Qi (2009): three sub-zones of the catchment with weights 1, 0.68 and 0.22 (their
# Gaussian at the sub-zone midpoints), as the default of PySAL access' E2SFCA.
LUO_QI_STEPS: tuple[tuple[float, float], ...] = ((1 / 3, 1.0), (2 / 3, 0.68), (1.0, 0.22))

# Demand points handled per block in the neighbour search, to bound the peak memory.
_BLOCK = 262_144


@dataclass(frozen=True)
class Reach:
    """The demand–supply pairs within reach of each other, with their cost (sparse, COO).

    ``cost`` is in the units of the threshold: metres for coordinates, minutes (or whatever
    the caller's matrix holds) for a cost matrix.
    """

    demand: NDArray[np.int32]
    supply: NDArray[np.int32]
    cost: NDArray[np.float64]
    n_demand: int
    n_supply: int
    threshold: float

    @property
    def pairs(self) -> int:
        return int(self.demand.size)

    def in_reach(self) -> NDArray[np.bool_]:
        """True for each demand point with at least one supply point within reach."""
        return np.bincount(self.demand, minlength=self.n_demand) > 0

    def nearest(self) -> NDArray[np.float64]:
        """Each demand point's cost to its nearest supply point in reach (``inf`` if none)."""
        out = np.full(self.n_demand, np.inf)
        np.minimum.at(out, self.demand, self.cost)
        return out


@dataclass(frozen=True)
class Accessibility:
    """What a floating-catchment measure found.

    ``access`` is per demand point (supply per head of the competing population, weighted by
    distance decay), 0 where no supply is in reach. ``ratio`` is per supply point: its
    capacity over the (weighted) population in its catchment, 0 where that population is 0.
    """

    access: NDArray[np.float64]
    in_reach: NDArray[np.bool_]
    ratio: NDArray[np.float64]
    catchment_population: NDArray[np.float64]
    method: str
    threshold: float


def _sums(
    index: NDArray[np.integer], weights: NDArray[np.float64], size: int
) -> NDArray[np.float64]:
    """``out[k] = Σ weights[index == k]`` (a weighted ``bincount``, typed as floats)."""
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


# --- input checks ------------------------------------------------------------------------------


def _vector(values: ArrayLike, name: str, size: int | None = None) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one value per point (1-D), not shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ValueError(f"{name} has {arr.size} values for {size} points")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} is missing or not a number at position {bad}")
    if np.any(arr < 0):
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name} is negative at position {bad} ({arr[bad]})")
    return arr


def _points(xy: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must be an array of (x, y) pairs, not shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[0])
        raise ValueError(f"{name}: the coordinates of point {bad} are missing or not numbers")
    return arr


def _threshold(value: float) -> float:
    t = float(value)
    if not (t > 0) or math.isnan(t):
        raise ValueError(f"the threshold must be a positive number, not {value!r}")
    return t


# --- who is within reach of what ---------------------------------------------------------------


def _unit_vectors(lonlat: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180):
        raise ValueError(f"{name}: longitude must be within ±180 and latitude within ±90")
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def haversine(
    lon1: NDArray[np.float64],
    lat1: NDArray[np.float64],
    lon2: NDArray[np.float64],
    lat2: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Great-circle distance in metres (haversine formula, mean Earth radius)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def reach_from_points(
    demand_xy: ArrayLike,
    supply_xy: ArrayLike,
    threshold: float,
    *,
    metric: Metric = "euclidean",
) -> Reach:
    """The pairs of demand and supply points within ``threshold`` of each other.

    ``euclidean``: x/y in metres (a projected system), threshold in metres. ``haversine``:
    x = longitude, y = latitude in degrees, threshold in metres along the great circle.
    A pair exactly at the threshold is within reach. Found with a k-d tree, so only pairs
    near each other are ever looked at.
    """
    t = _threshold(threshold)
    d = _points(demand_xy, "demand points")
    s = _points(supply_xy, "supply points")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    n_d, n_s = len(d), len(s)
    empty = Reach(np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0), n_d, n_s, t)
    if n_d == 0 or n_s == 0:
        return empty
    if metric == "haversine":
        dv, sv = _unit_vectors(d, "demand points"), _unit_vectors(s, "supply points")
        # The chord of an arc of length t, widened a little so that rounding never drops a
        # pair that the haversine formula puts within reach; the exact test follows.
        radius = 2 * math.sin(min(t / EARTH_RADIUS_M, math.pi) / 2) * (1 + 1e-9) + 1e-12
    else:
        dv, sv = d, s
        radius = t
    tree = cKDTree(sv)
    parts_d: list[NDArray[np.int32]] = []
    parts_s: list[NDArray[np.int32]] = []
    parts_c: list[NDArray[np.float64]] = []
    for start in range(0, n_d, _BLOCK):
        block = cKDTree(dv[start : start + _BLOCK])
        found = block.sparse_distance_matrix(tree, radius, output_type="ndarray")
        i = found["i"].astype(np.int32) + np.int32(start)
        j = found["j"].astype(np.int32)
        if metric == "haversine":
            cost = haversine(d[i, 0], d[i, 1], s[j, 0], s[j, 1])
        else:
            # Recomputed rather than taken from the tree, so that the cost of a pair is the
            # same whichever way it was found.
            cost = np.hypot(d[i, 0] - s[j, 0], d[i, 1] - s[j, 1])
        keep = cost <= t
        parts_d.append(i[keep])
        parts_s.append(j[keep])
        parts_c.append(cost[keep])
    return Reach(
        np.concatenate(parts_d), np.concatenate(parts_s), np.concatenate(parts_c), n_d, n_s, t
    )


def reach_from_costs(cost: ArrayLike | sp.spmatrix | sp.sparray, threshold: float) -> Reach:
    """The pairs of a cost matrix (demand × supply, e.g. travel minutes) within ``threshold``.

    A dense matrix marks "no route" with ``inf`` or ``NaN``; in a sparse matrix the stored
    entries are the routes (an explicitly stored 0 is a route of cost 0).
    """
    t = _threshold(threshold)
    if sp.issparse(cost):
        coo = sp.coo_array(cost)
        if coo.ndim != 2:
            raise ValueError("the cost matrix must be two-dimensional (demand × supply)")
        n_d, n_s = coo.shape
        i, j, c = coo.coords[0], coo.coords[1], np.asarray(coo.data, dtype=np.float64)
    else:
        dense = np.asarray(cost, dtype=np.float64)
        if dense.ndim != 2:
            raise ValueError(
                f"the cost matrix must be two-dimensional (demand × supply), not {dense.shape}"
            )
        n_d, n_s = dense.shape
        i, j = np.nonzero(dense <= t)
        c = dense[i, j]
    if np.any(c < 0):
        raise ValueError("the cost matrix has negative costs")
    keep = c <= t
    return Reach(i[keep].astype(np.int32), j[keep].astype(np.int32), c[keep], int(n_d), int(n_s), t)


def check_shapes(reach: Reach, n_demand: int, n_supply: int) -> None:
    """Refuse a cost matrix whose shape does not match the demand and supply points."""
    if (reach.n_demand, reach.n_supply) != (n_demand, n_supply):
        raise ValueError(
            f"the cost matrix is {reach.n_demand} × {reach.n_supply} but there are "
            f"{n_demand} demand points and {n_supply} supply points"
        )


# --- distance decay ----------------------------------------------------------------------------


def step_decay(
    cost: NDArray[np.float64], steps: Sequence[tuple[float, float]]
) -> NDArray[np.float64]:
    """Weight by sub-zone: the weight of the first ``(upper bound, weight)`` step whose bound
    is at or above the cost; 0 beyond the last bound."""
    ordered = sorted((float(b), float(w)) for b, w in steps)
    if not ordered:
        raise ValueError("a step decay needs at least one (bound, weight) step")
    if any(w < 0 for _, w in ordered):
        raise ValueError("step weights must not be negative")
    bounds = np.array([b for b, _ in ordered])
    weights = np.array([w for _, w in ordered] + [0.0])
    return weights[np.searchsorted(bounds, cost, side="left")]


def gaussian_decay(cost: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    """``exp(-cost² / 2σ²)``: 1 at cost 0 (PySAL access' ``weights.gaussian``)."""
    if not sigma > 0:
        raise ValueError("the Gaussian width sigma must be positive")
    return np.exp(-cost * cost / (2.0 * sigma * sigma))


def power_decay(
    cost: NDArray[np.float64], beta: float, *, scale: float = 1.0, min_cost: float = 0.0
) -> NDArray[np.float64]:
    """``(max(cost, min_cost) / scale) ** -beta``: the gravity model's impedance."""
    if beta < 0:
        raise ValueError("the gravity exponent beta must not be negative")
    floor = np.maximum(cost, min_cost)
    if beta > 0 and np.any(floor <= 0):
        raise ValueError("a zero cost has infinite gravity weight: set min_cost above 0")
    return np.power(floor / scale, -beta)


def luo_qi_steps(threshold: float) -> tuple[tuple[float, float], ...]:
    """The three sub-zones of Luo & Qi (2009), scaled to the threshold."""
    return tuple((threshold * f, w) for f, w in LUO_QI_STEPS)


# --- the measures ------------------------------------------------------------------------------


def floating_catchment(
    population: ArrayLike,
    capacity: ArrayLike,
    reach: Reach,
    weight: NDArray[np.float64] | None = None,
    *,
    method: str = "2sfca",
) -> Accessibility:
    """The two-step floating catchment with pair weights ``weight`` (1 when None).

    Step 1, for each supply point j: ``R_j = S_j / Σ_i P_i w_ij``.
    Step 2, for each demand point i: ``A_i = Σ_j R_j w_ij``.
    """
    pop = _vector(population, "population", reach.n_demand)
    cap = _vector(capacity, "capacity", reach.n_supply)
    if weight is None:
        demand_w = pop[reach.demand]
    else:
        if weight.shape != reach.cost.shape:
            raise ValueError("one weight per pair is needed")
        demand_w = weight * pop[reach.demand]
    catchment = _sums(reach.supply, demand_w, reach.n_supply)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(catchment > 0, cap / catchment, 0.0)
    pair_ratio = ratio[reach.supply] if weight is None else ratio[reach.supply] * weight
    access = _sums(reach.demand, pair_ratio, reach.n_demand)
    return Accessibility(
        access=access,
        in_reach=reach.in_reach(),
        ratio=ratio,
        catchment_population=catchment,
        method=method,
        threshold=reach.threshold,
    )


def two_step_fca(population: ArrayLike, capacity: ArrayLike, reach: Reach) -> Accessibility:
    """2SFCA (Luo & Wang 2003): every facility within the threshold counts in full."""
    return floating_catchment(population, capacity, reach, None, method="2sfca")


def enhanced_two_step_fca(
    population: ArrayLike,
    capacity: ArrayLike,
    reach: Reach,
    *,
    decay: DecayKind = "step",
    steps: Sequence[tuple[float, float]] | None = None,
    sigma: float | None = None,
) -> Accessibility:
    """E2SFCA (Luo & Qi 2009): 2SFCA with distance-decay weights within the threshold.

    ``step``: the weights of ``steps`` (default Luo & Qi's 1, 0.68, 0.22 over thirds of the
    threshold). ``gaussian``: ``exp(-d²/2σ²)`` with ``sigma`` (default half the threshold).
    """
    if decay == "step":
        weight = step_decay(reach.cost, steps or luo_qi_steps(reach.threshold))
    elif decay == "gaussian":
        weight = gaussian_decay(reach.cost, sigma if sigma is not None else reach.threshold / 2)
    else:
        raise ValueError(f"unknown decay {decay!r}: use one of {', '.join(DECAYS)}")
    return floating_catchment(population, capacity, reach, weight, method="e2sfca")


def gravity(
    population: ArrayLike,
    capacity: ArrayLike,
    reach: Reach,
    *,
    beta: float = 1.0,
    min_cost: float | None = None,
) -> Accessibility:
    """Gravity-based accessibility (Joseph & Bantock 1982; Shen 1998; Luo & Wang 2003):
    ``A_i = Σ_j S_j d_ij^-β / Σ_k P_k d_kj^-β`` over the pairs within the threshold, with
    costs below ``min_cost`` (default a tenth of the threshold) counted as ``min_cost``."""
    floor = reach.threshold / 10 if min_cost is None else min_cost
    weight = power_decay(reach.cost, beta, scale=reach.threshold, min_cost=floor)
    return floating_catchment(population, capacity, reach, weight, method="gravity")


def accessibility(
    population: ArrayLike,
    capacity: ArrayLike,
    reach: Reach,
    *,
    method: Method = "2sfca",
    decay: DecayKind = "step",
    sigma: float | None = None,
    beta: float = 1.0,
    min_cost: float | None = None,
) -> Accessibility:
    """One entry point for the three measures (``method``: 2sfca, e2sfca or gravity)."""
    if method == "2sfca":
        return two_step_fca(population, capacity, reach)
    if method == "e2sfca":
        return enhanced_two_step_fca(population, capacity, reach, decay=decay, sigma=sigma)
    if method == "gravity":
        return gravity(population, capacity, reach, beta=beta, min_cost=min_cost)
    raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")


def group_means(access: ArrayLike, groups: dict[str, ArrayLike]) -> dict[str, float]:
    """Each group's mean access, weighted by how many of the group live at each point
    (``nan`` for a group with nobody)."""
    a = np.asarray(access, dtype=np.float64)
    out: dict[str, float] = {}
    for name, counts in groups.items():
        c = _vector(counts, f"group {name!r}", a.size)
        total = c.sum()
        out[name] = float(np.dot(a, c) / total) if total > 0 else math.nan
    return out
