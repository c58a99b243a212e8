"""Equity measures: how unequally something (access to a facility, a service outcome) is
spread over people, places and groups.

- Inequality indices, population-weighted: Gini, Theil T and Theil L with their
  between/within decomposition, Atkinson, and the concentration index against a
  socio-economic ranking.
- Coverage (the share of each group within reach) and the access gap of each group against
  the population average.
- The digital-divide index of areas and the areas digital channels under-serve.
- Service-level equity: outcomes by area standardised for the mix of case categories
  (indirect standardisation), with which differences are significant.

Definitions, formulas and references: ``docs/equity.md``. Pure numpy/scipy: no Django, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats


def _sums(
    index: NDArray[np.integer], weights: NDArray[np.float64], size: int
) -> NDArray[np.float64]:
    """``out[k] = Σ weights[index == k]`` (a weighted ``bincount``, typed as floats)."""
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


# --- inputs ----------------------------------------------------------------------------------


def _values(x: ArrayLike, name: str = "values") -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, not shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must all be finite numbers")
    return arr


def _weights(w: ArrayLike | None, size: int) -> NDArray[np.float64]:
    if w is None:
        return np.ones(size)
    arr = _values(w, "weights")
    if arr.size != size:
        raise ValueError(f"{arr.size} weights for {size} values")
    if np.any(arr < 0):
        raise ValueError("weights must not be negative")
    return arr


def _prepared(
    x: ArrayLike, w: ArrayLike | None, *, nonnegative: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    xs = _values(x)
    ws = _weights(w, xs.size)
    if nonnegative and np.any(xs[ws > 0] < 0):
        raise ValueError("inequality indices need values that are not negative")
    keep = ws > 0
    if not np.any(keep):
        raise ValueError("no positive weight: nobody to measure")
    return xs[keep], ws[keep]


def weighted_mean(x: ArrayLike, w: ArrayLike | None = None) -> float:
    xs, ws = _prepared(x, w, nonnegative=False)
    return float(np.dot(xs, ws) / ws.sum())


# --- indices ---------------------------------------------------------------------------------


def gini(x: ArrayLike, w: ArrayLike | None = None) -> float:
    """Weighted Gini: ``Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ)``, computed in O(n log n)
    from the sorted values. 0 = all equal; it approaches 1 when one holds everything.
    Equals the Gini of the data with each value repeated ``w`` times."""
    xs, ws = _prepared(x, w)
    mu = float(np.dot(xs, ws) / ws.sum())
    if mu == 0:
        return 0.0
    order = np.argsort(xs, kind="stable")
    xs, ws = xs[order], ws[order]
    total_w = ws.sum()
    cum_w = np.cumsum(ws)
    cum_xw = np.cumsum(xs * ws)
    # Σ_i Σ_j w_i w_j |x_i − x_j| = 2 Σ_i w_i (x_i W_{<i} − (xw)_{<i}) over the sorted values.
    below_w = cum_w - ws
    below_xw = cum_xw - xs * ws
    pairs = 2.0 * float(np.dot(ws, xs * below_w - below_xw))
    return pairs / (2.0 * total_w * total_w * mu)


def theil_t(x: ArrayLike, w: ArrayLike | None = None) -> float:
    """Theil T (GE(1)): ``(1/W) Σ w_i (x_i/μ) ln(x_i/μ)``, with ``0 ln 0 = 0``."""
    xs, ws = _prepared(x, w)
    mu = float(np.dot(xs, ws) / ws.sum())
    if mu == 0:
        return 0.0
    r = xs / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(r > 0, r * np.log(r), 0.0)
    return float(np.dot(ws, terms) / ws.sum())


def theil_l(x: ArrayLike, w: ArrayLike | None = None) -> float:
    """Theil L (GE(0), mean log deviation): ``(1/W) Σ w_i ln(μ/x_i)``. Infinite when anyone
    with a positive weight has 0 (then use Theil T or the Gini)."""
    xs, ws = _prepared(x, w)
    mu = float(np.dot(xs, ws) / ws.sum())
    if mu == 0:
        return 0.0
    if np.any(xs == 0):
        return math.inf
    return float(np.dot(ws, np.log(mu / xs)) / ws.sum())


def atkinson(x: ArrayLike, w: ArrayLike | None = None, epsilon: float = 0.5) -> float:
    """Atkinson index with inequality aversion ε ≥ 0: ``1 − (Σ w (x/μ)^(1−ε) / W)^(1/(1−ε))``,
    and ``1 − exp(Σ w ln x / W) / μ`` at ε = 1. 1 when ε ≥ 1 and someone has 0."""
    if epsilon < 0:
        raise ValueError("the inequality aversion epsilon must not be negative")
    xs, ws = _prepared(x, w)
    mu = float(np.dot(xs, ws) / ws.sum())
    if mu == 0:
        return 0.0
    if epsilon >= 1 and np.any(xs == 0):
        return 1.0
    r = xs / mu
    if epsilon == 1:
        ede = math.exp(float(np.dot(ws, np.log(r)) / ws.sum()))
    else:
        ede = float(np.dot(ws, r ** (1 - epsilon)) / ws.sum()) ** (1 / (1 - epsilon))
    return 1.0 - ede


def fractional_rank(rank_by: ArrayLike, w: ArrayLike | None = None) -> NDArray[np.float64]:
    """Each unit's weighted fractional rank in (0, 1) by ``rank_by`` (ascending): the share
    of the weight below it plus half its own; tied units share the rank of their group."""
    r = _values(rank_by, "ranking variable")
    ws = _weights(w, r.size)
    total = ws.sum()
    if total <= 0:
        raise ValueError("no positive weight: nobody to rank")
    values, inverse = np.unique(r, return_inverse=True)
    group_w = _sums(inverse, ws, values.size)
    below = np.cumsum(group_w) - group_w
    return np.asarray((below + group_w / 2)[inverse] / total)


def concentration_index(x: ArrayLike, rank_by: ArrayLike, w: ArrayLike | None = None) -> float:
    """Concentration index of ``x`` against a ranking from worst-off to best-off:
    ``C = 2 cov_w(x, R) / μ`` (Kakwani, Wagstaff & van Doorslaer 1997; O'Donnell et al.
    2008). Negative: ``x`` is concentrated among the worst-off; positive: the best-off."""
    xs = _values(x)
    ws = _weights(w, xs.size)
    rank = fractional_rank(rank_by, ws)
    if rank.size != xs.size:
        raise ValueError("one ranking value per value is needed")
    total = ws.sum()
    mu = float(np.dot(xs, ws) / total)
    if mu == 0:
        return 0.0
    mean_rank = float(np.dot(rank, ws) / total)
    cov = float(np.dot(ws, (xs - mu) * (rank - mean_rank)) / total)
    return 2.0 * cov / mu


@dataclass(frozen=True)
class GroupPart:
    """One group's part in a Theil decomposition."""

    label: str
    population_share: float
    mean: float
    index: float  # the group's own Theil index
    within: float  # its share of the within-group term


@dataclass(frozen=True)
class TheilDecomposition:
    kind: str  # "T" or "L"
    total: float
    between: float
    within: float
    groups: tuple[GroupPart, ...]

    @property
    def between_share(self) -> float:
        return self.between / self.total if self.total > 0 else 0.0


def theil_decomposition(
    x: ArrayLike,
    groups: Sequence[str] | ArrayLike,
    w: ArrayLike | None = None,
    *,
    kind: str = "T",
) -> TheilDecomposition:
    """Split Theil T or L into a between-group and a within-group part (Shorrocks 1980):

    - T: ``T = Σ_g s_g T_g + Σ_g s_g ln(μ_g/μ)`` with ``s_g = W_g μ_g / (W μ)``;
    - L: ``L = Σ_g p_g L_g + Σ_g p_g ln(μ/μ_g)`` with ``p_g = W_g / W``.
    """
    if kind not in ("T", "L"):
        raise ValueError("kind must be 'T' or 'L'")
    xs = _values(x)
    ws = _weights(w, xs.size)
    labels = np.asarray(groups).astype(str)
    if labels.shape != xs.shape:
        raise ValueError("one group label per value is needed")
    keep = ws > 0
    xs, ws, labels = xs[keep], ws[keep], labels[keep]
    if xs.size == 0:
        raise ValueError("no positive weight: nobody to measure")
    if np.any(xs < 0):
        raise ValueError("inequality indices need values that are not negative")
    index = theil_t if kind == "T" else theil_l
    total_w = ws.sum()
    mu = float(np.dot(xs, ws) / total_w)
    total = index(xs, ws)
    parts: list[GroupPart] = []
    between = 0.0
    within = 0.0
    for label in sorted(set(labels.tolist())):
        sel = labels == label
        wg, xg = ws[sel], xs[sel]
        p = float(wg.sum() / total_w)
        mu_g = float(np.dot(xg, wg) / wg.sum())
        t_g = index(xg, wg)
        if kind == "T":
            s = p * mu_g / mu if mu > 0 else 0.0
            part = s * t_g if s > 0 else 0.0
            between += s * math.log(mu_g / mu) if s > 0 else 0.0
        else:
            part = p * t_g
            between += p * (math.log(mu / mu_g) if mu_g > 0 else math.inf) if mu > 0 else 0.0
        within += part
        parts.append(GroupPart(label, p, mu_g, t_g, part))
    return TheilDecomposition(kind, total, between, within, tuple(parts))


@dataclass(frozen=True)
class Summary:
    """The headline indices of one distribution."""

    mean: float
    gini: float
    theil_t: float
    theil_l: float  # inf when someone has 0
    atkinson_05: float
    atkinson_1: float
    atkinson_2: float
    zero_share: float  # population share with 0


def summary(x: ArrayLike, w: ArrayLike | None = None) -> Summary:
    xs, ws = _prepared(x, w)
    return Summary(
        mean=float(np.dot(xs, ws) / ws.sum()),
        gini=gini(xs, ws),
        theil_t=theil_t(xs, ws),
        theil_l=theil_l(xs, ws),
        atkinson_05=atkinson(xs, ws, 0.5),
        atkinson_1=atkinson(xs, ws, 1.0),
        atkinson_2=atkinson(xs, ws, 2.0),
        zero_share=float(ws[xs == 0].sum() / ws.sum()),
    )


# --- coverage and group gaps ----------------------------------------------------------------


def coverage(covered: ArrayLike, groups: Mapping[str, ArrayLike]) -> dict[str, float]:
    """The share of each group living where ``covered`` is true (``nan`` for an empty group)."""
    c = np.asarray(covered, dtype=bool)
    out: dict[str, float] = {}
    for name, counts in groups.items():
        g = _values(counts, f"group {name!r}")
        if g.size != c.size:
            raise ValueError(f"group {name!r} has {g.size} values for {c.size} places")
        if np.any(g < 0):
            raise ValueError(f"group {name!r} has negative counts")
        total = g.sum()
        out[name] = float(g[c].sum() / total) if total > 0 else math.nan
    return out


@dataclass(frozen=True)
class GroupGap:
    """A group's mean access against the whole population's."""

    group: str
    people: float
    mean: float
    gap: float  # mean − population mean
    relative: float  # mean / population mean − 1
    coverage: float  # share of the group with anything in reach


def group_gaps(
    access: ArrayLike,
    population: ArrayLike,
    groups: Mapping[str, ArrayLike],
    in_reach: ArrayLike | None = None,
) -> list[GroupGap]:
    """Each group's population-weighted mean access, its gap to the population average, and
    its coverage (when ``in_reach`` is given)."""
    a = _values(access, "access")
    pop = _values(population, "population")
    if pop.size != a.size:
        raise ValueError("one population count per place is needed")
    reach = np.asarray(in_reach, dtype=bool) if in_reach is not None else a > 0
    base = float(np.dot(a, pop) / pop.sum()) if pop.sum() > 0 else math.nan
    gaps: list[GroupGap] = []
    for name, counts in groups.items():
        g = _values(counts, f"group {name!r}")
        if g.size != a.size:
            raise ValueError(f"group {name!r} has {g.size} values for {a.size} places")
        if np.any(g < 0):
            raise ValueError(f"group {name!r} has negative counts")
        total = float(g.sum())
        mean = float(np.dot(a, g) / total) if total > 0 else math.nan
        cov = float(g[reach].sum() / total) if total > 0 else math.nan
        rel = mean / base - 1 if base and not math.isnan(base) else math.nan
        gaps.append(GroupGap(name, total, mean, mean - base, rel, cov))
    return gaps


# --- digital divide ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitalDivide:
    """Per area: the index (0–1, higher = more at risk of being left out by digital
    channels), its components, and whether digital channels under-serve the area."""

    index: NDArray[np.float64]
    components: dict[str, NDArray[np.float64]]
    offline_share: NDArray[np.float64]  # share of cases by phone/counter/assisted (nan: none)
    offline_z: NDArray[np.float64]  # how far above the city's offline share, in s.e.
    flagged: NDArray[np.bool_]
    city_offline_share: float
    threshold: float  # index at or above which an area counts as high-risk


DIVIDE_WEIGHTS: dict[str, float] = {
    "elderly": 0.3,
    "migrant": 0.2,
    "low_income": 0.2,
    "offline": 0.3,
}


def digital_divide(
    *,
    elderly_share: ArrayLike,
    migrant_share: ArrayLike,
    low_income_share: ArrayLike,
    offline_cases: ArrayLike,
    cases: ArrayLike,
    population: ArrayLike,
    weights: Mapping[str, float] | None = None,
    quantile: float = 0.8,
    z_critical: float = 1.96,
) -> DigitalDivide:
    """The digital-divide index of each area and the areas flagged for outreach.

    Each component is rescaled to 0–1 across areas (min–max) and the index is their weighted
    mean (default weights in :data:`DIVIDE_WEIGHTS`): the share of residents aged 60+, the
    migrant share, the share living in low-income cells, and the share of the area's cases
    that came by phone, counter or staff assistance rather than app or web. An area is flagged
    when its index is in the top ``1 − quantile`` (population-weighted) **and** its offline
    share is significantly above the city's (one-sided z-test on a proportion).
    """
    comps_raw = {
        "elderly": _values(elderly_share, "elderly share"),
        "migrant": _values(migrant_share, "migrant share"),
        "low_income": _values(low_income_share, "low-income share"),
    }
    off = _values(offline_cases, "offline cases")
    n = _values(cases, "cases")
    pop = _values(population, "population")
    size = pop.size
    for name, arr in (*comps_raw.items(), ("offline cases", off), ("cases", n)):
        if arr.size != size:
            raise ValueError(f"{name} has {arr.size} values for {size} areas")
    if np.any(off > n) or np.any(off < 0):
        raise ValueError("offline cases must be between 0 and the number of cases")
    w = dict(weights or DIVIDE_WEIGHTS)
    total_cases = n.sum()
    city = float(off.sum() / total_cases) if total_cases > 0 else math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, off / n, np.nan)
        se = np.sqrt(city * (1 - city) / n) if total_cases > 0 else np.full(size, np.nan)
        z = np.where((n > 0) & (se > 0), (share - city) / se, np.nan)
    # An area without cases says nothing about channels: the city's share stands in for it.
    comps_raw["offline"] = np.where(np.isnan(share), city if not math.isnan(city) else 0, share)
    comps: dict[str, NDArray[np.float64]] = {}
    for name, arr in comps_raw.items():
        if arr.size == 0:
            comps[name] = arr
            continue
        lo, hi = float(arr.min()), float(arr.max())
        comps[name] = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    total_weight = sum(w.get(k, 0.0) for k in comps)
    if total_weight <= 0:
        raise ValueError("the component weights must add up to more than 0")
    index = sum(w.get(k, 0.0) * v for k, v in comps.items()) / total_weight
    index = np.asarray(index, dtype=np.float64)
    cut = weighted_quantile(index, pop if pop.sum() > 0 else None, quantile) if size else 0.0
    flagged = (index >= cut) & (np.nan_to_num(z, nan=-np.inf) >= z_critical)
    return DigitalDivide(index, comps, share, z, flagged, city, cut)


def weighted_quantile(x: ArrayLike, w: ArrayLike | None, q: float) -> float:
    """The smallest value at or below which a share ``q`` of the weight lies."""
    xs = _values(x)
    ws = _weights(w, xs.size)
    order = np.argsort(xs, kind="stable")
    cum = np.cumsum(ws[order])
    if cum.size == 0 or cum[-1] <= 0:
        raise ValueError("no positive weight")
    k = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(xs[order][min(k, xs.size - 1)])


# --- service-level equity: indirect standardisation ---------------------------------------------


@dataclass(frozen=True)
class Standardised:
    """An outcome by area, standardised for the mix of case categories.

    ``expected`` is what the area would show if each of its cases had its category's
    city-wide average; ``ratio`` = observed / expected (for a time: the geometric-mean ratio
    of the area's times to those expected). ``p`` is two-sided, ``q`` the Benjamini–Hochberg
    adjusted p over the areas, ``significant`` where ``q < alpha``.
    """

    labels: tuple[str, ...]
    n: NDArray[np.int64]
    observed: NDArray[np.float64]
    expected: NDArray[np.float64]
    ratio: NDArray[np.float64]
    z: NDArray[np.float64]
    p: NDArray[np.float64]
    q: NDArray[np.float64]
    significant: NDArray[np.bool_]
    kind: str  # "rate" or "log-mean"


def benjamini_hochberg(p: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate); ``nan`` stays ``nan``."""
    pv = np.asarray(p, dtype=np.float64)
    out = np.full(pv.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(pv))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(pv[ok], kind="stable")]
    ranked = pv[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out


def standardise(
    outcome: ArrayLike,
    category: Sequence[str] | ArrayLike,
    area: Sequence[str] | ArrayLike,
    *,
    kind: str = "rate",
    alpha: float = 0.05,
) -> Standardised:
    """Indirect standardisation of a per-case outcome by category, summarised by area.

    ``rate``: a 0/1 outcome (reopened, overdue, satisfied). Under the null hypothesis each
    case of category c has the city's rate p_c, so O ~ Σ Bernoulli(p_c):
    ``E = Σ p_c``, ``Var = Σ p_c (1 − p_c)``, ``z = (O − E) / √Var``.

    ``log-mean``: a positive time (hours to resolve), compared on the log scale: each case's
    residual from its category's mean log time; ``z = Σ r / √(Σ s_c²)`` with ``s_c²`` the
    category's variance of log time; ``ratio = exp(mean residual)``.
    """
    if kind not in ("rate", "log-mean"):
        raise ValueError("kind must be 'rate' or 'log-mean'")
    y = _values(outcome, "outcome")
    cats = np.asarray(category).astype(str)
    areas = np.asarray(area).astype(str)
    if cats.shape != y.shape or areas.shape != y.shape:
        raise ValueError("one category and one area per case are needed")
    if kind == "rate" and np.any((y != 0) & (y != 1)):
        raise ValueError("a rate needs outcomes of 0 or 1")
    if kind == "log-mean":
        if np.any(y <= 0):
            raise ValueError("times must be positive to compare them on the log scale")
        y = np.log(y)
    cat_values, cat_idx = np.unique(cats, return_inverse=True)
    area_values, area_idx = np.unique(areas, return_inverse=True)
    n_cat = np.bincount(cat_idx, minlength=cat_values.size).astype(np.float64)
    cat_mean = _sums(cat_idx, y, cat_values.size) / np.maximum(n_cat, 1)
    if kind == "rate":
        p_case = cat_mean[cat_idx]
        var_case = p_case * (1 - p_case)
        expected = _sums(area_idx, p_case, area_values.size)
        observed = _sums(area_idx, y, area_values.size)
        var = _sums(area_idx, var_case, area_values.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(expected > 0, observed / expected, np.nan)
            z = np.where(var > 0, (observed - expected) / np.sqrt(var), np.nan)
    else:
        resid = y - cat_mean[cat_idx]
        # Within-category variance (ddof 1 where a category has two cases or more).
        ss = _sums(cat_idx, resid * resid, cat_values.size)
        cat_var = np.where(n_cat > 1, ss / np.maximum(n_cat - 1, 1), 0.0)
        var = _sums(area_idx, cat_var[cat_idx], area_values.size)
        sum_resid = _sums(area_idx, resid, area_values.size)
        count = np.bincount(area_idx, minlength=area_values.size).astype(np.float64)
        sum_expected = _sums(area_idx, cat_mean[cat_idx], area_values.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Geometric means: the area's time, and the time its case mix would predict.
            expected = np.where(count > 0, np.exp(sum_expected / count), np.nan)
            observed = np.where(count > 0, np.exp((sum_expected + sum_resid) / count), np.nan)
            ratio = np.where(count > 0, np.exp(sum_resid / count), np.nan)
            z = np.where(var > 0, sum_resid / np.sqrt(var), np.nan)
    p = np.where(np.isnan(z), np.nan, 2 * stats.norm.sf(np.abs(z)))
    q = benjamini_hochberg(p)
    n = np.bincount(area_idx, minlength=area_values.size).astype(np.int64)
    return Standardised(
        labels=tuple(str(v) for v in area_values),
        n=n,
        observed=observed,
        expected=expected,
        ratio=ratio,
        z=z,
        p=p,
        q=q,
        significant=np.nan_to_num(q, nan=1.0) < alpha,
        kind=kind,
    )
