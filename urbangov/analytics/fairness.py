"""Bias audits: how an algorithm's decisions and errors fall on groups of people.

Per group: counts, selection rate, true/false positive and negative rates, precision (PPV),
mean outcome time; each rate with its Wilson score interval. Against a reference group:
difference and ratio, a two-proportion z-test, and a *finding* where the ratio lies outside
the tolerance (default the four-fifths rule: 0.8 ≤ ratio ≤ 1.25) and the difference stays
significant after Holm's correction for the number of comparisons.

Which error matters is chosen per algorithm, as Aequitas's fairness tree does: a *punitive*
algorithm (it sanctions, inspects, refuses) is judged on false positives, an *assistive* one
(it grants, helps, prioritises) on false negatives; ``selection`` looks at selection rates.

Everything is one vectorised pass: the confusion matrix of every group is a single
``bincount`` over ``group × label × prediction`` codes. Pure numpy/scipy: no Django, no I/O.
Definitions and references: ``docs/algorithms.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

METRICS = ("selection_rate", "tpr", "fpr", "fnr", "ppv")
# Which metrics a finding is judged on, per kind of algorithm (Aequitas's fairness tree).
FOCUS: dict[str, tuple[str, ...]] = {
    "punitive": ("fpr",),
    "assistive": ("fnr",),
    "selection": ("selection_rate",),
    "all": ("selection_rate", "fpr", "fnr"),
}
FOUR_FIFTHS = 0.8


class AuditError(ValueError):
    """Input an audit cannot be run on; the message says what is wrong."""


@dataclass(frozen=True)
class Rate:
    """A proportion ``k / n`` with its Wilson score interval (NaN where ``n`` is 0)."""

    k: int
    n: int
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class GroupMetrics:
    group: str
    n: int
    tp: int
    fp: int
    fn: int
    tn: int
    selection_rate: Rate
    tpr: Rate
    fpr: Rate
    fnr: Rate
    ppv: Rate
    mean_outcome_time: float | None = None

    def rate(self, metric: str) -> Rate:
        value: Rate = getattr(self, metric)
        return value


@dataclass(frozen=True)
class Disparity:
    group: str
    metric: str
    value: float
    reference_value: float
    difference: float  # value − reference value
    ratio: float  # value / reference value (NaN where the reference is 0)
    p_value: float  # two-proportion z-test, two-sided
    p_adjusted: float = math.nan  # Holm, over the comparisons judged (NaN where not judged)


@dataclass(frozen=True)
class Finding:
    group: str
    metric: str
    ratio: float
    difference: float
    p_adjusted: float
    text: str


@dataclass(frozen=True)
class Audit:
    groups: dict[str, GroupMetrics]
    reference: str
    disparities: list[Disparity]
    findings: list[Finding]
    focus: str
    threshold: float
    alpha: float
    columns: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        """The CLI's contract: ``{"groups", "reference", "disparities", "findings"}``."""
        disparities: dict[str, dict[str, Any]] = {}
        for g, m in self.groups.items():
            disparities[g] = {
                metric: {
                    "value": _num(m.rate(metric).value),
                    "ci": [_num(m.rate(metric).low), _num(m.rate(metric).high)],
                }
                for metric in METRICS
            }
            if m.mean_outcome_time is not None:
                disparities[g]["mean_outcome_time"] = {"value": _num(m.mean_outcome_time)}
        for d in self.disparities:
            disparities[d.group][d.metric].update(
                {
                    "reference": _num(d.reference_value),
                    "difference": _num(d.difference),
                    "ratio": _num(d.ratio),
                    "p_value": _num(d.p_value),
                    "p_adjusted": _num(d.p_adjusted),
                }
            )
        return {
            "groups": {
                g: {
                    "n": m.n,
                    "selection_rate": _num(m.selection_rate.value),
                    "tpr": _num(m.tpr.value),
                    "fpr": _num(m.fpr.value),
                    "fnr": _num(m.fnr.value),
                    "ppv": _num(m.ppv.value),
                }
                for g, m in self.groups.items()
            },
            "reference": self.reference,
            "disparities": disparities,
            "findings": [
                {
                    "group": f.group,
                    "metric": f.metric,
                    "ratio": _num(f.ratio),
                    "difference": _num(f.difference),
                    "p_adjusted": _num(f.p_adjusted),
                    "text": f.text,
                }
                for f in self.findings
            ],
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# --- the kernels -----------------------------------------------------------------------------


def wilson(
    k: NDArray[np.integer], n: NDArray[np.integer], z: float = 1.959963984540054
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval of ``k / n``, elementwise; NaN where ``n`` is 0."""
    kf = np.asarray(k, dtype=np.float64)
    nf = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = kf / nf
        denom = 1.0 + z * z / nf
        centre = (p + z * z / (2.0 * nf)) / denom
        half = z * np.sqrt(p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)) / denom
    return centre - half, centre + half


def holm(p_values: ArrayLike) -> NDArray[np.float64]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    stepped = (m - np.arange(m)) * p[order]
    adjusted = np.minimum(np.maximum.accumulate(stepped), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test; NaN where undefined."""
    if n1 == 0 or n2 == 0:
        return math.nan
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0.0:
        return 1.0
    z = (k1 / n1 - k2 / n2) / se
    return float(2.0 * stats.norm.sf(abs(z)))


def two_proportion_p_array(
    k1: NDArray[np.float64], n1: NDArray[np.float64], k2: int, n2: int
) -> NDArray[np.float64]:
    """:func:`two_proportion_p` of many groups against one reference, vectorised."""
    k2f, n2f = np.float64(k2), np.float64(n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (k1 + k2f) / (n1 + n2f)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2f))
        z = (k1 / n1 - k2f / n2f) / se
        p = 2.0 * stats.norm.sf(np.abs(z))
    p = np.where(se == 0.0, 1.0, p)
    return np.asarray(np.where((n1 == 0) | (n2f == 0), np.nan, p), dtype=np.float64)


def factorize(values: ArrayLike, name: str = "group") -> tuple[NDArray[np.integer], list[str]]:
    """Codes ``0..k-1`` and the (sorted) group names of one group column. Small non-negative
    integer codes are taken as they are (no sort), anything else through ``np.unique``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise AuditError(f"{name} must be one column, not shape {arr.shape}")
    if arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() < 1 << 16:
        present = np.flatnonzero(np.bincount(arr))
        if present.size == int(arr.max()) + 1:  # codes 0..k-1 already: no copy
            return arr, [str(v) for v in present]
        lookup = np.full(int(arr.max()) + 1, -1, dtype=np.int32)
        lookup[present] = np.arange(present.size)
        return lookup[arr], [str(v) for v in present]
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise AuditError(f"{name} has missing values")
    if arr.dtype.kind == "O" and any(v is None or v != v for v in arr):
        raise AuditError(f"{name} has missing values")
    if arr.dtype.kind in "OUS":
        arr = np.char.strip(arr.astype(str))
        if np.any(arr == ""):
            raise AuditError(f"{name} has missing values")
    uniques, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int32, copy=False), [str(u) for u in uniques]


def binary(values: ArrayLike, name: str) -> NDArray[np.int8]:
    """A 0/1 column: booleans, 0/1 numbers, or the strings 0/1, true/false, yes/no."""
    arr = np.asarray(values)
    if arr.dtype == np.bool_:
        return arr.astype(np.int8)
    if arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() <= 1:
        return arr.astype(np.int8)
    if arr.dtype.kind in "iuf":
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise AuditError(f"{name} has missing values")
        if not np.all((arr == 0) | (arr == 1)):
            bad = sorted({str(v) for v in np.unique(arr)} - {"0", "1", "0.0", "1.0"})[:5]
            raise AuditError(f"{name} is not binary: values other than 0 and 1 ({', '.join(bad)})")
        return arr.astype(np.int8)
    text = np.char.lower(np.char.strip(arr.astype(str)))
    if np.any((text == "") | (text == "none") | (text == "nan")):
        raise AuditError(f"{name} has missing values")
    ones = np.isin(text, ["1", "1.0", "true", "yes"])
    zeros = np.isin(text, ["0", "0.0", "false", "no"])
    if not np.all(ones | zeros):
        bad = sorted(set(np.unique(text[~(ones | zeros)]).tolist()))[:5]
        raise AuditError(f"{name} is not binary: values {', '.join(bad)} are neither 0 nor 1")
    return ones.astype(np.int8)


def group_metrics(
    codes: NDArray[np.integer],
    names: Sequence[str],
    labels: NDArray[np.int8],
    predictions: NDArray[np.int8],
    outcome_time: ArrayLike | None = None,
) -> dict[str, GroupMetrics]:
    """The confusion matrix and rates of every group, in one ``bincount``."""
    k = len(names)
    cell: NDArray[np.int64] = np.array(codes, dtype=np.int64)
    cell *= 4
    cell += labels * 2
    cell += predictions
    cells = np.bincount(cell, minlength=4 * k).reshape(k, 4)
    tn, fp, fn, tp = cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3]
    n = cells.sum(axis=1)
    pairs = {
        "selection_rate": (tp + fp, n),
        "tpr": (tp, tp + fn),
        "fpr": (fp, fp + tn),
        "fnr": (fn, tp + fn),
        "ppv": (tp, tp + fp),
    }
    rates: dict[str, tuple[Any, Any, Any, Any, Any]] = {}
    for metric, (num, den) in pairs.items():
        low, high = wilson(num, den)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = num / den.astype(np.float64)
        rates[metric] = (num, den, value, low, high)
    mean_time: NDArray[np.float64] | None = None
    if outcome_time is not None:
        t = np.asarray(outcome_time, dtype=np.float64)
        known = np.isfinite(t)
        sums = np.bincount(codes[known], weights=t[known], minlength=k)
        counts = np.bincount(codes[known], minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_time = sums / counts
    out: dict[str, GroupMetrics] = {}
    for i, g in enumerate(names):
        made = {
            metric: Rate(int(num[i]), int(den[i]), float(value[i]), float(low[i]), float(high[i]))
            for metric, (num, den, value, low, high) in rates.items()
        }
        out[g] = GroupMetrics(
            group=g,
            n=int(n[i]),
            tp=int(tp[i]),
            fp=int(fp[i]),
            fn=int(fn[i]),
            tn=int(tn[i]),
            mean_outcome_time=(
                None
                if mean_time is None or not math.isfinite(mean_time[i])
                else float(mean_time[i])
            ),
            **made,
        )
    return out


# --- the audit -------------------------------------------------------------------------------


def audit(
    groups: ArrayLike | Mapping[str, ArrayLike],
    labels: ArrayLike,
    predictions: ArrayLike,
    *,
    reference: str | None = None,
    outcome_time: ArrayLike | None = None,
    focus: str = "all",
    threshold: float = FOUR_FIFTHS,
    alpha: float = 0.05,
    min_n: int = 1,
) -> Audit:
    """Audit ``predictions`` (0/1) against ``labels`` (0/1) by group.

    ``groups`` is one column, or several by name (their combinations are the groups, named
    ``a|b|c``). ``reference`` defaults to the largest group. A finding is a metric in
    ``FOCUS[focus]`` whose ratio to the reference lies outside ``[threshold, 1/threshold]``
    with a Holm-adjusted p-value below ``alpha``, in a group of at least ``min_n``.
    """
    if focus not in FOCUS:
        raise AuditError(f"unknown focus {focus!r}; one of {', '.join(FOCUS)}")
    if not 0.0 < threshold <= 1.0:
        raise AuditError("the threshold is a ratio between 0 and 1 (four-fifths: 0.8)")
    y = binary(labels, "the label column")
    p = binary(predictions, "the prediction column")
    columns: tuple[str, ...]
    if isinstance(groups, Mapping):
        columns = tuple(groups)
        if not columns:
            raise AuditError("no group column given")
        codes, names = _combine([factorize(groups[c], c) for c in columns])
    else:
        columns = ()
        codes, names = factorize(groups)
    if not (codes.size == y.size == p.size):
        raise AuditError(
            f"columns of different lengths: {codes.size} groups, {y.size} labels, "
            f"{p.size} predictions"
        )
    if codes.size == 0:
        raise AuditError("there are no rows to audit")
    if len(names) < 2:
        raise AuditError(
            f"the group column has a single value ({names[0]!r}): there is nothing to compare"
        )
    if outcome_time is not None and np.asarray(outcome_time).size != codes.size:
        raise AuditError("the outcome time column has a different length")
    by_group = group_metrics(codes, names, y, p, outcome_time)
    if reference is None:
        reference = max(by_group.values(), key=lambda m: (m.n, m.group)).group
    elif reference not in by_group:
        shown = ", ".join(sorted(by_group)[:20])
        raise AuditError(f"the reference group {reference!r} does not occur; groups: {shown}")
    ref = by_group[reference]
    others = [g for g in by_group if g != reference]
    raw: list[Disparity] = []
    for metric in METRICS:
        b = ref.rate(metric)
        k1 = np.array([by_group[g].rate(metric).k for g in others], dtype=np.float64)
        n1 = np.array([by_group[g].rate(metric).n for g in others], dtype=np.float64)
        values = np.array([by_group[g].rate(metric).value for g in others])
        p_values = two_proportion_p_array(k1, n1, b.k, b.n)
        for i, g in enumerate(others):
            raw.append(
                Disparity(
                    group=g,
                    metric=metric,
                    value=float(values[i]),
                    reference_value=b.value,
                    difference=float(values[i]) - b.value,
                    ratio=float(values[i]) / b.value if b.value else math.nan,
                    p_value=float(p_values[i]),
                )
            )
    judged = [
        i
        for i, d in enumerate(raw)
        if d.metric in FOCUS[focus] and by_group[d.group].n >= min_n and math.isfinite(d.p_value)
    ]
    adjusted = holm([raw[i].p_value for i in judged])
    disparities = list(raw)
    for i, q in zip(judged, adjusted, strict=True):
        d = raw[i]
        disparities[i] = Disparity(**{**d.__dict__, "p_adjusted": float(q)})
    findings: list[Finding] = []
    for i in judged:
        d = disparities[i]
        outside = math.isfinite(d.ratio) and not (threshold <= d.ratio <= 1.0 / threshold)
        if d.reference_value == 0.0 and d.value > 0.0:
            outside = True  # infinitely many times the reference's rate
        if outside and d.p_adjusted < alpha:
            findings.append(
                Finding(
                    group=d.group,
                    metric=d.metric,
                    ratio=d.ratio,
                    difference=d.difference,
                    p_adjusted=d.p_adjusted,
                    text=(
                        f"{d.metric} of {d.group} is {d.value:.3f} against {d.reference_value:.3f}"
                        f" for {reference} (ratio {d.ratio:.2f}, outside "
                        f"{threshold:.2f}–{1 / threshold:.2f}; Holm-adjusted p = {d.p_adjusted:.2g})"
                    ),
                )
            )
    return Audit(
        groups=by_group,
        reference=reference,
        disparities=disparities,
        findings=findings,
        focus=focus,
        threshold=threshold,
        alpha=alpha,
        columns=columns,
    )


def _combine(
    parts: Sequence[tuple[NDArray[np.integer], list[str]]],
) -> tuple[NDArray[np.integer], list[str]]:
    """Groups of several columns: their present combinations, named ``a|b|c``."""
    sizes = [len(names) for _, names in parts]
    total = int(np.prod(sizes))
    # Mixed-radix codes built in place (no temporaries of the full length).
    codes: NDArray[np.int64] = np.array(parts[0][0], dtype=np.int64)
    for (c, _), size in zip(parts[1:], sizes[1:], strict=True):
        codes *= size
        codes += c
    present = np.flatnonzero(np.bincount(codes, minlength=total))
    names = [
        "|".join(parts[j][1][int(i)] for j, i in enumerate(np.unravel_index(int(flat), sizes)))
        for flat in present
    ]
    if present.size == total:
        return codes, names
    lookup = np.full(total, -1, dtype=codes.dtype)
    lookup[present] = np.arange(present.size)
    return lookup[codes], names
