"""Where to build next: choose k new sites among candidates, with HiGHS (``highspy``).

Objectives:

- **p-median** (efficiency): minimise the population-weighted cost to the nearest facility.
- **maximal covering** (MCLP): maximise the population within a radius of a facility.
- **max–min group coverage** (equity): maximise the coverage of the worst-off group.
- **minimum access Gini** (equity): minimise the Gini of floating-catchment access
  (a local search; no bound is claimed for it).

Facilities that already exist stay open: each demand point's cost to its nearest existing
facility is an option it always has.

Every solution says how good it is known to be: ``bound`` is a bound proven by HiGHS (below
the optimum for a minimisation, above it for a maximisation) and ``gap`` the relative
distance between the solution and that bound. Small instances are solved exactly as one
mixed-integer programme. At city scale (tens of thousands of demand points, a thousand
candidates), where the classic p-median model has tens of millions of variables, the
solution comes from a greedy start and an exchange (swap) local search over a dense cost
matrix, and the bound from a HiGHS linear programme over the candidates alone, tightened by
Benders cuts from each demand point's sorted neighbourhood (see ``docs/equity.md``).

Pure numpy/scipy/highspy: no Django, no I/O.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from urbangov.analytics import accessibility, inequality

INF = highspy.kHighsInf

# Classic p-median models up to this many assignment variables are solved exactly.
EXACT_LIMIT = 400_000
# Relative gap at which a solution counts as optimal.
GAP_TOLERANCE = 1e-6

OBJECTIVES: tuple[str, ...] = ("p_median", "max_cover", "max_min_coverage", "min_gini")


@dataclass(frozen=True)
class Solution:
    objective: str
    sites: tuple[int, ...]  # chosen candidate indices, ascending
    value: float  # the objective at these sites, evaluated exactly
    bound: float  # proven bound on the optimum (nan: none)
    gap: float  # |value − bound| / |value| (nan: no bound)
    method: str
    seconds: float
    sense: str  # "min" or "max"

    @property
    def optimal(self) -> bool:
        return not math.isnan(self.gap) and self.gap <= GAP_TOLERANCE


def _gap(value: float, bound: float) -> float:
    if math.isnan(bound) or math.isinf(bound):
        return math.nan
    if value == bound:
        return 0.0
    return abs(value - bound) / max(abs(value), 1e-12)


# --- input checks ---------------------------------------------------------------------------


def _cost_matrix(cost: ArrayLike) -> NDArray[np.float64]:
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"the cost matrix must be demand × candidates (2-D), not {c.shape}")
    if c.shape[1] == 0:
        raise ValueError("there are no candidate sites")
    if np.any(np.isnan(c)):
        raise ValueError("the cost matrix has missing values (use inf for no route)")
    if np.any(c < 0):
        raise ValueError("the cost matrix has negative costs")
    return c


def _weights(weights: ArrayLike, n: int, name: str = "weights") -> NDArray[np.float64]:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size != n:
        raise ValueError(f"{name}: {w.size} values for {n} demand points")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be numbers that are not negative")
    return w


def _existing(existing: ArrayLike | None, n: int) -> NDArray[np.float64]:
    if existing is None:
        return np.full(n, np.inf)
    e = np.asarray(existing, dtype=np.float64)
    if e.ndim != 1 or e.size != n:
        raise ValueError(f"existing: {e.size} values for {n} demand points")
    if np.any(np.isnan(e)) or np.any(e < 0):
        raise ValueError("existing costs must be numbers that are not negative (inf: none)")
    return e


def _k(k: int, m: int) -> int:
    if isinstance(k, bool) or int(k) != k:
        raise ValueError(f"k must be a whole number, not {k!r}")
    k = int(k)
    if k < 1:
        raise ValueError("k must be at least 1")
    if k > m:
        raise ValueError(f"k = {k} is more than the {m} candidate sites")
    return k


# --- p-median: evaluation, greedy and swap ---------------------------------------------------


def assignment_cost(
    cost: NDArray[np.float64], existing: NDArray[np.float64], sites: Sequence[int]
) -> NDArray[np.float64]:
    """Each demand point's cost to its nearest open facility (existing or chosen)."""
    best = existing.copy()
    if len(sites):
        best = np.minimum(best, cost[:, list(sites)].min(axis=1))
    return best


def _objective(
    cost: NDArray[np.float64],
    existing: NDArray[np.float64],
    w: NDArray[np.float64],
    sites: Sequence[int],
) -> float:
    best = assignment_cost(cost, existing, sites)
    reached = w > 0
    if np.any(np.isinf(best[reached])):
        return math.inf
    return float(np.dot(w[reached], best[reached]))


def _finite(cost: NDArray[np.float64]) -> NDArray[np.float64]:
    """Costs with "no route" replaced by a cost larger than any route, for the heuristics."""
    finite = cost[np.isfinite(cost)]
    big = (float(finite.max()) if finite.size else 1.0) * 10 + 1
    return np.where(np.isfinite(cost), cost, big)


@dataclass(frozen=True)
class _Neighbours:
    """Each demand point's ``depth`` cheapest candidates, sorted (n × depth)."""

    near: NDArray[np.int64]
    cost: NDArray[np.float64]
    beyond: NDArray[np.float64]  # the cost of the next candidate after them (inf: none)
    top: NDArray[np.float64]  # the costliest candidate of each demand point

    @property
    def depth(self) -> int:
        return int(self.near.shape[1])


def _neighbours(c: NDArray[np.float64], depth: int) -> _Neighbours:
    n, m = c.shape
    depth = max(1, min(depth, m))
    # One partition for the neighbourhood and the candidate just beyond it.
    near = (
        np.argpartition(c, depth, axis=1)[:, : depth + 1]
        if depth < m
        else np.tile(np.arange(m), (n, 1))
    )
    dn = np.take_along_axis(c, near, axis=1)
    order = np.argsort(dn, axis=1, kind="stable")
    near = np.take_along_axis(near, order, axis=1).astype(np.int64)
    dn = np.take_along_axis(dn, order, axis=1)
    beyond = dn[:, depth] if depth < m else np.full(n, np.inf)
    return _Neighbours(near[:, :depth], dn[:, :depth], beyond, c.max(axis=1))


def _savings(
    c: NDArray[np.float64],
    nb: _Neighbours,
    w: NDArray[np.float64],
    level: NDArray[np.float64],
) -> NDArray[np.float64]:
    """For every candidate j: ``Σ_i w_i max(0, level_i − c_ij)``, from the neighbourhoods
    where they hold every candidate below ``level``, from the dense matrix elsewhere."""
    m = c.shape[1]
    inside = level <= nb.beyond
    rows = np.flatnonzero(inside)
    part = np.maximum(level[rows, None] - nb.cost[rows], 0.0) * w[rows, None]
    rr, kk = np.nonzero(part)
    total = np.zeros(m)
    total += np.bincount(nb.near[rows[rr], kk], weights=part[rr, kk], minlength=m)
    # Above every candidate's cost the saving is linear: Σ w level − Σ w c_ij, one product.
    above = np.flatnonzero(~inside & (level >= nb.top))
    if above.size:
        total += float(np.dot(w[above], level[above])) - w[above] @ c[above]
    outside = np.flatnonzero(~inside & (level < nb.top))
    chunk = max(1, 4_000_000 // max(m, 1))
    for start in range(0, outside.size, chunk):
        sel = outside[start : start + chunk]
        saving = level[sel, None] - c[sel]
        np.maximum(saving, 0, out=saving)
        total += w[sel] @ saving
    return np.asarray(total, dtype=np.float64)


def _greedy_median(
    c: NDArray[np.float64],
    nb: _Neighbours,
    w: NDArray[np.float64],
    base: NDArray[np.float64],
    k: int,
    deadline: float,
) -> list[int]:
    """Add, k times, the candidate that lowers the total weighted cost most."""
    current = base.copy()
    chosen: list[int] = []
    closed = np.ones(c.shape[1], dtype=bool)
    while len(chosen) < k:
        gain = _savings(c, nb, w, current)
        gain[~closed] = -np.inf
        if time.monotonic() > deadline:
            # Out of time: fill up with the best single gains left.
            for r in np.argsort(-gain)[: k - len(chosen)]:
                chosen.append(int(r))
            break
        j = int(np.argmax(gain))
        chosen.append(j)
        closed[j] = False
        current = np.minimum(current, c[:, j])
    return chosen


def _nearest_two(
    c: NDArray[np.float64], base: NDArray[np.float64], sites: list[int]
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """(cost to nearest, slot of nearest among ``sites`` or −1 for an existing facility,
    cost to the second nearest) for every demand point."""
    # The existing facilities first, so that a tie keeps a demand point where it is.
    sub = np.column_stack([base, c[:, sites]])
    two = np.argpartition(sub, 1, axis=1)[:, :2]
    v = np.take_along_axis(sub, two, axis=1)
    first = np.where(v[:, 0] <= v[:, 1], two[:, 0], two[:, 1])
    d1 = np.minimum(v[:, 0], v[:, 1])
    d2 = np.maximum(v[:, 0], v[:, 1])
    return d1, (first - 1).astype(np.int64), d2


def _swap_median(
    c: NDArray[np.float64],
    nb: _Neighbours,
    w: NDArray[np.float64],
    base: NDArray[np.float64],
    sites: list[int],
    deadline: float,
) -> list[int]:
    """Best-improvement exchange (Teitz & Bart 1968) with the gain/loss/extra bookkeeping of
    Whitaker (1983) and Resende & Werneck (2007): the best of all k × (m − k) swaps found
    in one pass over the neighbourhoods, applied, and again until none improves."""
    sites = list(sites)
    m = c.shape[1]
    k = len(sites)
    if k == 0 or k == m:
        return sites
    while time.monotonic() < deadline:
        d1, slot, d2 = _nearest_two(c, base, sites)
        owned = slot >= 0
        loss = np.bincount(slot[owned], weights=(w * (d2 - d1))[owned], minlength=k)
        gain = _savings(c, nb, w, d1)
        # extra(j, r) = Σ over points served by r with c_ij < d2_i of w (d2 − max(c_ij, d1))
        inside = owned & (d2 <= nb.beyond)
        rows = np.flatnonzero(inside)
        rr, kk = np.nonzero(nb.cost[rows] < d2[rows, None])
        gi = rows[rr]
        value = w[gi] * (d2[gi] - np.maximum(nb.cost[rows[rr], kk], d1[gi]))
        extra = np.zeros(m * k)
        extra += np.bincount(nb.near[gi, kk] * k + slot[gi], weights=value, minlength=m * k)
        outside = np.flatnonzero(owned & ~inside)
        chunk = max(1, 4_000_000 // max(m, 1))
        for start in range(0, outside.size, chunk):
            sel = outside[start : start + chunk]
            block = c[sel]
            r2, c2 = np.nonzero(block < d2[sel, None])
            g2 = sel[r2]
            v2 = w[g2] * (d2[g2] - np.maximum(block[r2, c2], d1[g2]))
            extra += np.bincount(c2 * k + slot[g2], weights=v2, minlength=m * k)
        delta = -gain[:, None] + loss[None, :] - extra.reshape(m, k)
        delta[sites, :] = np.inf
        j, r = np.unravel_index(int(np.argmin(delta)), delta.shape)
        total = float(np.dot(w, d1))
        if not delta[j, r] < -1e-9 * max(total, 1.0):
            break
        sites[int(r)] = int(j)
    return sites


# --- p-median: HiGHS models --------------------------------------------------------------------


def _highs(time_limit: float, *, mip_gap: float = GAP_TOLERANCE) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit), 0.5))
    h.setOptionValue("mip_rel_gap", mip_gap)
    h.setOptionValue("threads", 2)
    return h


def _time_limit(h: highspy.Highs, seconds: float, *, mip: bool) -> None:
    """Give the next solve ``seconds``. HiGHS' simplex clock runs on across solves of one
    model, while a MIP solve starts its own: measured, not documented (HiGHS 1.16)."""
    seconds = max(seconds, 0.1)
    h.setOptionValue("time_limit", seconds if mip else h.getRunTime() + seconds)


def _pass_model(
    h: highspy.Highs,
    cost: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    a: sp.csc_array,
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    integer: NDArray[np.bool_] | None,
    *,
    maximise: bool = False,
) -> None:
    lp = highspy.HighsLp()
    lp.num_col_ = int(a.shape[1])
    lp.num_row_ = int(a.shape[0])
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(a.indptr, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(a.indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(a.data, dtype=np.float64)
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    if maximise:
        lp.sense_ = highspy.ObjSense.kMaximize
    if integer is not None:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in integer
        ]
    h.passModel(lp)


def _start(h: highspy.Highs, values: NDArray[np.float64]) -> None:
    """Offer HiGHS a feasible solution to start from."""
    sol = highspy.HighsSolution()
    sol.col_value = list(np.asarray(values, dtype=np.float64))
    sol.value_valid = True
    h.setSolution(sol)


def _mip_result(h: highspy.Highs, m: int) -> tuple[list[int] | None, float]:
    """(sites of the incumbent or None, the proven dual bound in the model's sense or nan)."""
    info = h.getInfo()
    status = h.getModelStatus()
    bound = math.nan
    if status in (
        highspy.HighsModelStatus.kOptimal,
        highspy.HighsModelStatus.kTimeLimit,
        highspy.HighsModelStatus.kInterrupt,
        highspy.HighsModelStatus.kSolutionLimit,
        highspy.HighsModelStatus.kIterationLimit,
    ):
        value = float(info.mip_dual_bound)
        bound = value if math.isfinite(value) else math.nan
    sites: list[int] | None = None
    if info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
        y = np.asarray(h.getSolution().col_value[:m])
        sites = sorted(int(j) for j in np.flatnonzero(y > 0.5))
    return sites, bound


def _median_benders(
    c: NDArray[np.float64],
    w: NDArray[np.float64],
    base: NDArray[np.float64],
    k: int,
    nb: _Neighbours,
    incumbent: list[int],
    deadline: float,
    *,
    groups: int = 256,
) -> tuple[float, list[int], NDArray[np.float64] | None]:
    """A lower bound on the p-median optimum from HiGHS, and the best plan met on the way.

    The master problem has only the candidates' open/closed variables ``y`` and one cost
    variable ``θ_g`` per group of demand points. For demand point i, with its candidates
    sorted by cost ``d_i(1) ≤ d_i(2) ≤ …`` (capped at the cost of its existing facility),
    every level D gives the valid inequality
    ``cost_i ≥ D − Σ_{j: d_ij < D} (D − d_ij) y_j`` — the Benders cuts of the p-median
    formulation of Elloumi (2010), as used by Duran-Mateus & Fischetti (2019) — summed over
    the group into a cut on ``θ_g``. The cuts are generated at the master's solution (and
    between it and an interior point, for stability) until none is violated: then the
    master's value is the linear relaxation's bound. With time left, ``y`` is made integer
    and the loop goes on at integer points, each a plan; the master's value, or HiGHS' dual
    bound when it stops on time, is still a lower bound on every plan's cost.

    Returns (lower bound, best plan found, the relaxation's y when it was solved).
    """
    m = c.shape[1]
    pos = np.flatnonzero(w > 0)
    if pos.size == 0:
        return 0.0, incumbent, None
    ww = w[pos]
    bb = base[pos]
    n_pos = pos.size
    near = nb.near[pos]
    # Beyond the neighbourhood a demand point costs at least its next candidate, and never
    # more than its existing facility.
    tail = np.minimum(nb.beyond[pos], bb)
    dn = np.minimum(nb.cost[pos], tail[:, None])
    g_count = max(1, min(groups, n_pos))
    group = (near[:, 0] % g_count).astype(np.int64)
    rows = np.arange(n_pos)

    def separate(y: NDArray[np.float64]) -> tuple[NDArray[np.float64], sp.csr_array]:
        yv = y[near]
        cum = np.cumsum(yv, axis=1)
        full = cum[:, -1] >= 1 - 1e-9
        level = np.argmax(cum >= 1 - 1e-9, axis=1)
        dl = np.where(full, dn[rows, level], tail)
        coef = np.maximum(dl[:, None] - dn, 0.0) * ww[:, None]
        rhs = np.asarray(np.bincount(group, weights=ww * dl, minlength=g_count), np.float64)
        rr, kk = np.nonzero(coef)
        cut = sp.csr_array((coef[rr, kk], (group[rr], near[rr, kk])), shape=(g_count, m))
        cut.sum_duplicates()
        return rhs, cut

    h = _highs(max(deadline - time.monotonic(), 0.5))
    # Rows are added between solves: no presolve, so that each solve starts from the
    # last basis (the dual simplex method then needs few iterations).
    h.setOptionValue("presolve", "off")
    h.setOptionValue("solver", "simplex")
    no_int = np.array([], np.int32)
    theta_floor = np.asarray(
        np.bincount(group, weights=ww * dn[:, 0], minlength=g_count), np.float64
    )
    h.addCols(m, np.zeros(m), np.zeros(m), np.ones(m), 0, no_int, no_int, np.array([]))
    h.addCols(
        g_count,
        np.ones(g_count),
        theta_floor,
        np.full(g_count, INF),
        0,
        no_int,
        no_int,
        np.array([]),
    )
    h.addRow(k, k, m, np.arange(m, dtype=np.int32), np.ones(m))

    def add(rhs: NDArray[np.float64], cut: sp.csr_array, which: NDArray[np.int64]) -> None:
        if which.size == 0:
            return
        theta = sp.csr_array(
            (np.ones(which.size), (np.arange(which.size), which)), shape=(which.size, g_count)
        )
        block = sp.csr_array(sp.hstack([cut[which], theta], format="csr"))
        block.sort_indices()
        h.addRows(
            which.size,
            rhs[which],
            np.full(which.size, INF),
            block.nnz,
            block.indptr[:-1].astype(np.int32),
            block.indices.astype(np.int32),
            block.data.astype(np.float64),
        )

    def violated(
        rhs: NDArray[np.float64],
        cut: sp.csr_array,
        y: NDArray[np.float64],
        theta: NDArray[np.float64],
    ) -> NDArray[np.int64]:
        achieved = rhs - cut @ y
        return np.flatnonzero(achieved > theta + 1e-9 * np.maximum(np.abs(achieved), 1.0))

    def plan_cost(sites: list[int]) -> float:
        y = np.zeros(m)
        y[sites] = 1
        rhs, cut = separate(y)
        return float((rhs - cut @ y).sum())

    everything = np.arange(g_count)
    best_sites = list(incumbent)
    best_cost = plan_cost(best_sites)
    y_inc = np.zeros(m)
    y_inc[best_sites] = 1
    add(*separate(y_inc), everything)
    inner = np.full(m, k / m)
    add(*separate(inner), everything)
    bound = -math.inf
    relaxed: NDArray[np.float64] | None = None

    def remaining() -> float:
        return deadline - time.monotonic()

    # Phase 1: the linear relaxation.
    while remaining() > 0:
        _time_limit(h, remaining(), mip=False)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        value = float(h.getInfo().objective_function_value)
        sol = np.asarray(h.getSolution().col_value)
        y, theta = sol[:m], sol[m:]
        bound = max(bound, value)
        relaxed = y
        rhs, cut = separate(y)
        which = violated(rhs, cut, y, theta)
        if which.size == 0:
            break
        add(rhs, cut, which)
        mid = 0.5 * inner + 0.5 * y
        rhs2, cut2 = separate(mid)
        add(rhs2, cut2, violated(rhs2, cut2, y, theta))
        inner = mid
    if bound >= best_cost * (1 - GAP_TOLERANCE) or remaining() <= 1.0:
        return bound, best_sites, relaxed
    # Phase 2: integer y, cuts at each integer plan.
    h.changeColsIntegrality(
        m, np.arange(m, dtype=np.int32), np.full(m, highspy.HighsVarType.kInteger)
    )
    while remaining() > 0:
        _time_limit(h, remaining(), mip=True)
        y_start = np.zeros(m)
        y_start[best_sites] = 1
        rhs0, cut0 = separate(y_start)
        _start(h, np.concatenate([y_start, rhs0 - cut0 @ y_start]))
        h.run()
        found, dual = _mip_result(h, m)
        if not math.isnan(dual):
            bound = max(bound, dual)
        if found is None or len(found) != k:
            break
        cost_found = plan_cost(found)
        if cost_found < best_cost:
            best_sites, best_cost = found, cost_found
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        y = np.zeros(m)
        y[found] = 1
        theta = np.asarray(h.getSolution().col_value)[m:]
        rhs, cut = separate(y)
        which = violated(rhs, cut, y, theta)
        if which.size == 0 or bound >= best_cost * (1 - GAP_TOLERANCE):
            break
        add(rhs, cut, which)
    return bound, best_sites, relaxed


def p_median(
    cost: ArrayLike,
    weights: ArrayLike,
    k: int,
    *,
    existing: ArrayLike | None = None,
    time_limit: float = 50.0,
    exact_limit: int = EXACT_LIMIT,
    neighbours: int = 64,
) -> Solution:
    """Choose ``k`` candidates minimising ``Σ_i w_i · cost to the nearest open facility``.

    ``cost``: demand × candidates (``inf`` where there is no route); ``existing``: each
    demand point's cost to its nearest existing facility (``inf``: none).
    """
    started = time.monotonic()
    deadline = started + time_limit
    c = _cost_matrix(cost)
    n, m = c.shape
    w = _weights(weights, n)
    base = _existing(existing, n)
    k = _k(k, m)
    stranded = (w > 0) & ~np.isfinite(base) & ~np.any(np.isfinite(c), axis=1)
    if np.any(stranded):
        raise ValueError(
            f"demand point {int(np.flatnonzero(stranded)[0])} can reach no candidate and no "
            "existing facility, so every plan leaves it unserved"
        )
    cf = _finite(c)
    # "No existing facility" is an option costlier than any route, for the heuristics.
    basef = np.where(np.isfinite(base), base, float(cf.max()) * 10 + 1)
    # The heuristic gets up to a third of the time; the bound the rest.
    h_deadline = started + time_limit / 3
    depth = m if n * m <= exact_limit else neighbours
    nb = _neighbours(cf, depth)
    sites = _greedy_median(cf, nb, w, basef, k, h_deadline)
    sites = _swap_median(cf, nb, w, basef, sites, h_deadline)
    value = _objective(c, base, w, sites)
    # The last tenth of the time polishes a rounding of the relaxation.
    polish = (deadline - time.monotonic()) * 0.1 if depth < m else 0.0
    bound, found, relaxed = _median_benders(cf, w, basef, k, nb, sites, deadline - polish)
    found_value = _objective(c, base, w, found)
    if found_value < value:
        sites, value = found, found_value
    if relaxed is not None and polish > 0:
        alt = [int(j) for j in np.argsort(-relaxed, kind="stable")[:k]]
        alt = _swap_median(cf, nb, w, basef, alt, deadline)
        alt_value = _objective(c, base, w, alt)
        if alt_value < value:
            sites, value = alt, alt_value
    method = "greedy+swap, highs benders" if depth < m else "highs benders (exact)"
    bound = min(bound, value) if math.isfinite(bound) and math.isfinite(value) else math.nan
    return Solution(
        "p_median",
        tuple(sorted(sites)),
        value,
        bound,
        _gap(value, bound),
        method,
        time.monotonic() - started,
        "min",
    )


# --- coverage ----------------------------------------------------------------------------------


def _cover_sets(
    c: NDArray[np.float64], radius: float, base: NDArray[np.float64]
) -> tuple[sp.csr_array, NDArray[np.bool_]]:
    """(which candidates cover which demand point, demand already covered by existing)."""
    if not radius > 0:
        raise ValueError("the covering radius must be positive")
    already = base <= radius
    covers = sp.csr_array(c <= radius)
    return covers, already


def _greedy_cover(covers: sp.csr_array, weight: NDArray[np.float64], k: int) -> list[int]:
    """Add, k times, the candidate covering the most weight not covered yet."""
    csc = sp.csc_array(covers)
    left = weight.copy()
    chosen: list[int] = []
    m = covers.shape[1]
    open_ = np.zeros(m, dtype=bool)
    for _ in range(k):
        gain = np.asarray(covers.T @ left).ravel()
        gain[open_] = -1
        j = int(np.argmax(gain))
        chosen.append(j)
        open_[j] = True
        hit = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        left[hit] = 0
    return chosen


def covered_share(
    cost: ArrayLike,
    sites: Sequence[int],
    radius: float,
    existing: ArrayLike | None,
    counts: ArrayLike,
) -> float:
    c = _cost_matrix(cost)
    base = _existing(existing, c.shape[0])
    g = _weights(counts, c.shape[0], "counts")
    covered = assignment_cost(c, base, sites) <= radius
    total = g.sum()
    return float(g[covered].sum() / total) if total > 0 else math.nan


def _cover_benders(
    covers: sp.csr_array,
    weight: NDArray[np.float64],
    k: int,
    incumbent: list[int],
    deadline: float,
    *,
    totals: NDArray[np.float64] | None = None,
    fixed: NDArray[np.float64] | None = None,
    groups: int = 256,
) -> tuple[float, list[int]]:
    """Covering objectives by Benders decomposition (Cordeau, Furini & Ljubić 2019).

    ``covers``: demand × candidates, true where the candidate covers the point (only points
    that some candidate covers and no existing facility does). ``weight``: demand × groups.
    With one group and no ``totals`` the objective is the weight covered (MCLP); with
    ``totals`` it is the smallest group's coverage share ``t`` (``fixed`` = each group's
    weight already covered).

    A point's coverage is ``min(1, Σ_{j covers i} y_j)``; at any ``ŷ`` both ``1`` and
    ``Σ y_j`` bound it from above, whichever is smaller at ``ŷ`` is the cut, summed over a
    cluster of points into a cut on ``θ_{cluster, group}``. The master (y, θ, t) is solved by
    HiGHS, first as a linear programme, then with integer y; its optimum, or HiGHS' dual
    bound, bounds every plan from above.

    Returns (upper bound on the objective, best plan found).
    """
    n, m = covers.shape
    n_groups = weight.shape[1]
    maxmin = totals is not None
    if n == 0:
        return math.nan, list(incumbent)
    csr = sp.csr_array(covers, dtype=np.float64)
    first = csr.indices[csr.indptr[:-1]]  # each point's first covering candidate
    g_count = max(1, min(groups, n))
    cluster = (first % g_count).astype(np.int64)
    # θ index: cluster × group
    n_theta = g_count * n_groups
    theta_cap = np.zeros(n_theta)
    for h in range(n_groups):
        theta_cap[h * g_count : (h + 1) * g_count] = np.bincount(
            cluster, weights=weight[:, h], minlength=g_count
        )
    point_row = sp.csr_array((np.ones(n), (cluster, np.arange(n))), shape=(g_count, n))

    def separate(y: NDArray[np.float64]) -> tuple[NDArray[np.float64], sp.csr_array]:
        s = csr @ y
        full = s >= 1 - 1e-9
        consts = []
        blocks = []
        for h in range(n_groups):
            wh = weight[:, h]
            consts.append(np.bincount(cluster, weights=np.where(full, wh, 0.0), minlength=g_count))
            partial = sp.diags_array(np.where(full, 0.0, wh))
            blocks.append(sp.csr_array(point_row @ partial @ csr))
        return np.concatenate(consts), sp.csr_array(sp.vstack(blocks, format="csr"))

    h_ = _highs(max(deadline - time.monotonic(), 0.5))
    h_.setOptionValue("presolve", "off")
    h_.setOptionValue("solver", "simplex")
    no_int = np.array([], np.int32)
    h_.addCols(m, np.zeros(m), np.zeros(m), np.ones(m), 0, no_int, no_int, np.array([]))
    if maxmin:
        assert totals is not None
        h_.addCols(
            n_theta,
            np.zeros(n_theta),
            np.zeros(n_theta),
            theta_cap,
            0,
            no_int,
            no_int,
            np.array([]),
        )
        h_.addCols(1, np.ones(1), np.zeros(1), np.ones(1), 0, no_int, no_int, np.array([]))
        fx = fixed if fixed is not None else np.zeros(n_groups)
        for h in range(n_groups):
            cols = np.concatenate([m + h * g_count + np.arange(g_count), [m + n_theta]])
            vals = np.concatenate([np.full(g_count, -1.0 / totals[h]), [1.0]])
            h_.addRow(-INF, float(fx[h] / totals[h]), cols.size, cols.astype(np.int32), vals)
    else:
        h_.addCols(
            n_theta,
            np.ones(n_theta),
            np.zeros(n_theta),
            theta_cap,
            0,
            no_int,
            no_int,
            np.array([]),
        )
    h_.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h_.addRow(k, k, m, np.arange(m, dtype=np.int32), np.ones(m))
    n_col = m + n_theta + (1 if maxmin else 0)

    def add(const: NDArray[np.float64], cut: sp.csr_array, which: NDArray[np.int64]) -> None:
        # θ_r − Σ coef_j y_j ≤ const_r
        if which.size == 0:
            return
        theta = sp.csr_array(
            (np.ones(which.size), (np.arange(which.size), m + which)),
            shape=(which.size, n_col),
        )
        left = sp.csr_array((-cut[which]).tocoo(), shape=(which.size, m))
        block = sp.csr_array(sp.hstack([left, sp.csr_array((which.size, n_col - m))]) + theta)
        block.sort_indices()
        h_.addRows(
            which.size,
            np.full(which.size, -INF),
            const[which],
            block.nnz,
            block.indptr[:-1].astype(np.int32),
            block.indices.astype(np.int32),
            block.data.astype(np.float64),
        )

    def violated(
        const: NDArray[np.float64],
        cut: sp.csr_array,
        y: NDArray[np.float64],
        theta: NDArray[np.float64],
    ) -> NDArray[np.int64]:
        allowed = const + cut @ y
        return np.flatnonzero(theta > allowed + 1e-9 * np.maximum(np.abs(allowed), 1.0))

    def value_of(y: NDArray[np.float64]) -> float:
        covered = np.minimum(csr @ y, 1.0)
        got = covered @ weight
        if maxmin:
            assert totals is not None
            fx = fixed if fixed is not None else np.zeros(n_groups)
            return float(np.min((got + fx) / totals))
        return float(got.sum())

    everything = np.arange(n_theta)
    best = list(incumbent)
    y_best = np.zeros(m)
    y_best[best] = 1
    best_value = value_of(y_best)
    add(*separate(y_best), everything)
    inner = np.full(m, k / m)
    add(*separate(inner), everything)
    bound = math.inf

    def remaining() -> float:
        return deadline - time.monotonic()

    def solved() -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
        sol = np.asarray(h_.getSolution().col_value)
        value = float(h_.getInfo().objective_function_value)
        return value, sol[:m], sol[m : m + n_theta]

    while remaining() > 0:
        _time_limit(h_, remaining(), mip=False)
        h_.run()
        if h_.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        value, y, theta = solved()
        bound = min(bound, value)
        const, cut = separate(y)
        which = violated(const, cut, y, theta)
        if which.size == 0:
            break
        add(const, cut, which)
        mid = 0.5 * inner + 0.5 * y
        const2, cut2 = separate(mid)
        add(const2, cut2, violated(const2, cut2, y, theta))
        inner = mid
    if bound <= best_value * (1 + GAP_TOLERANCE) + 1e-12 or remaining() <= 1.0:
        return bound, best
    h_.changeColsIntegrality(
        m, np.arange(m, dtype=np.int32), np.full(m, highspy.HighsVarType.kInteger)
    )
    while remaining() > 0:
        _time_limit(h_, remaining(), mip=True)
        const0, cut0 = separate(y_best)
        theta0 = const0 + cut0 @ y_best
        start = [y_best, np.minimum(theta0, theta_cap)]
        if maxmin:
            start.append(np.array([value_of(y_best)]))
        _start(h_, np.concatenate(start))
        h_.run()
        status = h_.getModelStatus()
        info = h_.getInfo()
        dual = float(info.mip_dual_bound)
        if math.isfinite(dual) and status in (
            highspy.HighsModelStatus.kOptimal,
            highspy.HighsModelStatus.kTimeLimit,
            highspy.HighsModelStatus.kInterrupt,
        ):
            bound = min(bound, dual)
        if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
            break
        _value, y, theta = solved()
        y = (y > 0.5).astype(np.float64)
        if int(y.sum()) == k:
            found_value = value_of(y)
            if found_value > best_value:
                best, best_value, y_best = [int(j) for j in np.flatnonzero(y)], found_value, y
        if status != highspy.HighsModelStatus.kOptimal:
            break
        const, cut = separate(y)
        which = violated(const, cut, y, theta)
        if which.size == 0 or bound <= best_value * (1 + GAP_TOLERANCE) + 1e-12:
            break
        add(const, cut, which)
    return bound, best


def _polish_cover(
    covers: sp.csr_array,
    weight: NDArray[np.float64],
    sites: list[int],
    acceptable: Callable[[list[int]], bool],
    deadline: float,
) -> list[int]:
    """Swaps that cover more weight while ``acceptable`` still holds (for the equity
    objective, whose optimum is rarely unique: among the fairest plans, one that serves more
    people)."""
    csc = sp.csc_array(covers, dtype=np.float64)
    sites = list(sites)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        count = np.asarray(csc[:, sites].sum(axis=1)).ravel()
        for slot, r in enumerate(list(sites)):
            col = np.zeros(covers.shape[0])
            col[csc.indices[csc.indptr[r] : csc.indptr[r + 1]]] = 1
            after = count - col
            loss = float(weight[(after == 0) & (col > 0)].sum())
            gain = np.asarray(csc.T @ np.where(after == 0, weight, 0.0)).ravel()
            gain[sites] = -np.inf
            for j in np.argsort(-gain)[:5]:
                if not gain[j] - loss > 1e-9 * max(float(weight.sum()), 1.0):
                    break
                trial = sites.copy()
                trial[slot] = int(j)
                if acceptable(trial):
                    sites, improved = trial, True
                    break
            if improved or time.monotonic() > deadline:
                break
    return sites


def max_cover(
    cost: ArrayLike,
    weights: ArrayLike,
    k: int,
    radius: float,
    *,
    existing: ArrayLike | None = None,
    time_limit: float = 50.0,
) -> Solution:
    """Maximal covering location (Church & ReVelle 1974): choose ``k`` candidates covering
    the most weight within ``radius``. ``value`` is the weight covered, existing included."""
    started = time.monotonic()
    c = _cost_matrix(cost)
    n, m = c.shape
    w = _weights(weights, n)
    base = _existing(existing, n)
    k = _k(k, m)
    covers, already = _cover_sets(c, radius, base)
    fixed = float(w[already].sum())
    start = _greedy_cover(covers, np.where(already, 0.0, w), k)
    reachable = np.asarray(covers.sum(axis=1)).ravel() > 0
    rows = np.flatnonzero(reachable & ~already & (w > 0))
    bound, sites = _cover_benders(
        sp.csr_array(covers[rows]), w[rows, None], k, start, started + time_limit
    )

    def covered(s: Sequence[int]) -> float:
        return float(w[assignment_cost(c, base, s) <= radius].sum())

    value = covered(sites)
    total = bound + fixed if math.isfinite(bound) else math.nan
    if not math.isnan(total):
        total = max(total, value)
    return Solution(
        "max_cover",
        tuple(sorted(sites)),
        value,
        total,
        _gap(value, total),
        "greedy, highs benders",
        time.monotonic() - started,
        "max",
    )


def max_min_coverage(
    cost: ArrayLike,
    groups: Mapping[str, ArrayLike],
    k: int,
    radius: float,
    *,
    existing: ArrayLike | None = None,
    time_limit: float = 50.0,
) -> Solution:
    """Equity: choose ``k`` candidates maximising the smallest coverage share (within
    ``radius``) over the groups, total coverage breaking ties. ``value`` is that smallest
    share, between 0 and 1."""
    started = time.monotonic()
    c = _cost_matrix(cost)
    n, m = c.shape
    base = _existing(existing, n)
    k = _k(k, m)
    if not groups:
        raise ValueError("at least one group is needed")
    counts = {name: _weights(g, n, f"group {name!r}") for name, g in groups.items()}
    counts = {name: g for name, g in counts.items() if g.sum() > 0}
    if not counts:
        raise ValueError("every group is empty")
    names = list(counts)
    matrix = np.column_stack([counts[g] for g in names])
    covers, already = _cover_sets(c, radius, base)
    everyone = matrix.sum(axis=1)
    start = _greedy_cover(covers, np.where(already, 0.0, everyone), k)
    reachable = np.asarray(covers.sum(axis=1)).ravel() > 0
    rows = np.flatnonzero(reachable & ~already & (everyone > 0))
    totals = matrix.sum(axis=0)
    fixed = matrix[already].sum(axis=0)

    def worst(s: Sequence[int]) -> float:
        covered = assignment_cost(c, base, s) <= radius
        return float(np.min(matrix[covered].sum(axis=0) / totals))

    bound, sites = _cover_benders(
        sp.csr_array(covers[rows]),
        matrix[rows],
        k,
        start,
        started + time_limit,
        totals=totals,
        fixed=fixed,
    )
    value = worst(sites)
    if worst(start) > value:
        sites, value = start, worst(start)
    sites = _polish_cover(
        sp.csr_array(covers),
        np.where(already, 0.0, everyone),
        sites,
        lambda s: worst(s) >= value - 1e-12,
        started + time_limit,
    )
    bound_t = min(bound, 1.0) if math.isfinite(bound) else math.nan
    if not math.isnan(bound_t):
        bound_t = max(bound_t, value)
    return Solution(
        "max_min_coverage",
        tuple(sorted(sites)),
        value,
        bound_t,
        _gap(value, bound_t),
        "greedy, highs benders",
        time.monotonic() - started,
        "max",
    )


# --- any objective by local search ---------------------------------------------------------------


def local_search(
    objective: Callable[[Sequence[int]], float],
    m: int,
    k: int,
    *,
    candidates: Sequence[int] | None = None,
    time_limit: float = 30.0,
    name: str = "custom",
) -> Solution:
    """Greedy then first-improvement swaps for any objective to minimise over k-subsets.
    A heuristic: no bound is claimed (``bound`` and ``gap`` are nan)."""
    started = time.monotonic()
    deadline = started + time_limit
    k = _k(k, m)
    pool = list(range(m)) if candidates is None else sorted({int(j) for j in candidates})
    if len(pool) < k:
        raise ValueError(f"k = {k} is more than the {len(pool)} candidate sites")
    chosen: list[int] = []
    current = math.inf
    for _ in range(k):
        best_j, best_v = -1, math.inf
        for j in pool:
            if j in chosen:
                continue
            v = objective([*chosen, j])
            if v < best_v:
                best_j, best_v = j, v
        if best_j < 0:
            break
        chosen.append(best_j)
        current = best_v
        if time.monotonic() > deadline:
            break
    for j in pool:  # out of time during greedy: fill up
        if len(chosen) >= k:
            break
        if j not in chosen:
            chosen.append(j)
            current = objective(chosen)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for slot in range(k):
            for j in pool:
                if j in chosen:
                    continue
                trial = chosen.copy()
                trial[slot] = j
                v = objective(trial)
                if v < current - 1e-12:
                    chosen, current, improved = trial, v, True
                    break
                if time.monotonic() > deadline:
                    break
            if time.monotonic() > deadline:
                break
    return Solution(
        name,
        tuple(sorted(chosen)),
        current,
        math.nan,
        math.nan,
        "greedy+swap",
        time.monotonic() - started,
        "min",
    )


# --- a whole plan: every objective, and the trade-off table ------------------------------------


@dataclass(frozen=True)
class AccessModel:
    """What floating-catchment access needs: existing supply, and candidates' reach."""

    population: NDArray[np.float64]
    capacity: NDArray[np.float64]  # existing facilities
    reach: accessibility.Reach  # demand × existing facilities
    candidate_reach: accessibility.Reach  # demand × candidates
    new_capacity: float
    method: accessibility.Method = "e2sfca"
    decay: accessibility.DecayKind = "gaussian"

    def access(self, sites: Sequence[int]) -> accessibility.Accessibility:
        chosen = np.asarray(sorted(sites), dtype=np.int32)
        r = self.reach
        cr = self.candidate_reach
        if chosen.size:
            slot = np.full(cr.n_supply, -1, dtype=np.int64)
            slot[chosen] = np.arange(chosen.size)
            keep = slot[cr.supply] >= 0
            reach = accessibility.Reach(
                np.concatenate([r.demand, cr.demand[keep]]),
                np.concatenate([r.supply, (r.n_supply + slot[cr.supply[keep]]).astype(np.int32)]),
                np.concatenate([r.cost, cr.cost[keep]]),
                r.n_demand,
                r.n_supply + int(chosen.size),
                r.threshold,
            )
            capacity = np.concatenate([self.capacity, np.full(chosen.size, self.new_capacity)])
        else:
            reach, capacity = r, self.capacity
        return accessibility.accessibility(
            self.population, capacity, reach, method=self.method, decay=self.decay
        )

    def gini(self, sites: Sequence[int]) -> float:
        if self.population.sum() <= 0:
            return 0.0
        return inequality.gini(self.access(sites).access, self.population)


def min_gini(
    model: AccessModel,
    k: int,
    *,
    candidates: Sequence[int] | None = None,
    time_limit: float = 30.0,
) -> Solution:
    """Equity: choose ``k`` candidates minimising the population-weighted Gini of access."""
    m = model.candidate_reach.n_supply
    if candidates is None:
        # Candidates that reach nobody cannot change anyone's access.
        reach_pop = np.bincount(
            model.candidate_reach.supply,
            weights=model.population[model.candidate_reach.demand],
            minlength=m,
        )
        candidates = [int(j) for j in np.flatnonzero(reach_pop > 0)] or list(range(m))
        if len(candidates) < k:
            candidates = list(range(m))
    return local_search(
        model.gini, m, k, candidates=candidates, time_limit=time_limit, name="min_gini"
    )


@dataclass(frozen=True)
class Measures:
    """One plan (or the present) measured every way."""

    mean_cost: float  # population-weighted cost to the nearest facility (inf: someone none)
    covered: float  # population share within the radius
    group_coverage: dict[str, float]
    worst_group: str
    worst_coverage: float
    access_gini: float
    access_mean: float


@dataclass(frozen=True)
class Plan:
    k: int
    radius: float
    solutions: dict[str, Solution]
    before: Measures
    after: dict[str, Measures] = field(default_factory=dict)


def measure(
    cost: NDArray[np.float64],
    existing: NDArray[np.float64],
    population: NDArray[np.float64],
    groups: Mapping[str, NDArray[np.float64]],
    radius: float,
    model: AccessModel | None,
    sites: Sequence[int],
) -> Measures:
    best = assignment_cost(cost, existing, sites)
    total = population.sum()
    reached = population > 0
    mean_cost = (
        float(np.dot(population[reached], best[reached]) / total)
        if total > 0 and np.all(np.isfinite(best[reached]))
        else math.inf
    )
    covered = best <= radius
    cov = inequality.coverage(covered, dict(groups))
    valid = {g: v for g, v in cov.items() if not math.isnan(v)}
    worst_group = min(valid, key=lambda g: valid[g]) if valid else ""
    if model is not None and total > 0:
        acc = model.access(sites).access
        gini = inequality.gini(acc, population)
        mean = float(np.dot(acc, population) / total)
    else:
        gini = mean = math.nan
    return Measures(
        mean_cost=mean_cost,
        covered=float(population[covered].sum() / total) if total > 0 else math.nan,
        group_coverage=cov,
        worst_group=worst_group,
        worst_coverage=valid[worst_group] if worst_group else math.nan,
        access_gini=gini,
        access_mean=mean,
    )


def plan(
    cost: ArrayLike,
    population: ArrayLike,
    k: int,
    radius: float,
    *,
    existing: ArrayLike | None = None,
    groups: Mapping[str, ArrayLike] | None = None,
    model: AccessModel | None = None,
    objectives: Sequence[str] = OBJECTIVES,
    time_limit: float = 60.0,
) -> Plan:
    """Solve each objective and measure every solution every way (the trade-off table)."""
    c = _cost_matrix(cost)
    n, m = c.shape
    pop = _weights(population, n, "population")
    base = _existing(existing, n)
    k = _k(k, m)
    if not radius > 0:
        raise ValueError("the covering radius must be positive")
    unknown = [o for o in objectives if o not in OBJECTIVES]
    if unknown:
        raise ValueError(f"unknown objective {unknown[0]!r}: use {', '.join(OBJECTIVES)}")
    if "min_gini" in objectives and model is None:
        raise ValueError("the Gini objective needs the access model")
    grp = {name: _weights(g, n, f"group {name!r}") for name, g in (groups or {}).items()}
    if not grp:
        grp = {"all": pop}
    share = time_limit / max(len(objectives), 1)
    solutions: dict[str, Solution] = {}
    for objective in objectives:
        if objective == "p_median":
            solutions[objective] = p_median(c, pop, k, existing=base, time_limit=share)
        elif objective == "max_cover":
            solutions[objective] = max_cover(c, pop, k, radius, existing=base, time_limit=share)
        elif objective == "max_min_coverage":
            solutions[objective] = max_min_coverage(
                c, grp, k, radius, existing=base, time_limit=share
            )
        else:
            assert model is not None
            solutions[objective] = min_gini(model, k, time_limit=share)
    before = measure(c, base, pop, grp, radius, model, [])
    after = {o: measure(c, base, pop, grp, radius, model, s.sites) for o, s in solutions.items()}
    return Plan(k, float(radius), solutions, before, after)
