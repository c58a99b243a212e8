"""Bias-audit benchmark: group metrics against fairlearn's ``MetricFrame``.

    .venv/bin/pip install -e '.[bench]'                 # fairlearn
    .venv/bin/python bench/fairness.py                  # 10,000,000 decisions, 3 group columns
    .venv/bin/python bench/fairness.py --rows 100000    # to check that it runs

Synthetic decisions: three group columns (district 0–11, channel 0–3, age band 0–5: their
combinations are 288 intersectional groups), a 0/1 label and a 0/1 prediction whose rates
depend on the groups. Ours: :func:`urbangov.analytics.fairness.audit` over the three columns
— counts, selection rate, TPR, FPR, FNR, precision, each with its Wilson interval, the
disparities against the largest group with z-tests and Holm's correction. fairlearn:
``MetricFrame`` with the same six metrics (no intervals, no tests) over the same three
sensitive features. Both on the same arrays, in the same run; ``--metricframe-rows`` runs
MetricFrame on the first N rows only (and ours on those too, for the comparison), where it
would take too long on all. Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from urbangov.analytics import fairness


def make(rows: int, seed: int) -> tuple[dict[str, Any], Any, Any]:
    rng = np.random.default_rng(seed)
    cols = {
        "district": rng.integers(0, 12, rows).astype(np.int64),
        "channel": rng.integers(0, 4, rows).astype(np.int64),
        "age_band": rng.integers(0, 6, rows).astype(np.int64),
    }
    y = (rng.random(rows) < 0.3 + 0.02 * cols["district"]).astype(np.int64)
    base = np.where(y == 1, 0.7, 0.15) + 0.03 * cols["channel"] - 0.01 * cols["age_band"]
    p = (rng.random(rows) < base).astype(np.int64)
    return cols, y, p


def run_ours(cols: dict[str, Any], y: Any, p: Any) -> tuple[fairness.Audit, float]:
    t = time.perf_counter()
    out = fairness.audit(cols, y, p, focus="all")
    return out, time.perf_counter() - t


def run_metricframe(cols: dict[str, Any], y: Any, p: Any) -> tuple[Any, float]:
    import pandas as pd
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import precision_score

    sf = pd.DataFrame(cols)
    t = time.perf_counter()
    mf = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "fnr": false_negative_rate,
            "ppv": partial(precision_score, zero_division=np.nan),
            "n": count,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=sf,
    )
    by_group = mf.by_group
    return by_group, time.perf_counter() - t


def max_difference(ours: fairness.Audit, theirs: Any) -> tuple[float, int]:
    worst = 0.0
    compared = 0
    assert len(theirs) == len(ours.groups), (len(theirs), len(ours.groups))
    for key, row in theirs.iterrows():
        m = ours.groups["|".join(str(k) for k in key)]
        if m.n != row["n"]:
            return math.inf, compared
        for metric in fairness.METRICS:
            a, b = m.rate(metric).value, float(row[metric])
            if math.isnan(a) and math.isnan(b):
                continue
            worst = max(worst, abs(a - b))
            compared += 1
    return worst, compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--metricframe-rows", type=int, default=0, help="0: all rows")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for ours")
    args = parser.parse_args()

    cols, y, p = make(args.rows, args.seed)
    ours_all, t_ours = run_ours(cols, y, p)
    for _ in range(args.repeat - 1):
        t_ours = min(t_ours, run_ours(cols, y, p)[1])

    mf_rows = args.metricframe_rows or args.rows
    sub = {k: v[:mf_rows] for k, v in cols.items()}
    theirs, t_mf = run_metricframe(sub, y[:mf_rows], p[:mf_rows])
    ours_sub, t_ours_sub = run_ours(sub, y[:mf_rows], p[:mf_rows])
    for _ in range(args.repeat - 1):
        t_ours_sub = min(t_ours_sub, run_ours(sub, y[:mf_rows], p[:mf_rows])[1])
    worst, compared = max_difference(ours_sub, theirs)
    result = {
        "rows": args.rows,
        "group_columns": 3,
        "groups": len(ours_all.groups),
        "ours_s": round(t_ours, 4),
        "ours_rows_per_s": round(args.rows / t_ours),
        "metricframe_rows": mf_rows,
        "metricframe_s": round(t_mf, 3),
        "ours_same_rows_s": round(t_ours_sub, 4),
        "speedup": round(t_mf / t_ours_sub, 1),
        "max_abs_difference": worst,
        "values_compared": compared,
        "identical_to_1e-9": worst <= 1e-9,
        "findings": len(ours_all.findings),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
