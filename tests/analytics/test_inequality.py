"""Equity measures against hand-computed values, published formulas and naive
implementations (repeating each value as many times as its weight)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from urbangov.analytics import inequality as ineq


def expand(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.repeat(x, w.astype(int))


def naive_gini(x: np.ndarray) -> float:
    n = len(x)
    mu = x.mean()
    return sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * n * n * mu)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return rng.gamma(2.0, 3.0, 60).round(2), rng.integers(1, 6, 60).astype(float)


def test_gini_by_hand_and_naive(data: tuple[np.ndarray, np.ndarray]) -> None:
    # (1,2,3,4,5): Σ|xi−xj| over ordered pairs = 40; 40 / (2·25·3) = 0.2667
    assert ineq.gini([1, 2, 3, 4, 5]) == pytest.approx(40 / 150)
    assert ineq.gini([7, 7, 7]) == 0
    assert ineq.gini([0, 0, 0, 10]) == pytest.approx(0.75)  # (n−1)/n for one holder
    x, w = data
    assert ineq.gini(x, w) == pytest.approx(naive_gini(expand(x, w)), rel=1e-12)


def test_theil_and_atkinson_against_naive_and_by_hand(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, w = data
    e = expand(x, w)
    mu = e.mean()
    assert ineq.theil_t(x, w) == pytest.approx(np.mean(e / mu * np.log(e / mu)), rel=1e-12)
    assert ineq.theil_l(x, w) == pytest.approx(np.mean(np.log(mu / e)), rel=1e-12)
    for eps in (0.5, 2.0):
        ede = np.mean((e / mu) ** (1 - eps)) ** (1 / (1 - eps))
        assert ineq.atkinson(x, w, eps) == pytest.approx(1 - ede, rel=1e-12)
    assert ineq.atkinson(x, w, 1.0) == pytest.approx(1 - stats.gmean(e) / mu, rel=1e-12)
    # (1, 3): μ = 2; T = ½(½ ln ½ + 3/2 ln 3/2); L = ½(ln 2 + ln 2/3)
    assert ineq.theil_t([1, 3]) == pytest.approx(0.5 * (0.5 * math.log(0.5) + 1.5 * math.log(1.5)))
    assert ineq.theil_l([1, 3]) == pytest.approx(0.5 * (math.log(2) + math.log(2 / 3)))
    # Atkinson ε = 1 on (1, 4): 1 − √4 / 2.5 = 0.2
    assert ineq.atkinson([1, 4], epsilon=1) == pytest.approx(0.2)
    # Zeros: T is defined, L is not, Atkinson(ε ≥ 1) = 1
    assert math.isinf(ineq.theil_l([0, 1]))
    assert ineq.theil_t([0, 1]) == pytest.approx(math.log(2))
    assert ineq.atkinson([0, 1], epsilon=2) == 1.0


@pytest.mark.parametrize("kind", ["T", "L"])
def test_theil_decomposition_adds_up_and_matches_the_definition(
    kind: str, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, w = data
    groups = np.array(["east", "west", "north"])[np.arange(60) % 3]
    dec = ineq.theil_decomposition(x, groups, w, kind=kind)
    assert dec.total == pytest.approx(dec.between + dec.within, rel=1e-12)
    index = ineq.theil_t if kind == "T" else ineq.theil_l
    assert dec.total == pytest.approx(index(x, w), rel=1e-12)
    # between: the index of the group means given to everyone in the group
    means = {g: np.average(x[groups == g], weights=w[groups == g]) for g in set(groups)}
    smoothed = np.array([means[g] for g in groups])
    assert dec.between == pytest.approx(index(smoothed, w), rel=1e-10)
    assert 0 <= dec.between_share <= 1


def test_concentration_index_matches_kakwani_formula_and_is_signed() -> None:
    # Without ties or weights: C = 2/(n μ) Σ h_i R_i − 1 − 1/n with R_i = i/n (Kakwani 1997)
    rng = np.random.default_rng(3)
    income = rng.permutation(40).astype(float)
    health = rng.gamma(2, 1, 40)
    order = np.argsort(income)
    h = health[order]
    n, mu = len(h), h.mean()
    kakwani = 2 / (n * mu) * np.sum(h * np.arange(1, n + 1) / n) - 1 - 1 / n
    assert ineq.concentration_index(health, income) == pytest.approx(kakwani, rel=1e-12)
    # Integer weights equal repeating the units (ties share their group's rank).
    w = rng.integers(1, 4, 40).astype(float)
    assert ineq.concentration_index(health, income, w) == pytest.approx(
        ineq.concentration_index(expand(health, w), expand(income, w)), rel=1e-12
    )
    # Concentrated among the poorest: negative; among the richest: positive.
    assert ineq.concentration_index([5, 1, 0], [0, 1, 2]) < 0
    assert ineq.concentration_index([0, 1, 5], [0, 1, 2]) > 0
    assert ineq.concentration_index([2, 2, 2], [0, 1, 2]) == pytest.approx(0)


def test_coverage_and_group_gaps_by_hand() -> None:
    access = [0.0, 1.0, 3.0]
    pop = [100, 100, 200]
    old = [50, 10, 0]
    cov = ineq.coverage([False, True, True], {"all": pop, "old": old})
    assert cov == {"all": pytest.approx(0.75), "old": pytest.approx(10 / 60)}
    gaps = {g.group: g for g in ineq.group_gaps(access, pop, {"old": old}, [False, True, True])}
    base = (0 + 100 + 600) / 400
    assert gaps["old"].mean == pytest.approx(10 / 60)
    assert gaps["old"].gap == pytest.approx(10 / 60 - base)
    assert gaps["old"].relative == pytest.approx((10 / 60) / base - 1)
    assert gaps["old"].coverage == pytest.approx(10 / 60)


def test_digital_divide_flags_high_index_areas_that_lean_on_phone_and_counter() -> None:
    result = ineq.digital_divide(
        elderly_share=[0.35, 0.10, 0.12, 0.30, 0.08],
        migrant_share=[0.05, 0.40, 0.10, 0.30, 0.05],
        low_income_share=[0.6, 0.2, 0.0, 0.7, 0.0],
        offline_cases=[80, 30, 20, 10, 5],
        cases=[100, 100, 100, 20, 50],
        population=[1000, 1000, 1000, 1000, 1000],
    )
    city = 145 / 370
    assert result.city_offline_share == pytest.approx(city)
    z0 = (0.8 - city) / math.sqrt(city * (1 - city) / 100)
    assert result.offline_z[0] == pytest.approx(z0)
    # Area 0: old, poor, 80 % offline — flagged. Area 3 is poorer still but uses digital
    # channels (10 of 20 offline is not significantly above the city): not flagged.
    assert result.flagged.tolist() == [True, False, False, False, False]
    assert np.all((result.index >= 0) & (result.index <= 1))
    # By hand for area 0: components min–max scaled, weights 0.3/0.2/0.2/0.3
    e = (0.35 - 0.08) / (0.35 - 0.08)
    m = 0.0
    low = 0.6 / 0.7
    off = (0.8 - 0.1) / (0.8 - 0.1)
    assert result.index[0] == pytest.approx(0.3 * e + 0.2 * m + 0.2 * low + 0.3 * off)


def test_standardised_rates_by_hand_and_significance() -> None:
    # Category a: 10 cases, 2 reopened (p = 0.2); b: 10 cases, 8 reopened (p = 0.8).
    # Area X has 5 of a (1 reopened) and 5 of b (5 reopened): O = 6, E = 5, V = 5(.16)+5(.16).
    outcome = [1, 0, 0, 0, 0] + [1, 0, 0, 0, 0] + [1] * 5 + [1, 1, 1, 0, 0]
    category = ["a"] * 10 + ["b"] * 10
    area = ["X"] * 5 + ["Y"] * 5 + ["X"] * 5 + ["Y"] * 5
    res = ineq.standardise(outcome, category, area, kind="rate")
    x = res.labels.index("X")
    assert res.observed[x] == 6 and res.expected[x] == pytest.approx(5)
    assert res.ratio[x] == pytest.approx(1.2)
    assert res.z[x] == pytest.approx(1 / math.sqrt(10 * 0.16))
    assert res.p[x] == pytest.approx(2 * stats.norm.sf(1 / math.sqrt(1.6)))
    # An area whose rate is only higher because it has more of the hard category is not
    # flagged: same per-category rates, different mix.
    outcome = [1, 0, 0, 0, 0] * 2 + [1, 1, 1, 1, 0] + [1, 0, 0, 0, 0] + [1, 1, 1, 1, 0] * 2
    category = ["easy"] * 10 + ["hard"] * 5 + ["easy"] * 5 + ["hard"] * 10
    area = ["A"] * 15 + ["B"] * 15
    res = ineq.standardise(outcome, category, area, kind="rate")
    assert res.ratio == pytest.approx([1.0, 1.0])
    assert not res.significant.any()


def test_standardised_times_by_hand() -> None:
    # Category c times 1, 4 (mean log = ln 2); area P has the 4: ratio exp(ln 4 − ln 2) = 2.
    res = ineq.standardise(
        [1, 4, 2, 8], ["c", "c", "d", "d"], ["Q", "P", "Q", "P"], kind="log-mean"
    )
    p = res.labels.index("P")
    assert res.ratio[p] == pytest.approx(2.0)
    assert res.observed[p] == pytest.approx(math.sqrt(4 * 8))  # geometric mean of its times
    # A big, clear difference is significant after correction; a tie is not.
    rng = np.random.default_rng(2)
    times = np.exp(rng.normal(0, 0.3, 400))
    slow = np.r_[np.ones(200), np.zeros(200)].astype(bool)
    times[slow] *= 1.5
    cats = np.array(["x", "y"] * 200)
    res = ineq.standardise(times, cats, np.where(slow, "slow", "fast"), kind="log-mean")
    assert res.significant.all()
    assert res.ratio[res.labels.index("slow")] > 1.2


def test_benjamini_hochberg_matches_the_textbook_example() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: .005 .01 .03 .04 → ×4/rank: .02 .02 .04 .04
    assert ineq.benjamini_hochberg(p).tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ineq.gini([1, -2]), "negative"),
        (lambda: ineq.gini([1, 2], [1, -1]), "negative"),
        (lambda: ineq.gini([1, 2], [1]), "1 weights for 2"),
        (lambda: ineq.gini([1, 2], [0, 0]), "nobody"),
        (lambda: ineq.atkinson([1, 2], epsilon=-1), "epsilon"),
        (lambda: ineq.standardise([0, 2], ["a", "a"], ["x", "y"]), "0 or 1"),
        (lambda: ineq.standardise([0, 2], ["a", "a"], ["x", "y"], kind="log-mean"), "positive"),
        (lambda: ineq.theil_decomposition([1, 2], ["a"], kind="T"), "one group label"),
    ],
)
def test_bad_input_is_refused(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()
