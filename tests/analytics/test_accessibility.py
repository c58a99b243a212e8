"""Accessibility: 2SFCA, E2SFCA (step, Gaussian) and gravity against a hand calculation, a
naive dense implementation, and PySAL ``access`` on the real Chicago tracts."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from urbangov.analytics import accessibility as ac

# The shared data folder sits beside the repository (CI lays it there too).
CHICAGO = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[2].parent / "shared/data/chicago_health_access",
            Path("/work/shared/data/chicago_health_access"),
        )
        if p.is_dir()
    ),
    Path("/work/shared/data/chicago_health_access"),
)
CHICAGO_CSV = CHICAGO / "chicago_tracts_pop_doctors_dentists.csv"


def chicago_data() -> Any:
    """The 1,930 Chicago tracts as a DataFrame. PySAL ``access`` (and pandas with it) is in the
    ``test`` extra, so it is imported, never skipped; without the data the check skips, except
    under URBANGOV_REQUIRE_DATA=1 (CI), where it fails."""
    import pandas as pd

    if not CHICAGO_CSV.exists():
        message = f"the Chicago data set is not at {CHICAGO_CSV}"
        if os.environ.get("URBANGOV_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return pd.read_csv(CHICAGO_CSV, dtype={"geoid": str})


def naive_fca(
    pop: np.ndarray, cap: np.ndarray, cost: np.ndarray, threshold: float, weight=None
) -> np.ndarray:
    """2SFCA straight from the definition, with loops over a dense matrix."""
    n, m = cost.shape
    w = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            if cost[i, j] <= threshold:
                w[i, j] = 1.0 if weight is None else weight(cost[i, j])
    ratio = np.zeros(m)
    for j in range(m):
        demand = sum(pop[i] * w[i, j] for i in range(n))
        ratio[j] = cap[j] / demand if demand > 0 else 0.0
    return np.array([sum(ratio[j] * w[i, j] for j in range(m)) for i in range(n)])


def test_two_step_fca_by_hand() -> None:
    # Two cells, two clinics on a line: A at 0 (pop 100), B at 10 (pop 300); clinic X at 2
    # (capacity 10), Y at 12 (capacity 20); threshold 5.
    # X serves A only: R_X = 10/100 = 0.1. Y serves B only: R_Y = 20/300. A = 0.1, B = 1/15.
    reach = ac.reach_from_points([[0, 0], [10, 0]], [[2, 0], [12, 0]], 5)
    result = ac.two_step_fca([100, 300], [10, 20], reach)
    assert result.access == pytest.approx([0.1, 20 / 300])
    # Threshold 9: X reaches A and B (B at 8), Y reaches B only.
    # R_X = 10/400, R_Y = 20/300; A = 0.025, B = 0.025 + 0.0667.
    reach = ac.reach_from_points([[0, 0], [10, 0]], [[2, 0], [12, 0]], 9)
    result = ac.two_step_fca([100, 300], [10, 20], reach)
    assert result.access == pytest.approx([0.025, 0.025 + 20 / 300])
    assert result.ratio == pytest.approx([0.025, 20 / 300])
    # The capacity is all handed out: Σ_i P_i A_i = Σ_j S_j when everyone reaches something.
    assert float(np.dot([100, 300], result.access)) == pytest.approx(30)


def test_a_pair_exactly_at_the_threshold_is_in_reach_and_nothing_beyond() -> None:
    reach = ac.reach_from_points([[0, 0], [0, 0]], [[3, 4], [30, 40]], 5)
    assert sorted(zip(reach.demand.tolist(), reach.supply.tolist(), strict=True)) == [
        (0, 0),
        (1, 0),
    ]
    assert reach.cost == pytest.approx([5, 5])


@pytest.mark.parametrize("method", ["2sfca", "e2sfca-step", "e2sfca-gaussian", "gravity"])
def test_every_method_matches_a_naive_dense_implementation(method: str) -> None:
    rng = np.random.default_rng(4)
    demand = rng.uniform(0, 10_000, (120, 2))
    supply = rng.uniform(0, 10_000, (15, 2))
    pop = rng.integers(0, 500, 120).astype(float)
    cap = rng.integers(1, 50, 15).astype(float)
    t = 2500.0
    cost = np.hypot(
        demand[:, None, 0] - supply[None, :, 0], demand[:, None, 1] - supply[None, :, 1]
    )
    reach = ac.reach_from_points(demand, supply, t)
    if method == "2sfca":
        ours = ac.two_step_fca(pop, cap, reach).access
        ref = naive_fca(pop, cap, cost, t)
    elif method == "e2sfca-step":
        ours = ac.enhanced_two_step_fca(pop, cap, reach, decay="step").access

        def step(d: float) -> float:
            return 1.0 if d <= t / 3 else (0.68 if d <= 2 * t / 3 else 0.22)

        ref = naive_fca(pop, cap, cost, t, step)
    elif method == "e2sfca-gaussian":
        ours = ac.enhanced_two_step_fca(pop, cap, reach, decay="gaussian", sigma=900).access
        ref = naive_fca(pop, cap, cost, t, lambda d: math.exp(-(d**2) / (2 * 900**2)))
    else:
        ours = ac.gravity(pop, cap, reach, beta=1.5, min_cost=100).access
        ref = naive_fca(pop, cap, cost, t, lambda d: (max(d, 100) / t) ** -1.5)
    assert np.allclose(ours, ref, rtol=1e-12, atol=0)
    assert ours.min() >= 0


def test_a_cost_matrix_dense_or_sparse_gives_the_same_as_coordinates() -> None:
    rng = np.random.default_rng(5)
    demand = rng.uniform(0, 100, (40, 2))
    supply = rng.uniform(0, 100, (6, 2))
    cost = np.hypot(
        demand[:, None, 0] - supply[None, :, 0], demand[:, None, 1] - supply[None, :, 1]
    )
    pop = rng.integers(1, 100, 40)
    cap = rng.integers(1, 10, 6)
    from_points = ac.two_step_fca(pop, cap, ac.reach_from_points(demand, supply, 30)).access
    from_dense = ac.two_step_fca(pop, cap, ac.reach_from_costs(cost, 30)).access
    masked = np.where(cost <= 30, cost, 0)
    routes = sp.csr_array(masked)  # a stored 0 would be a route of cost 0; none here
    from_sparse = ac.two_step_fca(pop, cap, ac.reach_from_costs(routes, 30)).access
    assert np.allclose(from_points, from_dense, rtol=1e-13)
    assert np.allclose(from_points, from_sparse, rtol=1e-13)
    # "No route" in a dense matrix
    blocked = cost.copy()
    blocked[:, 0] = np.inf
    assert ac.reach_from_costs(blocked, 30).supply.min() >= 1


def test_haversine_reach_agrees_with_the_formula_and_a_known_distance() -> None:
    # Beijing (116.4074, 39.9042) to Shanghai (121.4737, 31.2304): about 1,067 km.
    d = ac.haversine(
        np.array([116.4074]), np.array([39.9042]), np.array([121.4737]), np.array([31.2304])
    )
    assert d[0] == pytest.approx(1_067_000, rel=0.005)
    rng = np.random.default_rng(6)
    demand = np.column_stack([rng.uniform(116.0, 116.4, 300), rng.uniform(39.7, 40.0, 300)])
    supply = np.column_stack([rng.uniform(116.0, 116.4, 20), rng.uniform(39.7, 40.0, 20)])
    reach = ac.reach_from_points(demand, supply, 3000, metric="haversine")
    full = ac.haversine(
        demand[:, None, 0], demand[:, None, 1], supply[None, :, 0], supply[None, :, 1]
    )
    i, j = np.nonzero(full <= 3000)
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == sorted(
        zip(reach.demand.tolist(), reach.supply.tolist(), strict=True)
    )


def test_no_facility_in_reach_is_zero_access_and_flagged() -> None:
    reach = ac.reach_from_points([[0, 0], [100, 100]], [[1, 0]], 5)
    result = ac.two_step_fca([10, 10], [5], reach)
    assert result.access.tolist() == [0.5, 0.0]
    assert result.in_reach.tolist() == [True, False]
    assert np.isinf(reach.nearest()[1]) and reach.nearest()[0] == 1


def test_group_means_weight_by_the_group() -> None:
    means = ac.group_means([1.0, 3.0], {"old": [1, 3], "young": [0, 0]})
    assert means["old"] == pytest.approx(2.5)
    assert math.isnan(means["young"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: ac.two_step_fca(
                [-1, 2], [1], ac.reach_from_points([[0, 0], [1, 1]], [[0, 0]], 5)
            ),
            "negative",
        ),
        (
            lambda: ac.two_step_fca(
                [1, 2], [-3], ac.reach_from_points([[0, 0], [1, 1]], [[0, 0]], 5)
            ),
            "negative",
        ),
        (
            lambda: ac.two_step_fca([1], [1], ac.reach_from_points([[0, 0], [1, 1]], [[0, 0]], 5)),
            "1 values for 2",
        ),
        (lambda: ac.reach_from_points([[0, np.nan]], [[0, 0]], 5), "missing"),
        (lambda: ac.reach_from_points([[0, 0]], [[0, 0]], -5), "positive"),
        (lambda: ac.reach_from_points([[200, 0]], [[0, 0]], 5, metric="haversine"), "longitude"),
        (lambda: ac.reach_from_costs(np.ones(3), 5), "two-dimensional"),
        (lambda: ac.check_shapes(ac.reach_from_costs(np.ones((3, 2)), 5), 3, 4), "3 × 2"),
        (
            lambda: ac.enhanced_two_step_fca(
                [1], [1], ac.reach_from_points([[0, 0]], [[0, 0]], 5), decay="cubic"
            ),
            "unknown decay",
        ),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


def test_a_million_cells_stay_sparse() -> None:
    # Memory grows with the pairs in reach, not with cells × facilities.
    rng = np.random.default_rng(7)
    demand = rng.uniform(0, 50_000, (200_000, 2))
    supply = rng.uniform(0, 50_000, (2_000, 2))
    reach = ac.reach_from_points(demand, supply, 500)
    assert reach.pairs < 0.01 * 200_000 * 2_000
    result = ac.two_step_fca(np.ones(200_000), np.ones(2_000), reach)
    assert result.access.shape == (200_000,)


# --- PySAL access on the real Chicago tracts -------------------------------------------------


@pytest.fixture(scope="module")
def chicago():  # type: ignore[no-untyped-def]
    return chicago_data()


def _peer(df, supply_df, threshold: float):  # type: ignore[no-untyped-def]
    """PySAL access on the same points, with Euclidean costs from EPSG:2790 x/y."""
    import pandas as pd
    from access import Access
    from scipy.spatial.distance import cdist

    xy_d = df[["x_epsg2790", "y_epsg2790"]].to_numpy()
    xy_s = supply_df[["x_epsg2790", "y_epsg2790"]].to_numpy()
    cost = cdist(xy_d, xy_s)
    i, j = np.nonzero(cost <= threshold)
    cost_df = pd.DataFrame(
        {
            "origin": df.geoid.to_numpy()[i],
            "dest": supply_df.geoid.to_numpy()[j],
            "cost": cost[i, j],
        }
    )
    return Access(
        demand_df=df[["geoid", "pop"]],
        demand_index="geoid",
        demand_value="pop",
        supply_df=supply_df[["geoid", "doc"]],
        supply_index="geoid",
        supply_value="doc",
        cost_df=cost_df,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )


@pytest.mark.parametrize("method", ["2sfca", "e2sfca-step", "e2sfca-gaussian", "gravity"])
def test_chicago_matches_pysal_access(chicago, method: str) -> None:  # type: ignore[no-untyped-def]
    from access import weights

    t = 20_000.0
    xy = chicago[["x_epsg2790", "y_epsg2790"]].to_numpy()
    peer = _peer(chicago, chicago, t)
    reach = ac.reach_from_points(xy, xy, t)
    pop, doc = chicago["pop"].to_numpy(), chicago["doc"].to_numpy()
    if method == "2sfca":
        ref = peer.two_stage_fca(name="x", max_cost=t)["x_doc"]
        ours = ac.two_step_fca(pop, doc, reach)
    elif method == "e2sfca-step":
        fn = weights.step_fn({t / 3: 1, 2 * t / 3: 0.68, t: 0.22})
        ref = peer.enhanced_two_stage_fca(name="x", max_cost=t, weight_fn=fn)["x_doc"]
        ours = ac.enhanced_two_step_fca(pop, doc, reach, decay="step")
    elif method == "e2sfca-gaussian":
        ref = peer.enhanced_two_stage_fca(name="x", max_cost=t, weight_fn=weights.gaussian(t / 2))[
            "x_doc"
        ]
        ours = ac.enhanced_two_step_fca(pop, doc, reach, decay="gaussian")
    else:
        fn = weights.gravity(t, -1.0, t / 10)
        ref = peer.two_stage_fca(name="x", max_cost=t, weight_fn=fn)["x_doc"]
        ours = ac.gravity(pop, doc, reach, beta=1.0)
    expected = ref.reindex(chicago.geoid).to_numpy()
    assert len(chicago) == 1930
    assert not np.isnan(expected).any()  # every tract reaches itself
    assert np.allclose(ours.access, expected, rtol=1e-9, atol=0)


def test_chicago_nan_in_access_is_zero_here(chicago) -> None:  # type: ignore[no-untyped-def]
    """Supply only where there are doctors, and a short catchment: some tracts reach none.
    PySAL access leaves those NaN; we give 0 and say they had nothing in reach."""
    t = 3_000.0
    supply = chicago[chicago.doc > 0].reset_index(drop=True)
    peer = _peer(chicago, supply, t)
    ref = peer.two_stage_fca(name="x", max_cost=t)["x_doc"].reindex(chicago.geoid).to_numpy()
    reach = ac.reach_from_points(
        chicago[["x_epsg2790", "y_epsg2790"]].to_numpy(),
        supply[["x_epsg2790", "y_epsg2790"]].to_numpy(),
        t,
    )
    ours = ac.two_step_fca(chicago["pop"].to_numpy(), supply["doc"].to_numpy(), reach)
    nan = np.isnan(ref)
    assert nan.sum() > 20
    assert np.array_equal(nan, ~ours.in_reach)
    assert np.all(ours.access[nan] == 0)
    assert np.allclose(ours.access[~nan], ref[~nan], rtol=1e-9, atol=0)
