"""Equity benchmark: accessibility against PySAL ``access`` and siting against PySAL ``spopt``.

    .venv/bin/pip install -e '.[bench]'        # access, spopt
    .venv/bin/python bench/equity.py           # everything (about 10 minutes on 2 cores)
    .venv/bin/python bench/equity.py --quick   # small sizes, to check that it runs

1. 2SFCA and E2SFCA, 100,000 demand points × 2,000 facilities: our sparse kernels and PySAL
   access on the same pairs within the catchment; the largest relative difference and the
   time ratio, in the same run.
2. 2SFCA and E2SFCA, 1,000,000 × 10,000, from coordinates (the k-d tree search included).
3. p-median and maximal covering, 1,000 demand points × 100 sites: ours and spopt (PuLP with
   CBC, its default solver) on the same cost matrix; both objectives and both times.
4. City scale, 20,000 × 1,000: ours within a time limit, with the proven gap to the HiGHS
   bound. spopt is not run here: its PuLP model would have 20 million assignment variables
   (at 5,000 × 300 it already took minutes and 5.6 GB just to build).

The points are uniform in a square (the hardest case for siting: no clusters to exploit).
Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from urbangov.analytics import accessibility as ac
from urbangov.analytics import siting


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    gc.collect()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def points(rng: np.random.Generator, n: int, side: float) -> np.ndarray:
    return rng.uniform(0, side, (n, 2))


def access_vs_pysal(n: int, m: int, side: float, threshold: float, seed: int) -> dict[str, Any]:
    import pandas as pd
    from access import Access, weights

    rng = np.random.default_rng(seed)
    demand, supply = points(rng, n, side), points(rng, m, side)
    pop = rng.integers(0, 2000, n).astype(float)
    cap = rng.integers(1, 100, m).astype(float)
    reach, t_reach = timed(ac.reach_from_points, demand, supply, threshold)
    d_ids = np.array([f"d{i}" for i in range(n)])
    s_ids = np.array([f"s{j}" for j in range(m)])
    cost_df = pd.DataFrame(
        {"origin": d_ids[reach.demand], "dest": s_ids[reach.supply], "cost": reach.cost}
    )

    def peer() -> Access:
        return Access(
            demand_df=pd.DataFrame({"geoid": d_ids, "pop": pop}),
            demand_index="geoid",
            demand_value="pop",
            supply_df=pd.DataFrame({"geoid": s_ids, "doc": cap}),
            supply_index="geoid",
            supply_value="doc",
            cost_df=cost_df,
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
        )

    out: dict[str, Any] = {
        "demand": n,
        "supply": m,
        "threshold_m": threshold,
        "pairs": reach.pairs,
        "ours_neighbour_search_s": round(t_reach, 3),
    }
    steps = {threshold / 3: 1.0, 2 * threshold / 3: 0.68, threshold: 0.22}
    for name in ("2sfca", "e2sfca"):

        def run_peer(name: str = name) -> Any:
            a = peer()
            if name == "2sfca":
                return a.two_stage_fca(name="x", max_cost=threshold)["x_doc"]
            return a.enhanced_two_stage_fca(
                name="x", max_cost=threshold, weight_fn=weights.step_fn(steps)
            )["x_doc"]

        ref, t_peer = timed(run_peer)
        if name == "2sfca":
            ours, t_ours = timed(ac.two_step_fca, pop, cap, reach)
        else:
            ours, t_ours = timed(ac.enhanced_two_step_fca, pop, cap, reach, decay="step")
        expected = ref.reindex(d_ids).to_numpy()
        served = ~np.isnan(expected)
        rel = np.abs(ours.access[served] - expected[served]) / np.maximum(
            np.abs(expected[served]), 1e-300
        )
        out[name] = {
            "pysal_access_s": round(t_peer, 3),
            "ours_s": round(t_ours, 4),
            "ours_with_neighbour_search_s": round(t_ours + t_reach, 3),
            "speedup": round(t_peer / t_ours, 1),
            "speedup_with_neighbour_search": round(t_peer / (t_ours + t_reach), 1),
            "max_relative_difference": float(rel.max()) if rel.size else 0.0,
            "nan_in_access_zero_here": int((~served).sum()),
            "zero_where_nan": bool(np.all(ours.access[~served] == 0)),
        }
    return out


def access_at_scale(n: int, m: int, side: float, threshold: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    demand, supply = points(rng, n, side), points(rng, m, side)
    pop = rng.integers(0, 2000, n).astype(float)
    cap = rng.integers(1, 100, m).astype(float)
    reach, t_reach = timed(ac.reach_from_points, demand, supply, threshold)
    _, t2 = timed(ac.two_step_fca, pop, cap, reach)
    _, te = timed(ac.enhanced_two_step_fca, pop, cap, reach, decay="gaussian")
    return {
        "demand": n,
        "supply": m,
        "threshold_m": threshold,
        "pairs": reach.pairs,
        "neighbour_search_s": round(t_reach, 2),
        "2sfca_total_s": round(t_reach + t2, 2),
        "e2sfca_total_s": round(t_reach + te, 2),
    }


def siting_vs_spopt(n: int, m: int, k: int, radius: float, seed: int) -> dict[str, Any]:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP, PMedian

    rng = np.random.default_rng(seed)
    cost = cdist(points(rng, n, 10_000), points(rng, m, 10_000))
    w = rng.integers(1, 100, n).astype(float)
    pm, t_pm = timed(siting.p_median, cost, w, k)
    peer_pm, t_peer_pm = timed(
        lambda: PMedian.from_cost_matrix(cost, w, p_facilities=k).solve(
            pulp.PULP_CBC_CMD(msg=False)
        )
    )
    mc, t_mc = timed(siting.max_cover, cost, w, k, radius)
    peer_mc, t_peer_mc = timed(
        lambda: MCLP.from_cost_matrix(cost, w, service_radius=radius, p_facilities=k).solve(
            pulp.PULP_CBC_CMD(msg=False)
        )
    )
    return {
        "demand": n,
        "sites": m,
        "k": k,
        "p_median": {
            "ours": pm.value,
            "ours_proven_optimal": pm.optimal,
            "spopt": float(peer_pm.problem.objective.value()),
            "same": bool(abs(pm.value - peer_pm.problem.objective.value()) <= 1e-9 * pm.value),
            "ours_s": round(t_pm, 2),
            "spopt_s": round(t_peer_pm, 2),
        },
        "max_cover": {
            "radius_m": radius,
            "ours": mc.value,
            "ours_proven_optimal": mc.optimal,
            "spopt": float(peer_mc.problem.objective.value()),
            "same": bool(abs(mc.value - peer_mc.problem.objective.value()) <= 1e-9 * mc.value),
            "ours_s": round(t_mc, 2),
            "spopt_s": round(t_peer_mc, 2),
        },
    }


def siting_city(n: int, m: int, k: int, radius: float, limit: float, seed: int) -> dict[str, Any]:
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(seed)
    cost = cdist(points(rng, n, 30_000), points(rng, m, 30_000))
    w = rng.integers(1, 500, n).astype(float)
    out: dict[str, Any] = {"demand": n, "sites": m, "k": k, "time_limit_s": limit}
    for name, fn in (
        ("p_median", lambda: siting.p_median(cost, w, k, time_limit=limit)),
        ("max_cover", lambda: siting.max_cover(cost, w, k, radius, time_limit=limit)),
    ):
        sol, seconds = timed(fn)
        out[name] = {
            "value": sol.value,
            "bound": sol.bound,
            "gap": sol.gap,
            "method": sol.method,
            "seconds": round(seconds, 1),
        }
    out["max_cover"]["radius_m"] = radius
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it runs")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--skip", nargs="*", default=[], help="parts to skip: 1 2 3 4")
    args = parser.parse_args()
    q = args.quick
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "quick": q,
    }
    if "1" not in args.skip:
        # ~15 facilities in reach of each demand point
        n, m = (10_000, 200) if q else (100_000, 2_000)
        result["access_100k"] = access_vs_pysal(n, m, 60_000, 2_900, args.seed)
        print(json.dumps({"access_100k": result["access_100k"]}), flush=True)
    if "2" not in args.skip:
        n, m = (100_000, 1_000) if q else (1_000_000, 10_000)
        result["access_1m"] = access_at_scale(n, m, 100_000, 2_000, args.seed)
        print(json.dumps({"access_1m": result["access_1m"]}), flush=True)
    if "3" not in args.skip:
        n, m = (300, 40) if q else (1_000, 100)
        result["siting_vs_spopt"] = siting_vs_spopt(n, m, 10 if not q else 5, 1500, args.seed)
        print(json.dumps({"siting_vs_spopt": result["siting_vs_spopt"]}), flush=True)
    if "4" not in args.skip:
        n, m, limit = (4_000, 300, 15.0) if q else (20_000, 1_000, 50.0)
        result["siting_city"] = siting_city(n, m, 50 if not q else 20, 2_000, limit, args.seed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
